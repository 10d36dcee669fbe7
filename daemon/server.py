"""The daemon: one asyncio event loop serving every session and every client.

No thread per session: each PTY master is watched with `add_reader`, children are reaped on
SIGCHLD with non-blocking waitpid, commands arrive on a ROUTER socket and output and events
leave on an XPUB socket, all on the one loop. Nothing a client sends can stop the loop: every
request is decoded and validated first, every handler's failure becomes an error reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import resource
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import zmq
import zmq.asyncio

from ptyd.proto import envelope, pubsub, specs
from ptyd.proto.errors import ErrorCode, ProtocolError
from ptyd.proto.limits import EVENT_LOG_LEN, MAX_FRAME_BYTES, MAX_PEERS
from ptyd.proto.paths import Endpoints

from . import agentkinds, handover, persist, remote, resume, systemd, upgrade
from . import ops as handlers
from .config import DaemonConfig
from .configfile import reload_config
from .containment import Containment
from .eventlog import EventLog
from .lifecycle import SessionLifecycle, exit_fields
from .listener import Listener, control_socket, publish_socket
from .logs import log
from .notify import Notifier, NotifyRule
from .peers import PeerGate
from .recording import Recordings
from .replybudget import ReplyBudget
from .rundir import DaemonLock, ensure_private_dir, remove_stale_sockets
from .session import EOF_AFTER_EXIT_S, Session
from .version import installed_version
from .viewers import Viewer
from .viewing import Viewing

MESSAGES_PER_WAKEUP = 64
"""Requests handled per wakeup of the control socket before others get the loop."""
_EVENTS, _POLLIN, _NOBLOCK = int(zmq.EVENTS), int(zmq.POLLIN), int(zmq.NOBLOCK)
"""Plain ints: pyzmq's enum arithmetic costs microseconds on a path taken per keystroke."""


def _readable(sock: zmq.Socket[bytes]) -> bool:
    """Whether a message waits on `sock` (cheaper to ask than a receive that fails)."""
    return bool(cast(int, sock.getsockopt(_EVENTS)) & _POLLIN)


class Daemon(SessionLifecycle, Viewing):
    def __init__(self, config: DaemonConfig, adopt: Path | None = None):
        self.config = config
        self.adopt_path = adopt
        """A predecessor's handover state to take over (upgrade in place)."""
        self._adopt_state: dict[str, Any] | None = None
        self._helper_exits: dict[int, asyncio.Future[int]] = {}
        self._stored_ptys: dict[str, int] = {}
        self.resume_registry = resume.Registry(resume.registry_path(config.runtime_dir))
        self._persist = False
        self._dirty = True
        self._save_timer: asyncio.TimerHandle | None = None
        self.sessions: dict[str, Session] = {}
        self._by_pid: dict[int, Session] = {}
        self._viewers: dict[str, Viewer] = {}
        self.subscribed_viewers: set[str] = set()
        self.events = EventLog(EVENT_LOG_LEN)
        self.recordings = Recordings()
        self.endpoints = Endpoints.in_dir(config.runtime_dir)
        self.lock = DaemonLock(config.runtime_dir)
        self.inherited: dict[str, int] = {}
        self.stopping = False
        self.pending_waits = 0
        self.started = time.time()
        self._stopped = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ctx: zmq.asyncio.Context | None = None
        self._listeners: list[Listener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._heartbeat_timer: asyncio.TimerHandle | None = None
        self.reply_budget = ReplyBudget()
        """Bytes of replies queued for clients that do not read them (bounded memory)."""
        self.peer_gates: dict[str, PeerGate] = {}
        self.containment = Containment()
        self.ending: set[Session] = set()
        """Sessions whose processes are within their grace (removed ones included)."""
        self.notifier = Notifier(DaemonHost(self))
        self.preparing: set[str] = set()
        """Names reserved by spawns whose branch and checkout are being made (ops/spawn.py)."""
        self.dirty_checks: dict[Session, asyncio.Future[None]] = {}
        """The git status under way per agent session's checkout (ops/info.py)."""

    # -- life cycle ----------------------------------------------------------------------------

    def prepare(self) -> None:
        """Everything that can refuse to start, before any socket exists: the directory must be
        private, the lock free; stale sockets of a dead daemon are then removed (unless systemd
        handed us the listening sockets, whose files it made)."""
        ensure_private_dir(self.config.runtime_dir)
        if self.adopt_path is not None:
            # Upgrade in place: the lock and systemd's sockets came with us across exec.
            self._adopt_state = handover.read(self.adopt_path)
            self.lock.fd = self._adopt_state["lock_fd"]
            self.inherited = dict(self._adopt_state["inherited"])
            for fd in (self.lock.fd, *self.inherited.values()):
                os.set_inheritable(fd, False)
            _raise_fd_limit()
            return
        self.lock.acquire()
        self.inherited = systemd.listen_fds()
        # PTYs our crashed predecessor left in systemd's fd store come back as named fds.
        self._stored_ptys = {name: self.inherited.pop(name) for name in list(self.inherited)
                             if name.startswith(persist.FD_PREFIX)}
        if not self.inherited:
            for path in remove_stale_sockets(self.config.runtime_dir):
                log.info("removed stale socket %s", path)
        _raise_fd_limit()

    async def run(self) -> int:
        """Serve until shutdown; return the process exit code."""
        self._loop = asyncio.get_running_loop()
        old_umask = os.umask(0o077)  # ipc socket files take their mode from the umask
        try:
            self._bind()
        finally:
            os.umask(old_umask)
        loop = self._loop
        loop.add_signal_handler(signal.SIGCHLD, self._on_sigchld)
        self.containment.setup()  # before any session starts (or is adopted)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_stop_signal, signum)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        loop.add_signal_handler(signal.SIGUSR2, self._on_sigusr2)
        self.resume_registry.load()
        for session, recording in persist.adopt_after_crash(self, self._stored_ptys):
            self.adopt_session(session)
            self.recordings.start(session, recording)
            self._watch_foreign(session)
            log.info("session=%s adopted after a crash (pid %d)", session.name, session.pid)
        self._stored_ptys = {}
        self._persist = persist.fd_store_available()
        if self._persist:
            self._save_timer = loop.call_later(persist.SAVE_INTERVAL_S, self._save_state)
        if self._adopt_state is not None:
            upgrade.adopt(self, self._adopt_state)
            self._adopt_state = None
            assert self.adopt_path is not None
            self.adopt_path.unlink(missing_ok=True)
            self._on_sigchld()  # children that exited while we were exec'ing
        resumed = resume.relaunch_all(self)
        if resumed:
            log.info("resumed %d persistent session(s): %s", len(resumed), " ".join(resumed))
        for listener in self._listeners:
            self._serve(listener)
        self._schedule_heartbeat()
        await self._self_probe()
        self.emit("daemon.started", pid=os.getpid(), version=installed_version())
        log.info("daemon started pid=%d dir=%s boot=%s", os.getpid(), self.config.runtime_dir,
                 self.events.boot)
        systemd.notify("READY=1", f"MAINPID={os.getpid()}", self.status_line())
        self._start_watchdog()
        await self._stopped.wait()
        await self._close()
        return 0

    async def _self_probe(self) -> None:
        """Ready means both sockets answer: say hello on the control socket and get a sync
        reply on the publish socket, as any client would, before telling systemd."""
        assert self._ctx is not None
        dealer, sub = self._ctx.socket(zmq.DEALER), self._ctx.socket(zmq.SUB)
        try:
            dealer.connect(self.endpoints.control)
            sub.connect(self.endpoints.publish)
            sub.setsockopt(zmq.SUBSCRIBE, pubsub.SYNC_PREFIX + b"ready")
            async with asyncio.timeout(10):
                await dealer.send_multipart(envelope.encode_request(0, "hello", {}))
                await dealer.recv_multipart()
                await sub.recv_multipart()
        finally:
            dealer.close(linger=0)
            sub.close(linger=0)

    def status_line(self) -> str:
        running = sum(s.running for s in self.sessions.values())
        viewers = len(self._viewers)
        return f"STATUS={running} running, {len(self.sessions)} sessions, {viewers} viewers"

    def notify_status(self) -> None:
        systemd.notify(self.status_line())

    def _start_watchdog(self) -> None:
        """Pinged from the event loop itself, so a stuck loop stops the pings and systemd
        restarts us."""
        interval = systemd.watchdog_interval()
        if interval is None:
            return
        assert self._loop is not None

        def ping() -> None:
            systemd.notify("WATCHDOG=1")
            if not self._stopped.is_set():
                assert self._loop is not None
                self._loop.call_later(interval, ping)

        ping()

    def _bind(self) -> None:
        self._ctx = zmq.asyncio.Context()
        control = control_socket(self._ctx, MAX_FRAME_BYTES)
        if "control" in self.inherited:  # socket activation: adopt systemd's listening socket
            control.setsockopt(zmq.USE_FD, self.inherited["control"])
        # The monitor is attached before the bind: a client that connects at once (an autostart
        # waiter, a viewer back after an upgrade) is counted, and so is its leaving.
        self.peer_gates = {"local": PeerGate(self._ctx, control, "local", MAX_PEERS)}
        control.bind(self.endpoints.control)
        publish = publish_socket(self._ctx, self.config.publish_hwm)
        if "publish" in self.inherited:
            publish.setsockopt(zmq.USE_FD, self.inherited["publish"])
        publish.bind(self.endpoints.publish)
        self._listeners = [Listener("local", control, publish)]
        remote_pair = remote.bind(self._ctx, self.config, self.peer_gates)
        if remote_pair is not None:
            self._listeners.append(remote_pair)

    def request_stop(self, grace: float) -> None:
        if self.stopping:
            return
        self.stopping = True
        log.info("stopping: ending %d running session(s), grace=%.1fs",
                 sum(s.running for s in self.sessions.values()), grace)
        systemd.notify("STOPPING=1", "STATUS=stopping: ending sessions")
        self.emit("daemon.stopping")
        self._spawn_task(self._stop_sessions(grace))

    async def _stop_sessions(self, grace: float) -> None:
        running = [s for s in self.sessions.values() if s.running]
        # Exited and removed ones too: they may hold kept processes, or be within their grace.
        holding = list(self.sessions.values()) + [s for s in self.ending
                                                  if self.sessions.get(s.name) is not s]
        for i, session in enumerate(holding):  # one /proc scan (tracked) serves them all
            self.terminate(session, signal.SIGTERM, grace, hangup_first=True, reason="shutdown",
                           fresh=i == 0)
        waits = [self._wait_finished(s) for s in running]
        deadline = time.monotonic() + grace + EOF_AFTER_EXIT_S + 2
        try:
            if waits:
                await asyncio.wait_for(asyncio.gather(*waits), grace + EOF_AFTER_EXIT_S + 2)
        except TimeoutError:
            log.error("sessions %s did not end after SIGKILL; exiting anyway",
                      [s.name for s in running if s.running])
        # Processes the programs left behind end at the grace too; the daemon outlives them.
        while any(self._holds(s) for s in holding):
            if time.monotonic() > deadline:
                log.error("processes of sessions survive SIGKILL; exiting anyway")
                break
            await asyncio.sleep(0.05)
        self._stopped.set()

    async def _close(self) -> None:
        # Give queued replies (the shutdown reply itself) a moment to leave.
        await asyncio.sleep(0.05)
        for task in list(self._tasks):
            task.cancel()
        for timer in (self._heartbeat_timer, self._save_timer):
            if timer is not None:
                timer.cancel()
        if self._persist:  # an orderly stop: nothing to survive
            (self.config.runtime_dir / persist.STATE_FILE).unlink(missing_ok=True)
        for session in self.sessions.values():
            session.close_master()
        self.recordings.close_all()
        self.containment.close()
        self.close_sockets()
        for name, endpoint in (("control", self.endpoints.control),
                               ("publish", self.endpoints.publish)):
            if name not in self.inherited:  # systemd's socket files stay for the next start
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(endpoint.removeprefix("ipc://"))
        self.lock.release()
        log.info("daemon stopped")

    async def start_upgrade(self, python: str | None = None) -> str | None:
        """Check that the installed version can take over, then re-exec shortly (after the
        caller's reply has left). Returns why not, if it cannot."""
        if self.stopping:
            return "the daemon is already stopping or upgrading"
        python = python or sys.executable
        problem = await upgrade.precheck(self, python)
        if problem is not None:
            log.error("upgrade refused: %s", problem)
            return problem
        self.stopping = True  # no new work from here on
        log.info("upgrade: handing %d session(s) to the installed version", len(self.sessions))
        self.emit("daemon.upgrading", sessions=len(self.sessions))
        assert self._loop is not None
        self._loop.call_later(0.02, self._exec_successor, python)
        return None

    def _exec_successor(self, python: str) -> None:
        assert self._loop is not None
        for session in self.sessions.values():  # stop reading: the successor reads from here
            for fd in (session.master_fd, session.stderr_fd):
                if fd >= 0:
                    self._loop.remove_reader(fd)
                    self._loop.remove_writer(fd)
        try:
            upgrade.exec_successor(self, python)
        except OSError as e:  # exec failed: we are still here, so go on serving
            log.error("upgrade: exec failed, going on as before: %s", e)
            self.recordings.stay()
            with contextlib.suppress(OSError):
                (self.config.runtime_dir / handover.STATE_FILE).unlink()
            self.stopping = False
            self._bind()
            for listener in self._listeners:
                self._serve(listener)
            for session in self.sessions.values():
                for fd in (session.master_fd, session.stderr_fd):
                    if fd >= 0:
                        os.set_inheritable(fd, False)
                if session.running:
                    self._loop.add_reader(session.master_fd, self._on_readable, session)
                if session.stderr_fd >= 0:
                    self._loop.add_reader(session.stderr_fd, self._on_stderr, session)
            # Whoever waits for the successor (`ptyd upgrade`) learns at once that none comes.
            self.emit("daemon.upgrade_failed", reason=f"exec {python}: {e.strerror or e}")

    def reload(self) -> None:
        """SIGHUP: the configuration files again, and the authorized client keys."""
        reload_config(self)
        remote.reload_keys(self._listeners, getattr(self.config, "remote_authorized_keys", None))

    def scrollback_committed(self) -> int:
        """Scrollback capacity promised to sessions that still hold theirs."""
        return sum(s.scrollback.capacity + (s.stderr_ring.capacity if s.stderr_ring else 0)
                   for s in self.sessions.values())

    def _on_sigusr2(self) -> None:
        self._spawn_task(self.start_upgrade())

    def close_sockets(self) -> None:
        """Close every ZeroMQ socket now (before exec: clients then reconnect to the successor)."""
        for listener in self._listeners:
            if self._loop is not None:
                for fd in listener.fds:
                    self._loop.remove_reader(fd)
            listener.fds.clear()
            listener.silence()
        remote.stop(self._listeners)
        if self._ctx is not None:
            self._ctx.destroy(linger=20)  # let replies already queued (the upgrade's) leave
            self._ctx = None

    async def run_helper(self, argv: list[str], timeout: float, *,
                         env: dict[str, str] | None = None, cwd: str | None = None,
                         new_session: bool = False) -> tuple[int, str]:
        """Run a short helper program without blocking the loop; (exit code, its output).
        Our SIGCHLD reaper hands its exit status over, so nothing else may wait for it.
        `new_session`: its own process group, all killed at the timeout (a hung `sh -c`)."""
        import subprocess
        import tempfile

        assert self._loop is not None
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                    start_new_session=new_session)
            future: asyncio.Future[int] = self._loop.create_future()
            self._helper_exits[proc.pid] = future
            self._on_sigchld()  # in case it already exited
            try:
                code = await asyncio.wait_for(future, timeout)
            except TimeoutError:
                if new_session:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)  # the group id is its pid
                proc.kill()
                return -1, f"timed out after {timeout:g}s"
            finally:
                if proc.returncode is None:  # reaped by us: keep Popen from waiting again
                    # wait_for cancelled the future at the timeout: no result to read then
                    done = future.done() and not future.cancelled()
                    proc.returncode = future.result() if done else -9
            out.seek(0)
            return code, out.read().decode(errors="replace")

    def adopt_session(self, session: Session) -> None:
        """A session handed over by a predecessor: running ones are watched again at once."""
        if session.running:
            self.add_session(session, store=False)
        else:
            self.sessions[session.name] = session
            session.holds = self._holds

    def _holds(self, session: Session) -> list[int]:
        """For the session object's `processes`: one /proc scan serves a whole `list`."""
        return self.session_processes(session, fresh=False)

    def _save_state(self) -> None:
        """Crash survival: rewrite the state file while something changed."""
        assert self._loop is not None
        if self._dirty and not self.stopping:
            self._dirty = False
            try:
                persist.save(self)
            except OSError as e:
                log.error("cannot save state to %s: %s",
                          self.config.runtime_dir / persist.STATE_FILE, e)
        if not self._stopped.is_set():
            self._save_timer = self._loop.call_later(persist.SAVE_INTERVAL_S, self._save_state)

    def _on_stop_signal(self, signum: int) -> None:
        log.info("received %s", signal.Signals(signum).name)
        self.request_stop(self.config.kill_grace_s)

    def _spawn_task(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("internal task failed: %r\n%s", exc,
                      "".join(traceback.format_exception(exc)))

    # -- requests --------------------------------------------------------------------------------

    def _serve(self, listener: Listener) -> None:
        """Watch a listener's sockets from the loop itself. A ZeroMQ socket's FD only signals
        that its state changed (edge-triggered), so each wakeup drains until EAGAIN, and after
        we send on a socket (which can consume the edge) we look at ZMQ_EVENTS ourselves."""
        assert self._loop is not None
        assert listener.control_send is not None
        assert self._ctx is not None
        gate = self.peer_gates[listener.name]  # made before its socket was bound (_bind)
        listener.fds.append(gate.fd())
        self._loop.add_reader(gate.fd(), gate.drain)
        for sock, drain in ((listener.control_send, self._drain_control),
                            (listener.publish_send, self._drain_subscriptions)):
            assert sock is not None
            fd = int(sock.getsockopt(zmq.FD))
            listener.fds.append(fd)
            self._loop.add_reader(fd, drain, listener)
            self._loop.call_soon(drain, listener)

    def _drain_control(self, listener: Listener) -> None:
        sock = listener.control_send
        if sock is None:
            return
        for _ in range(MESSAGES_PER_WAKEUP):
            # Asking whether a message waits is cheaper than a receive that fails (pyzmq
            # raises zmq.Again, an exception per wakeup on the keystroke path).
            if not _readable(sock):
                return
            try:
                frames = sock.recv_multipart(_NOBLOCK)
            except zmq.Again:
                return
            try:
                self._handle(listener, frames)
            except Exception as e:  # never let one message end the loop
                log.error("unexpected error handling a message: %r", e)
        assert self._loop is not None
        self._loop.call_soon(self._drain_control, listener)  # more: let others run first

    def _handle(self, listener: Listener, frames: list[bytes]) -> None:
        peer, rest = frames[0], frames[1:]
        # A REQ client puts an empty delimiter frame before the body; answer in kind.
        route = [peer, b""] if rest and rest[0] == b"" else [peer]
        if len(route) == 2:
            rest = rest[1:]
        msgid: int | None = None
        try:
            request = envelope.decode_request(rest)
            msgid = request.id
            refused = self.peer_gates[listener.name].admit(peer)
            if refused is not None:
                raise refused
            # Before decoding (docs/protocol.md §3.6): a client told `shutting_down` retries on
            # the next daemon, whatever it sent; only read-only ops are still served.
            if self.stopping and request.op not in specs.READ_ONLY_OPS:
                raise ProtocolError(ErrorCode.SHUTTING_DOWN, "the daemon is shutting down")
            message = handlers.decode(request.op, request.params)
            result = handlers.OPS[request.op](self, message, peer)
        except ProtocolError as e:
            msgid = msgid if msgid is not None else e.request_id
            log.debug("peer=%s request=%s error=%s: %s", peer.hex(), msgid, e.code, e.message)
            self._reply(listener, route, msgid, error=e)
            return
        except Exception as e:
            self._reply(listener, route, msgid, error=self._internal(e))
            return
        if result is None:
            return  # accepted and not to be acknowledged (input with `ack` false)
        if inspect.isawaitable(result):
            self._spawn_task(self._reply_later(listener, route, msgid, result))
        else:
            self._reply(listener, route, msgid, result)

    async def _reply_later(self, listener: Listener, route: list[bytes], msgid: int | None,
                           result: Awaitable[dict[str, Any]]) -> None:
        try:
            value = await result
        except ProtocolError as e:
            self._reply(listener, route, msgid, error=e)
        except Exception as e:
            self._reply(listener, route, msgid, error=self._internal(e))
        else:
            self._reply(listener, route, msgid, value)

    def _internal(self, exc: BaseException) -> ProtocolError:
        log.error("internal error: %r\n%s", exc, "".join(traceback.format_exception(exc)))
        return ProtocolError(ErrorCode.INTERNAL, f"internal error in the daemon: {exc!r} "
                             "(details in the daemon's log)")

    def _reply(self, listener: Listener, route: list[bytes], msgid: int | None,
               result: dict[str, Any] | None = None, error: ProtocolError | None = None) -> None:
        sock = listener.control_send
        if sock is None:
            return  # shutting down: the sockets are closed
        frames = route + envelope.encode_reply(msgid, result, error)
        refused = self.reply_budget.refusal(route[0], len(frames[-1]))
        if refused is not None:  # the client is not reading: don't hold more for it
            log.warning("peer=%s reply id=%s refused: %s", route[0].hex(), msgid, refused.message)
            frames = route + envelope.encode_reply(msgid, None, refused)
        try:
            self.reply_budget.send(sock, route[0], frames)
            self._recheck(sock, self._drain_control, listener)
        except zmq.Again:
            log.warning("peer=%s is not reading its replies: dropped reply id=%s",
                        route[0].hex(), msgid)
        except zmq.ZMQError as e:
            log.info("peer=%s gone before its reply id=%s (%s)", route[0].hex(), msgid, e)

    # -- publishing ------------------------------------------------------------------------------

    def _drain_subscriptions(self, listener: Listener) -> None:
        """Read subscribe/unsubscribe messages; answer sync probes so a subscriber knows when its
        subscriptions are in effect."""
        sock = listener.publish_send
        while sock is not None:
            try:
                message = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if message[:1] == b"\x01" and message[1:].startswith(pubsub.SYNC_PREFIX):
                with contextlib.suppress(zmq.Again):
                    sock.send_multipart([message[1:], b""], flags=zmq.NOBLOCK)
            else:
                self._on_subscription(message)
            sock = listener.publish_send

    def publish(self, frames: list[bytes]) -> None:
        """Send to every matching subscriber; a subscriber whose queue is full misses this one
        (ZeroMQ drops for it alone) and finds the gap by offset or sequence number."""
        for listener in self._listeners:
            sock = listener.publish_send
            if sock is not None:
                with contextlib.suppress(zmq.Again):
                    sock.send_multipart(frames, flags=zmq.NOBLOCK)
                self._recheck(sock, self._drain_subscriptions, listener)

    def _recheck(self, sock: zmq.Socket[bytes], drain: Any, listener: Listener) -> None:
        """After a send: if input is waiting, drain it (the send may have eaten the FD edge)."""
        if _readable(sock):
            assert self._loop is not None
            self._loop.call_soon(drain, listener)

    def emit(self, type_: str, **fields: Any) -> dict[str, Any]:
        event = self.events.record(type_, **fields)
        self.publish(pubsub.event_frames(event))
        return event

    def _schedule_heartbeat(self) -> None:
        assert self._loop is not None
        self._heartbeat_timer = self._loop.call_later(self.config.heartbeat_interval_s,
                                                      self._heartbeat)

    def _heartbeat(self) -> None:
        running = sum(s.running for s in self.sessions.values())
        self.publish(pubsub.event_frames(self.events.heartbeat(sessions=len(self.sessions),
                                                               running=running)))
        if not self._stopped.is_set():
            self._schedule_heartbeat()

    # -- sessions --------------------------------------------------------------------------------

    def get(self, name: str) -> Session:
        session = self.sessions.get(name)
        if session is None:
            raise ProtocolError(ErrorCode.NO_SUCH_SESSION,
                                f"no session named {name!r} (ptyd ls lists sessions)",
                                {"session": name})
        return session

    def get_running(self, name: str) -> Session:
        session = self.get(name)
        if not session.running:
            raise ProtocolError(ErrorCode.SESSION_EXITED, f"session {name!r} has exited",
                                {"session": name, **exit_fields(session)})
        return session

    def next_name(self) -> str:
        """The lowest free number, as tmux names sessions."""
        n = 1
        while str(n) in self.sessions:
            n += 1
        return str(n)

    def add_session(self, session: Session, store: bool = True) -> None:
        """Watch a session's terminal; `store`: also give its PTY to the fd store (a session
        adopted from a predecessor is there already)."""
        assert self._loop is not None
        self.sessions[session.name] = session
        self._by_pid[session.pid] = session
        session.holds = self._holds
        self._loop.add_reader(session.master_fd, self._on_readable, session)
        if session.stderr_fd >= 0:
            self._loop.add_reader(session.stderr_fd, self._on_stderr, session)
        if self._persist and store:
            persist.store_fd(session.name, session.master_fd)
        if agentkinds.by_silence(session.agent) and session.running:
            self._note_activity(session, output=False)  # a silent program becomes idle too
        self._dirty = True
        self.notify_status()

    def remove_session(self, session: Session) -> None:
        del self.sessions[session.name]
        self.resume_registry.forget(session.name)
        if self._by_pid.get(session.pid) is session:
            del self._by_pid[session.pid]
        for viewer_id in session.viewers:
            self._viewers.pop(viewer_id, None)
            self.emit("viewer.detached", session=session.name, viewer=viewer_id, viewers=0)
        session.cancel_timers()
        self._close_fds(session)

    def _close_fds(self, session: Session) -> None:
        assert self._loop is not None
        for fd in (session.master_fd, session.stderr_fd):
            if fd >= 0:
                self._loop.remove_reader(fd)
                self._loop.remove_writer(fd)
        session.close_master()

class DaemonHost:
    """The daemon as a NotifyHost (its loop, tasks, helper runner, configured rules)."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    @property
    def notify_rules(self) -> tuple[NotifyRule, ...]:
        return self.daemon.config.notify  # read each time: a reload (SIGHUP) applies at once

    @property
    def stopping(self) -> bool:
        return self.daemon.stopping

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        assert self.daemon._loop is not None
        self.daemon._loop.call_later(delay, callback)

    def start_task(self, coro: Awaitable[Any]) -> None:
        self.daemon._spawn_task(coro)

    async def run_helper(self, argv: list[str], timeout: float, *,
                         env: dict[str, str] | None = None,
                         new_session: bool = False) -> tuple[int, str]:
        return await self.daemon.run_helper(argv, timeout, env=env, new_session=new_session)


def _raise_fd_limit() -> None:
    """Each session holds a PTY master; hundreds of agents need more than the usual 1024 fds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
