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
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio

from ptyd.proto import envelope, ops, pubsub
from ptyd.proto.errors import ErrorCode, ProtocolError
from ptyd.proto.limits import EVENT_LOG_LEN, MAX_FRAME_BYTES
from ptyd.proto.paths import Endpoints

from . import handover, persist, remote, resume, systemd, upgrade
from . import ops as handlers
from .agentstate import EXITED, IDLE, WORKING
from .config import DaemonConfig
from .configfile import reload_config
from .eventlog import EventLog
from .listener import Listener, control_socket, publish_socket
from .logs import log
from .recording import Recordings
from .rundir import DaemonLock, ensure_private_dir, remove_stale_sockets
from .session import EOF_AFTER_EXIT_S, Session
from .version import installed_version
from .viewers import Viewer, wanted_size

REDRAW_RESTORE_S = 0.05
"""How long the one-row-smaller size of a forced redraw lasts: long enough for the program to
see it (a SIGWINCH pair read as one would show no change)."""

MESSAGES_PER_WAKEUP = 64
"""Requests handled per wakeup of the control socket before others get the loop."""

REAP_POLL_S = 0.5
"""Fallback poll for a child whose PTY hung up but whose SIGCHLD we have not seen yet."""


class Daemon:
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
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_stop_signal, signum)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        loop.add_signal_handler(signal.SIGUSR2, self._on_sigusr2)
        self.resume_registry.load()
        for session in persist.adopt_after_crash(self, self._stored_ptys):
            self.adopt_session(session)
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
        control.bind(self.endpoints.control)
        publish = publish_socket(self._ctx, self.config.publish_hwm)
        if "publish" in self.inherited:
            publish.setsockopt(zmq.USE_FD, self.inherited["publish"])
        publish.bind(self.endpoints.publish)
        self._listeners = [Listener("local", control, publish)]
        remote_pair = remote.bind(self._ctx, self.config)
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
        for session in running:
            self.terminate(session, signal.SIGHUP, grace)
        waits = [self._wait_finished(s) for s in running]
        try:
            if waits:
                await asyncio.wait_for(asyncio.gather(*waits), grace + EOF_AFTER_EXIT_S + 2)
        except TimeoutError:
            log.error("sessions %s did not end after SIGKILL; exiting anyway",
                      [s.name for s in running if s.running])
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

    def reload(self) -> None:
        """SIGHUP: the configuration files again, and the authorized client keys."""
        reload_config(self)
        if self._ctx is not None:
            remote.reload_keys(self._ctx, getattr(self.config, "remote_authorized_keys", None))

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
        remote.stop(self._ctx)
        if self._ctx is not None:
            self._ctx.destroy(linger=100)  # let replies already queued (the upgrade's) leave
            self._ctx = None

    async def run_helper(self, argv: list[str], timeout: float) -> tuple[int, str]:
        """Run a short helper program without blocking the loop; (exit code, its output).
        Our SIGCHLD reaper hands its exit status over, so nothing else may wait for it."""
        import subprocess
        import tempfile

        assert self._loop is not None
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT)
            future: asyncio.Future[int] = self._loop.create_future()
            self._helper_exits[proc.pid] = future
            self._on_sigchld()  # in case it already exited
            try:
                code = await asyncio.wait_for(future, timeout)
            except TimeoutError:
                proc.kill()
                return -1, f"timed out after {timeout:g}s"
            finally:
                if proc.returncode is None:  # reaped by us: keep Popen from waiting again
                    proc.returncode = future.result() if future.done() else -9
            out.seek(0)
            return code, out.read().decode(errors="replace")

    def adopt_session(self, session: Session) -> None:
        """A session handed over by a predecessor: running ones are watched again at once."""
        if session.running:
            self.add_session(session, store=False)
        else:
            self.sessions[session.name] = session

    def _watch_foreign(self, session: Session) -> None:
        """A session adopted after a crash is not our child: watch its exit with a pidfd (its
        exit status cannot be known)."""
        assert self._loop is not None
        session.foreign = True
        try:
            pidfd = os.pidfd_open(session.pid)
        except ProcessLookupError:
            pidfd = -1
        if pidfd < 0:
            self._foreign_exited(session, -1)
            return
        self._loop.add_reader(pidfd, self._foreign_exited, session, pidfd)

    def _foreign_exited(self, session: Session, pidfd: int) -> None:
        assert self._loop is not None
        if pidfd >= 0:
            self._loop.remove_reader(pidfd)
            os.close(pidfd)
        if not session.reaped:
            session.set_reaped(-1)
            session.stop_reason = session.stop_reason or "exit status unknown (adopted)"
            self._on_reaped(session)

    def _save_state(self) -> None:
        """Crash survival: rewrite the state file while something changed."""
        assert self._loop is not None
        if self._dirty and not self.stopping:
            self._dirty = False
            try:
                persist.save(self)
            except OSError as e:
                log.error("cannot save state: %s", e)
        if not self._stopped.is_set():
            self._save_timer = self._loop.call_later(persist.SAVE_INTERVAL_S, self._save_state)

    def viewer_in_use(self, viewer_id: str) -> bool:
        return viewer_id in self._viewers

    def adopt_viewer(self, viewer: Viewer) -> None:
        self._viewers[viewer.id] = viewer

    def drop_viewer_unless_subscribed(self, viewer_id: str) -> None:
        if viewer_id not in self.subscribed_viewers:
            self.drop_viewer(viewer_id)

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
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
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
            message = ops.decode(request.op, request.params)
            if self.stopping and request.op not in ("hello", "list", "info", "read", "events"):
                raise ProtocolError(ErrorCode.SHUTTING_DOWN, "the daemon is shutting down")
            result = handlers.OPS[request.op](self, message, peer)
        except ProtocolError as e:
            msgid = msgid if msgid is not None else e.request_id
            log.debug("peer=%s request=%s error=%s: %s", peer.hex(), msgid, e.code, e.message)
            self._reply(listener, route, msgid, error=e)
            return
        except Exception as e:
            self._reply(listener, route, msgid, error=self._internal(e))
            return
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
        try:
            sock.send_multipart(frames, flags=zmq.NOBLOCK)
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
        if int(sock.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
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
                                {"session": name, **_exit_fields(session)})
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
        self._loop.add_reader(session.master_fd, self._on_readable, session)
        if session.stderr_fd >= 0:
            self._loop.add_reader(session.stderr_fd, self._on_stderr, session)
        if self._persist and store:
            persist.store_fd(session.name, session.master_fd)
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

    def _on_readable(self, session: Session) -> None:
        try:
            data, at_eof = session.read_available()
        except OSError as e:
            log.error("session=%s read failed: %s", session.name, e)
            data, at_eof = b"", True
        if data:
            offset = session.scrollback.append(data)
            self.recordings.output(session, data)
            self.publish(pubsub.output_frames(session.name, session.epoch, offset, data))
            session.term.feed(data, offset)
            self._dirty = True
            if session.agent is None:
                self._note_activity(session)
        if at_eof:
            self._on_eof(session)

    def _on_stderr(self, session: Session) -> None:
        assert self._loop is not None and session.stderr_ring is not None
        data, at_eof = session.read_stderr()
        if data:
            offset = session.stderr_ring.append(data)
            self.publish(pubsub.stderr_frames(session.name, session.epoch, offset, data))
        if at_eof:
            self._loop.remove_reader(session.stderr_fd)
            os.close(session.stderr_fd)
            session.stderr_fd = -1

    # -- agent state ---------------------------------------------------------------------------

    def set_state(self, session: Session, state: str, reason: str) -> None:
        if session.state == state or (session.finished and state != EXITED):
            return
        previous, session.state, session.state_since = session.state, state, time.time()
        log.info("session=%s state=%s previous=%s reason=%s", session.name, state, previous,
                 reason)
        self.emit("session.state", session=session.name, epoch=session.epoch, state=state,
                  previous=previous, reason=reason)
        for states, waiter in session.waiters:
            if (state in states or state == EXITED) and not waiter.done():
                waiter.set_result(None)
        session.waiters = [(st, w) for st, w in session.waiters if not w.done()]

    def _note_activity(self, session: Session) -> None:
        """Silence fallback for programs without hooks: output means working; quiet for
        idle_after seconds means idle. One timer at most per session, armed only on output."""
        assert self._loop is not None
        session.last_output_mono = time.monotonic()
        if session.state != WORKING:
            self.set_state(session, WORKING, "output")
        if not session.idle_timer_armed:
            session.idle_timer_armed = True
            self._loop.call_later(session.idle_after, self._check_idle, session)

    def _check_idle(self, session: Session) -> None:
        assert self._loop is not None
        quiet = time.monotonic() - session.last_output_mono
        if session.finished:
            session.idle_timer_armed = False
        elif quiet >= session.idle_after:
            session.idle_timer_armed = False
            self.set_state(session, IDLE, f"no output for {session.idle_after:g}s")
        else:
            self._loop.call_later(session.idle_after - quiet, self._check_idle, session)

    # -- viewers ---------------------------------------------------------------------------------

    def add_viewer(self, session: Session, viewer: Viewer) -> None:
        session.viewers[viewer.id] = viewer
        self._viewers[viewer.id] = viewer
        log.info("session=%s viewer=%s attached read_only=%s size=%dx%d", session.name,
                 viewer.id, viewer.read_only, viewer.cols, viewer.rows)
        self.emit("viewer.attached", session=session.name, viewer=viewer.id,
                  read_only=viewer.read_only, viewers=len(session.viewers))
        self.apply_size_policy(session)

    def drop_viewer(self, viewer_id: str) -> None:
        viewer = self._viewers.pop(viewer_id, None)
        session = self.sessions.get(viewer.session) if viewer else None
        if viewer is None or session is None or session.viewers.pop(viewer_id, None) is None:
            return
        log.info("session=%s viewer=%s detached", session.name, viewer_id)
        self.emit("viewer.detached", session=session.name, viewer=viewer_id,
                  viewers=len(session.viewers))
        self.apply_size_policy(session)

    def viewer_of(self, session: Session, viewer_id: str | None, peer: bytes) -> Viewer | None:
        """The viewer a request speaks for: named explicitly, or the peer's own viewer."""
        if viewer_id is not None:
            return session.viewers.get(viewer_id)
        for viewer in session.viewers.values():
            if viewer.peer == peer:
                return viewer
        return None

    def apply_size_policy(self, session: Session) -> None:
        if not session.running:
            return
        cols, rows = wanted_size(session.size_policy, list(session.viewers.values()),
                                 (session.cols, session.rows))
        if (cols, rows) != (session.cols, session.rows):
            self.resize(session, cols, rows, "viewer")

    def resize(self, session: Session, cols: int, rows: int, reason: str) -> bool:
        changed = (session.cols, session.rows) != (cols, rows)
        session.set_size(cols, rows)
        if changed:
            self.recordings.resize(session, cols, rows)
            self.emit("session.resized", session=session.name, epoch=session.epoch, cols=cols,
                      rows=rows, reason=reason)
        return changed

    def redraw(self, session: Session) -> None:
        """Make the program repaint: a real size change (one row less), then back. A SIGWINCH
        without a change is ignored by most programs, and Ctrl-L corrupts Ink-based TUIs."""
        assert self._loop is not None
        cols, rows = session.cols, session.rows
        session.set_size(cols, max(1, rows - 1) if rows > 1 else rows + 1)
        session.timers.append(self._loop.call_later(REDRAW_RESTORE_S, self._restore_size,
                                                    session, cols, rows))

    def _restore_size(self, session: Session, cols: int, rows: int) -> None:
        if session.running:
            session.set_size(cols, rows)

    def _on_subscription(self, message: bytes) -> None:
        """XPUB tells us when a viewer subscribes to its topic, and when that subscription goes
        away, which ZeroMQ reports when the viewer's connection closes: viewer liveness."""
        topic = message[1:]
        if not topic.startswith(pubsub.VIEWER_PREFIX):
            return
        viewer_id = topic[len(pubsub.VIEWER_PREFIX):].rstrip(b"\x00").decode(errors="replace")
        if message[:1] == b"\x01":
            self.subscribed_viewers.add(viewer_id)
        else:
            self.subscribed_viewers.discard(viewer_id)
            self.drop_viewer(viewer_id)

    def _on_eof(self, session: Session) -> None:
        assert self._loop is not None
        self._loop.remove_reader(session.master_fd)
        self._loop.remove_writer(session.master_fd)
        session.eof = True
        if session.reaped or self._try_reap(session):
            self._finish(session)
        else:
            self._poll_reap(session)

    def _poll_reap(self, session: Session) -> None:
        """The PTY hung up but the child is not reaped yet (SIGCHLD pending or the leader is
        still alive without its terminal): look again shortly."""
        assert self._loop is not None
        if session.finished:
            return
        if self._try_reap(session):
            self._finish(session)
            return
        session.timers.append(self._loop.call_later(REAP_POLL_S, self._poll_reap, session))

    def _try_reap(self, session: Session) -> bool:
        reaped = session.try_reap()
        if reaped and self._by_pid.get(session.pid) is session:
            del self._by_pid[session.pid]  # the pid may be reused by a new session
        return reaped

    def _on_sigchld(self) -> None:
        """Reap every child that exited. The daemon's only children are sessions; a child we
        do not know (a spawn whose exec failed after the fork) is reaped too, so no zombie is
        ever left behind. Code in the daemon must not start other children it waits for."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            session = self._by_pid.pop(pid, None)
            if session is None:
                helper = self._helper_exits.pop(pid, None)
                if helper is not None and not helper.done():
                    helper.set_result(os.waitstatus_to_exitcode(status))
                else:
                    log.debug("reaped child pid=%d that belongs to no session", pid)
                continue
            session.set_reaped(status)
            self._on_reaped(session)

    def _on_reaped(self, session: Session) -> None:
        assert self._loop is not None
        if session.eof:
            self._finish(session)
            return
        # The child is gone; its last output may still sit in the PTY. Drain what is there
        # now, and give the terminal a moment to hang up before giving up on it.
        self._on_readable(session)
        if not session.finished and not session.eof:
            session.timers.append(self._loop.call_later(EOF_AFTER_EXIT_S, self._give_up_eof,
                                                        session))

    def _give_up_eof(self, session: Session) -> None:
        if not session.eof and session.master_fd >= 0:
            log.info("session=%s child exited but its terminal is still held open "
                     "(a background process?); closing it", session.name)
            self._on_readable(session)
            if not session.eof:
                self._on_eof(session)

    def _finish(self, session: Session) -> None:
        if session.finished:
            return
        session.finished = True
        session.exited_at = time.time()
        session.ended_mono = time.monotonic()
        session.cancel_timers()
        if session.stderr_fd >= 0:
            self._on_stderr(session)  # what the program wrote to stderr last
        self._close_fds(session)
        self.recordings.close(session, session.exit_status)
        status = session.exit_status
        log.info("session=%s exited code=%s signal=%s after=%.1fs", session.name,
                 status.code if status else None, status.signal if status else None,
                 session.duration)
        if self._persist:
            persist.forget_fd(session.name)
        if not self.stopping:  # exited by itself: do not relaunch it after a reboot
            self.resume_registry.update(session, finished=True)
        self._dirty = True
        self.emit("session.exited", session=session.name, epoch=session.epoch,
                  **_exit_fields(session),
                  duration=round(session.duration, 3), stop_reason=session.stop_reason)
        self.notify_status()
        self.set_state(session, EXITED, "exited")

    async def _wait_finished(self, session: Session, states: tuple[str, ...] = (EXITED,)
                             ) -> None:
        if session.finished or session.state in states:
            return
        assert self._loop is not None
        waiter: asyncio.Future[None] = self._loop.create_future()
        entry = (states, waiter)
        session.waiters.append(entry)
        try:
            await waiter
        finally:
            if entry in session.waiters:  # timed out or cancelled: do not keep it
                session.waiters.remove(entry)

    async def wait_finished(self, session: Session, timeout: float | None,
                            states: tuple[str, ...] = (EXITED,)) -> bool:
        """Park until the session exits (or enters one of `states`) or the timeout passes;
        True if it did."""
        if session.finished or session.state in states:
            return True
        if self.pending_waits >= self.config.max_pending_waits:
            raise ProtocolError(ErrorCode.LIMIT_EXCEEDED,
                                f"too many pending waits ({self.config.max_pending_waits})",
                                {"limit": "max_pending_waits",
                                 "max": self.config.max_pending_waits})
        self.pending_waits += 1
        try:
            await asyncio.wait_for(self._wait_finished(session, states), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self.pending_waits -= 1

    def write_input(self, session: Session, data: bytes) -> None:
        assert self._loop is not None
        was_empty = not session.pending_input
        session.queue_input(data)
        self.recordings.input(session, data)
        if was_empty and not session.flush_input():
            # The program is not reading its terminal: finish the write when it can take more.
            self._loop.add_writer(session.master_fd, self._on_writable, session)

    def _on_writable(self, session: Session) -> None:
        assert self._loop is not None
        if session.flush_input():
            self._loop.remove_writer(session.master_fd)

    def terminate(self, session: Session, signum: int, grace: float) -> None:
        """Send `signum` to the session's process group, then SIGKILL after `grace` seconds."""
        assert self._loop is not None
        if not session.running:
            return
        try:
            session.send_signal(signum, group=True)
        except ProcessLookupError:
            return
        session.timers.append(self._loop.call_later(grace, self._force_kill, session))

    def schedule_timeout(self, session: Session, seconds: float) -> None:
        """The session may run this long; then it is stopped and the reason recorded, so the
        limit holds even if the program that asked for it is gone."""
        assert self._loop is not None
        session.timeout_at = time.monotonic() + seconds
        session.timers.append(self._loop.call_later(seconds, self._time_out, session, seconds))

    def _time_out(self, session: Session, seconds: float) -> None:
        if session.running:
            log.info("session=%s timed out after %gs: stopping it", session.name, seconds)
            session.stop_reason = "timeout"
            self.terminate(session, signal.SIGTERM, self.config.kill_grace_s)

    def _force_kill(self, session: Session) -> None:
        if session.running and not session.reaped:
            log.info("session=%s did not exit in time: SIGKILL", session.name)
            with contextlib.suppress(ProcessLookupError):
                session.send_signal(signal.SIGKILL, group=True)


def _exit_fields(session: Session) -> dict[str, Any]:
    status = session.exit_status
    return {"exit_code": status.code if status else None,
            "exit_signal": status.signal if status else None}


def _raise_fd_limit() -> None:
    """Each session holds a PTY master; hundreds of agents need more than the usual 1024 fds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
