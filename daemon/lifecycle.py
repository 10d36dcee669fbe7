"""What happens to a session over its life, on the daemon's loop: output read and published,
input written without blocking, agent state, exit (SIGCHLD, EOF, or a pidfd for a child adopted
after a crash), timeouts and kills.

A mixin of the Daemon (daemon/server.py), which owns the sockets and the session table.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from typing import TYPE_CHECKING, Any

from ptyd.proto import pubsub
from ptyd.proto.errors import ErrorCode, ProtocolError

from . import agentdriver, agentkinds, persist, worktreesetup
from .agentstate import ERROR, EXITED, IDLE, WORKING, Change, WaitFor, allowed
from .containment import EPOCH_VAR, Containment
from .logs import log
from .session import EOF_AFTER_EXIT_S, Session

if TYPE_CHECKING:
    from .config import DaemonConfig
    from .notify import Notifier
    from .recording import Recordings
    from .resume import Registry

HANGUP_HEAD_START_S = 0.5
"""After SIGHUP, the program itself gets SIGTERM this much later (at most half the grace)."""
EXIT_ONLY = WaitFor()
REAP_POLL_S = 0.5
"""Fallback poll for a child whose PTY hung up but whose SIGCHLD we have not seen yet."""


def exit_fields(session: Session) -> dict[str, Any]:
    status = session.exit_status
    return {"exit_code": status.code if status else None,
            "exit_signal": status.signal if status else None}


class SessionLifecycle:
    if TYPE_CHECKING:
        config: DaemonConfig
        sessions: dict[str, Session]
        stopping: bool
        pending_waits: int
        recordings: Recordings
        resume_registry: Registry
        _loop: asyncio.AbstractEventLoop | None
        containment: Containment
        ending: set[Session]
        _by_pid: dict[int, Session]
        _helper_exits: dict[int, asyncio.Future[int]]
        _persist: bool
        _dirty: bool
        notifier: Notifier

        def emit(self, type_: str, **fields: Any) -> dict[str, Any]: ...
        def publish(self, frames: list[bytes]) -> None: ...
        def notify_status(self) -> None: ...
        def _close_fds(self, session: Session) -> None: ...

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
            if agentkinds.by_silence(session.agent):  # no hooks: silence tells the state
                self._note_activity(session)
            else:
                agentdriver.on_output(self, session)
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

    def set_state(self, session: Session, state: str, reason: str,
                  state_reason: str | None = None, state_text: str | None = None,
                  new_turn: bool = False) -> None:
        """Enter `state` (see daemon/agentstate.py); `reason` is free text for people,
        `state_reason`/`state_text` say which dialog or failure; `new_turn`: a prompt was
        submitted. Emits session.state when anything of it changed."""
        if (session.finished and state != EXITED) or not allowed(
                session.state, Change(state, new_turn=new_turn)):
            return  # e.g. output after a failed turn: it stays `error` until a new turn
        if state == EXITED and session.state == ERROR:  # why it ended stays readable
            state_reason, state_text = session.state_reason, session.state_text
        if not new_turn and (state, state_reason, state_text) == (
                session.state, session.state_reason, session.state_text):
            return
        previous = session.state
        if new_turn or state != IDLE:
            session.submitted_at = None  # the released prompt's turn began (or cannot now)
        if new_turn:
            session.turn += 1
        if state != previous:
            session.state_since = time.time()
        session.state, session.state_reason, session.state_text = state, state_reason, state_text
        log.info("session=%s state=%s previous=%s reason=%s state_reason=%s turn=%d",
                 session.name, state, previous, reason, state_reason, session.turn)
        event = self.emit("session.state", session=session.name, epoch=session.epoch,
                          state=state, previous=previous, reason=reason,
                          state_reason=state_reason, state_text=state_text, turn=session.turn)
        session.state_seq = event["seq"]
        self.resolve_waiters(session)
        self.notifier.on_state(session)
        if state == IDLE and session.agent is not None:
            agentdriver.schedule_release(self, session)

    def resolve_waiters(self, session: Session) -> None:
        """Answer the waits whose condition holds now."""
        for condition, waiter in session.waiters:
            if not waiter.done() and session.satisfies(condition):
                waiter.set_result(None)
        session.waiters = [(c, w) for c, w in session.waiters if not w.done()]

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The daemon's one event loop (set once `run` starts; handlers run only after)."""
        assert self._loop is not None
        return self._loop

    def note_activity(self, session: Session, output: bool = True) -> None:
        """For handlers (daemon/context.py): see `_note_activity`."""
        self._note_activity(session, output)

    def _note_activity(self, session: Session, output: bool = True) -> None:
        """Silence fallback for programs without hooks: output means working; quiet for
        idle_after seconds means idle. One timer at most per session, armed only on output."""
        assert self._loop is not None
        session.last_output_mono = time.monotonic()
        if output and session.state != WORKING:
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
        """Reap every child that exited. The daemon's children are sessions, and, as a child
        subreaper (daemon/containment.py), the orphans of their processes; a child we do not
        know (an orphan, a spawn whose exec failed after the fork) is reaped too, so no zombie
        is ever left behind. Code in the daemon must not start other children it waits for."""
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
        if not worktreesetup.on_exit(self, session):
            agentdriver.on_exit(self, session)
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
                  **exit_fields(session),
                  duration=round(session.duration, 3), stop_reason=session.stop_reason)
        self.notify_status()
        self.set_state(session, EXITED, "exited")
        self._end_leftovers(session)

    async def _wait_finished(self, session: Session, condition: WaitFor = EXIT_ONLY) -> None:
        if session.satisfies(condition):
            return
        assert self._loop is not None
        waiter: asyncio.Future[None] = self._loop.create_future()
        entry = (condition, waiter)
        session.waiters.append(entry)
        try:
            await waiter
        finally:
            if entry in session.waiters:  # timed out or cancelled: do not keep it
                session.waiters.remove(entry)

    async def wait_finished(self, session: Session, timeout: float | None,
                            states: tuple[str, ...] = (EXITED,), after_turn: int | None = None,
                            since_seq: int | None = None) -> bool:
        """Park until the session exits (or enters one of `states`, in a turn after
        `after_turn`, by a state change after event `since_seq`) or the timeout passes;
        True if it did."""
        condition = WaitFor(states, after_turn, since_seq)
        if session.satisfies(condition):
            return True
        if self.pending_waits >= self.config.max_pending_waits:
            raise ProtocolError(ErrorCode.LIMIT_EXCEEDED,
                                f"too many pending waits ({self.config.max_pending_waits})",
                                {"limit": "max_pending_waits",
                                 "max": self.config.max_pending_waits})
        self.pending_waits += 1
        try:
            await asyncio.wait_for(self._wait_finished(session, condition), timeout)
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

    def terminate(self, session: Session, signum: int, grace: float,
                  hangup_first: bool = False, reason: str | None = None,
                  fresh: bool = True) -> bool:
        """End everything the session holds: `signum` (after SIGHUP, if `hangup_first`: what a
        closing terminal sends, and what makes an interactive shell exit) to the program's
        process group, `signum` to every other process it holds, then SIGKILL to all that is
        left after `grace` seconds, whether or not the program is still alive. `reason`
        becomes the stop_reason of a running session. False: nothing was left to end."""
        assert self._loop is not None
        leader_alive = session.running and not session.reaped
        held = self.session_processes(session, fresh)
        if not leader_alive and not held:
            return False
        if leader_alive:
            if reason is not None and session.stop_reason is None:
                session.stop_reason = reason
            with contextlib.suppress(ProcessLookupError):
                if hangup_first:
                    session.send_signal(signal.SIGHUP, group=True)
                    # A program that handles SIGHUP (an agent running its end-of-session
                    # hooks) starts its orderly exit before a SIGTERM can cut it short.
                    session.timers.append(self._loop.call_later(
                        min(HANGUP_HEAD_START_S, grace / 2), self._term_leader, session,
                        signum))
                else:
                    session.send_signal(signum, group=True)
        self.containment.signal([pid for pid in held if pid != session.pid], signum)
        deadline = self._loop.time() + grace
        if session.kill_timer is None or session.kill_timer.when() > deadline:
            if session.kill_timer is not None:
                session.kill_timer.cancel()
            session.kill_timer = self._loop.call_at(deadline, self._force_kill, session)
        self.ending.add(session)  # a removed session too, until its grace ends
        return True

    def _term_leader(self, session: Session, signum: int) -> None:
        """After the SIGHUP's head start: SIGHUP again, then `signum`, to the program. bash
        takes a SIGHUP that lands between drawing its prompt and waiting for a key, and then
        waits for a key before acting on it (and ignores SIGTERM): the second one wakes it, as
        a closing terminal's end of input would."""
        if session.running and not session.reaped:
            with contextlib.suppress(ProcessLookupError):
                session.send_signal(signal.SIGHUP, group=False)
                session.send_signal(signum, group=False)

    def session_processes(self, session: Session, fresh: bool = True) -> list[int]:
        """The processes the session holds now (its program while not reaped included)."""
        leader = session.pid if not session.reaped else None
        return self.containment.members(session.cgroup, leader,
                                        session.env.get(EPOCH_VAR), fresh)

    def _end_leftovers(self, session: Session) -> None:
        """The program is gone: what it left behind ends too (SIGTERM, SIGKILL after the
        grace), as systemd does for a service, unless the session keeps its processes."""
        if session.kill_timer is not None:
            return  # it is being stopped: the grace already runs
        held = self.session_processes(session)
        if not held:
            self._release_cgroup(session)
        elif session.keep_processes:
            log.info("session=%s exited; keeping the %d process(es) it left", session.name,
                     len(held))
        else:
            log.info("session=%s exited leaving %d process(es): SIGTERM, SIGKILL after %gs",
                     session.name, len(held), self.config.kill_grace_s)
            self.terminate(session, signal.SIGTERM, self.config.kill_grace_s)

    def _release_cgroup(self, session: Session, tries: int = 20) -> None:
        """Remove the session's cgroup once empty (killed processes leave it a moment later)."""
        if session.cgroup is None or not session.finished:
            return
        if self.containment.release(session.cgroup):
            return
        if tries > 0 and session.kill_timer is None and self._loop is not None:
            self._loop.call_later(0.1, self._release_cgroup, session, tries - 1)

    def schedule_timeout(self, session: Session, seconds: float) -> None:
        """The session may run this long; then it is stopped and the reason recorded, so the
        limit holds even if the program that asked for it is gone."""
        assert self._loop is not None
        session.timeout_at = time.monotonic() + seconds
        session.timers.append(self._loop.call_later(seconds, self._time_out, session, seconds))

    def _time_out(self, session: Session, seconds: float) -> None:
        if session.running:
            log.info("session=%s timed out after %gs: stopping it", session.name, seconds)
            self.terminate(session, signal.SIGTERM, self.config.kill_grace_s, hangup_first=True,
                           reason="timeout")

    def _force_kill(self, session: Session) -> None:
        session.kill_timer = None
        self.ending.discard(session)
        if session.running and not session.reaped:
            log.info("session=%s did not exit in time: SIGKILL", session.name)
            with contextlib.suppress(ProcessLookupError):
                session.send_signal(signal.SIGKILL, group=True)
        held = self.session_processes(session)
        if held:
            log.info("session=%s: SIGKILL to the %d process(es) it still holds", session.name,
                     len(held))
            self.containment.kill(session.cgroup, held)
        self._release_cgroup(session)

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
