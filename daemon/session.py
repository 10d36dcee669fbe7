"""One program running under a PTY, as the daemon holds it.

A session is plain state plus its PTY master fd and child pid, nothing more: whether the child
was spawned here or inherited from a predecessor daemon, it is driven the same way, which is
what lets a session be serialized, handed over and adopted.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import secrets
import signal
import struct
import termios
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .agentstate import DEFAULT_IDLE_AFTER_S, EXITED, STARTING, WaitFor
from .notify import NotifyRule
from .scrollback import Scrollback
from .termstate import TermState
from .viewers import Viewer

SUBMIT_GRACE_S = 10.0
"""How long a prompt typed from the hold may take to start its turn (the agent's
UserPromptSubmit hook) before an idle counts again."""
READ_CHUNK_BYTES = 64 << 10
READS_PER_WAKEUP = 16
"""Reads per readable callback. A tty hands out at most ~4 kB per read however much is asked,
so a fast producer's reads are coalesced into one published chunk of up to ~64 kB (fewer,
larger messages); the bound keeps one busy session from holding the loop from the others."""

MAX_PENDING_INPUT_BYTES = 4 << 20
"""Input queued for a program that is not reading its terminal; past this, input is refused."""

EOF_AFTER_EXIT_S = 2.0
"""How long to wait for the PTY to hang up after the child was reaped (a grandchild may still
hold the terminal); past this the session is declared exited anyway and the master closed."""


@dataclass
class ExitStatus:
    code: int | None
    signal: int | None

    @classmethod
    def from_wait_status(cls, status: int) -> ExitStatus:
        if os.WIFSIGNALED(status):
            return cls(None, os.WTERMSIG(status))
        return cls(os.WEXITSTATUS(status), None)

    @property
    def shell_code(self) -> int:
        """The code a shell would report: 128+N for a killing signal N."""
        return 128 + self.signal if self.signal is not None else (self.code or 0)


@dataclass(eq=False)
class Session:
    name: str
    argv: list[str]
    cwd: str
    pid: int
    master_fd: int
    cols: int
    rows: int
    scrollback: Scrollback
    env: dict[str, str] = field(default_factory=dict, repr=False)
    epoch: int = field(default_factory=lambda: secrets.randbits(63))
    created: float = field(default_factory=time.time)
    started_mono: float = field(default_factory=time.monotonic)
    exit_status: ExitStatus | None = None
    exited_at: float | None = None
    ended_mono: float | None = None
    reaped: bool = False
    eof: bool = False
    finished: bool = False  # reaped and output drained (or given up on): the session has exited
    waiters: list[tuple[WaitFor, asyncio.Future[None]]] = field(default_factory=list,
                                                               repr=False)
    """(condition, future): resolved when the condition is met, or the session exits."""
    state: str = STARTING
    state_since: float = field(default_factory=time.time)
    state_reason: str | None = None
    """Which dialog (`waiting`) or failure (`error`): see daemon/agentstate.py."""
    state_text: str | None = None
    turn: int = 0
    state_seq: int = 0
    """Sequence number of the session.state event that set the current state."""
    state_before_dialog: str | None = None
    dialog_on_screen: bool = False
    screen_timer_armed: bool = False
    held_input: list[bytes] = field(default_factory=list, repr=False)
    """Input for an agent not ready for it yet (starting), typed once it is idle."""
    held_input_bytes: int = 0
    submitted_at: float | None = None
    """Monotonic time held input ending a prompt (Enter) was typed for an agent whose hooks
    report its turns: until its turn starts, its idle is the one before that turn."""
    release_armed: bool = False
    output_at_hook: int = -1
    """Scrollback end when a hook last reported: a screen not redrawn since is stale."""
    agent: str | None = None
    agent_session_id: str | None = None
    idle_after: float = DEFAULT_IDLE_AFTER_S
    last_output_mono: float = 0.0
    idle_timer_armed: bool = False
    stop_reason: str | None = None
    size_policy: str = "latest"
    viewers: dict[str, Viewer] = field(default_factory=dict, repr=False)
    term: TermState = field(default_factory=TermState, repr=False)
    stderr_mode: str = "pty"
    stderr_fd: int = -1
    stderr_ring: Scrollback | None = field(default=None, repr=False)
    pending_input: deque[memoryview] = field(default_factory=deque, repr=False)
    pending_input_bytes: int = 0
    timers: list[asyncio.TimerHandle] = field(default_factory=list, repr=False)
    resumed_from: float | None = None
    """Unix time the session was first started, if this is a persistent one relaunched."""
    spawn_params: dict[str, Any] | None = field(default=None, repr=False)
    """The `spawn` request's parameters, as decoded: what `resume` starts again after a pause."""
    paused: bool = False
    """`pause` ended it and put its checkout away; `resume` brings it back."""
    foreign: bool = False
    """Adopted after a crash: not our child, so its exit is seen through a pidfd only."""
    timeout_at: float | None = None
    """Monotonic time at which the session's timeout stops it, if it has one."""
    repo: str | None = None
    """The repository of an agent working on its own branch (spawn with `repo`); the session's
    name is the agent id, its cwd the agent's checkout under `sandbox_dir`."""
    branch: str | None = None
    integration: str | None = None
    notify: tuple[NotifyRule, ...] = ()
    """The spawn's own `notify` rules, on top of the configured [[notify]] (daemon/notify.py)."""
    setup_status: str | None = None
    """The status file of a worktree setup run before the agent (daemon/worktreesetup.py)."""
    sandbox_dir: str | None = None
    dirty: bool | None = None
    """Whether the checkout held uncommitted work when last looked at (`info` looks, `list`
    only reports this), at Unix time `dirty_at`; None: not known (no checkout)."""
    dirty_at: float | None = None
    cgroup: str | None = None
    """The session's own cgroup (daemon/containment.py); None: its processes are tracked."""
    keep_processes: bool = False
    """Processes the program leaves behind when it exits by itself are kept (not ended)."""
    kill_timer: asyncio.TimerHandle | None = field(default=None, repr=False)
    """SIGKILL for whatever the session still holds when the grace ends. Apart from `timers`:
    it must outlive the leader's exit and the session's removal."""
    holds: Callable[[Session], list[int]] | None = field(default=None, repr=False)
    """The daemon's way to list the processes the session holds (set when it is added)."""

    @property
    def running(self) -> bool:
        return not self.finished

    @property
    def status(self) -> str:
        return "running" if self.running else EXITED

    def input_pending(self) -> bool:
        """Input the agent has not taken up yet: held, or typed from the hold and its turn not
        started (for SUBMIT_GRACE_S at most): an idle now is not the answer to it."""
        if self.held_input:
            return True
        return (self.submitted_at is not None
                and time.monotonic() - self.submitted_at < SUBMIT_GRACE_S)

    def satisfies(self, condition: WaitFor) -> bool:
        """Whether a `wait` for `condition` is answered now (an exit answers every wait)."""
        return self.finished or condition.met(self.state, self.turn, self.state_seq,
                                              self.input_pending())

    @property
    def duration(self) -> float:
        end = self.ended_mono if self.ended_mono is not None else time.monotonic()
        return end - self.started_mono

    def describe(self) -> dict[str, Any]:
        """The session as `list` and `info` report it (see docs/protocol.md)."""
        ring = self.scrollback
        exit_ = self.exit_status
        return {
            "name": self.name,
            "argv": self.argv,
            "cwd": self.cwd,
            "pid": self.pid,
            "status": self.status,
            "cols": self.cols,
            "rows": self.rows,
            "epoch": self.epoch,
            "created": self.created,
            "duration": round(self.duration, 3),
            "base": ring.base,
            "end": ring.end,
            "scrollback_bytes": ring.capacity,
            "exit_code": exit_.code if exit_ else None,
            "exit_signal": exit_.signal if exit_ else None,
            "exited_at": self.exited_at,
            "stop_reason": self.stop_reason,
            "state": self.state,
            "state_since": self.state_since,
            "state_reason": self.state_reason,
            "state_text": self.state_text,
            "turn": self.turn,
            "state_seq": self.state_seq,
            "agent": self.agent,
            "agent_session_id": self.agent_session_id,
            "size_policy": self.size_policy,
            "viewers": len(self.viewers),
            "stderr": self.stderr_mode,
            "stderr_end": self.stderr_ring.end if self.stderr_ring else 0,
            "resumed_from": self.resumed_from,
            "repo": self.repo,
            "branch": self.branch,
            "integration": self.integration,
            "dirty": self.dirty,
            "dirty_at": self.dirty_at,
            "processes": len(self.holds(self)) if self.holds is not None else 0,
            "containment": "cgroup" if self.cgroup is not None else "tracked",
            "keep_processes": self.keep_processes,
            "paused": self.paused,
        }

    # -- the terminal ------------------------------------------------------------------------

    def read_available(self) -> tuple[bytes, bool]:
        """Drain what the PTY has ready, up to READS_PER_WAKEUP reads: (data, at_eof)."""
        return drain(self.master_fd)

    def queue_input(self, data: bytes) -> None:
        self.pending_input.append(memoryview(data))
        self.pending_input_bytes += len(data)

    def flush_input(self) -> bool:
        """Write queued input without blocking; True when the queue is empty."""
        while self.pending_input:
            chunk = self.pending_input[0]
            try:
                written = os.write(self.master_fd, chunk)
            except BlockingIOError:
                return False
            except OSError:
                # The terminal is gone (child exited): queued input has nowhere to go.
                self.pending_input.clear()
                self.pending_input_bytes = 0
                return True
            self.pending_input_bytes -= written
            if written == len(chunk):
                self.pending_input.popleft()
            else:
                self.pending_input[0] = chunk[written:]
                return False
        return True

    def set_size(self, cols: int, rows: int) -> None:
        """TIOCSWINSZ on the master: the kernel sends SIGWINCH to the foreground process group
        only if the size actually changed."""
        fcntl.ioctl(self.master_fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.cols, self.rows = cols, rows

    def send_signal(self, signum: int, group: bool) -> None:
        if self.reaped:
            return
        if group:
            try:
                os.killpg(self.pid, signum)  # the child is a session and group leader
                return
            except ProcessLookupError:
                pass
        os.kill(self.pid, signum)

    def try_reap(self) -> bool:
        """waitpid without blocking; True if the child was reaped now."""
        if self.reaped or self.foreign:
            return False
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            # Not our child any more (reaped elsewhere): record an unknown exit.
            pid, status = self.pid, -1
        if pid == 0:
            return False
        self.set_reaped(status)
        return True

    def set_reaped(self, status: int) -> None:
        """Record the wait status (-1: unknown, the child was reaped elsewhere)."""
        self.reaped = True
        self.exit_status = ExitStatus(None, None) if status == -1 else \
            ExitStatus.from_wait_status(status)

    def cancel_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()

    def close_master(self) -> None:
        """Close the PTY master (and the stderr pipe): the caller removed their readers."""
        for attr in ("master_fd", "stderr_fd"):
            fd = getattr(self, attr)
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, attr, -1)

    def read_stderr(self) -> tuple[bytes, bool]:
        """Drain the stderr pipe (sessions spawned with stderr=pipe): (data, at_eof)."""
        return drain(self.stderr_fd)


def drain(fd: int) -> tuple[bytes, bool]:
    """Read what a non-blocking fd has ready, up to READS_PER_WAKEUP reads: (data, at_eof)."""
    parts: list[bytes] = []
    for _ in range(READS_PER_WAKEUP):
        try:
            data = os.read(fd, READ_CHUNK_BYTES)
        except BlockingIOError:
            break
        except OSError as e:
            # Linux reports the slave side hanging up (every holder closed it, or the session
            # leader exited) as EIO on the PTY master: that is end-of-output.
            if e.errno in (errno.EIO, errno.EBADF):
                return b"".join(parts), True
            raise
        if not data:
            return b"".join(parts), True
        parts.append(data)
    return b"".join(parts), False


def signal_name(signum: int | None) -> str | None:
    if signum is None:
        return None
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


Callback = Callable[[], None]
