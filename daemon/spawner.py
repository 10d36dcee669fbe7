"""Start a program under a new PTY with pexpect, and hand back just its pid and master fd.

pexpect (through ptyprocess) forks with the PTY as the child's controlling terminal, makes the
child a session leader, closes every other fd in it, and reports a failed exec back to us
through a pipe, so a missing program is an error here and never a half-made session. We keep
only (pid, fd): the pexpect object is released so that nothing but the daemon's event loop
touches the fd, and so an inherited session (after an upgrade) is driven exactly like a new one.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pexpect
import ptyprocess

from .containment import EPOCH_VAR, join_cgroup

# Variables that would make a program believe it runs inside another multiplexer or terminal
# (Claude Code turns on kitty keyboard protocols when TMUX or TERM_PROGRAM says so), or that
# belong to the daemon's own service manager and must not leak into agents.
SCRUBBED_ENV = frozenset({
    "TMUX", "TMUX_PANE", "STY", "WINDOW", "TERM_PROGRAM", "TERM_PROGRAM_VERSION",
    "TERM_SESSION_ID", "KITTY_WINDOW_ID", "KITTY_PID", "KITTY_PUBLIC_KEY", "WEZTERM_PANE",
    "WEZTERM_UNIX_SOCKET", "ITERM_SESSION_ID", "WT_SESSION", "ALACRITTY_WINDOW_ID",
    "COLUMNS", "LINES", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET",
    "WATCHDOG_PID", "WATCHDOG_USEC", "INVOCATION_ID", "JOURNAL_STREAM",
})
TERM = "xterm-256color"


class SpawnError(Exception):
    """The program could not be started; the message says why, for a person."""


@dataclass(frozen=True)
class Spawned:
    pid: int
    master_fd: int
    stderr_fd: int = -1
    """Read end of the child's stderr pipe, when spawned with `stderr_pipe`."""


class _PexpectSpawn(pexpect.spawn):  # type: ignore[misc]
    """pexpect.spawn that keeps chosen fds open in the child (ptyprocess closes all others
    before our preexec_fn runs): the stderr pipe must survive until it is moved onto fd 2."""

    def __init__(self, *args: Any, pass_fds: tuple[int, ...] = (), **kwargs: Any):
        self._pass_fds = pass_fds
        super().__init__(*args, **kwargs)

    def _spawnpty(self, args: list[bytes], **kwargs: Any) -> Any:
        return ptyprocess.PtyProcess.spawn(args, pass_fds=self._pass_fds, **kwargs)


TOKEN_ENV = "PTYD_SESSION_TOKEN"
"""A random secret per session, in its environment only: hooks report with it."""


def child_env(base: Mapping[str, str], session: str, runtime_dir: str,
              epoch: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k not in SCRUBBED_ENV}
    env["TERM"] = TERM
    env["PTYD_SESSION"] = session
    env["PTYD_DIR"] = runtime_dir
    if epoch is not None:  # names the session an orphan came from (daemon/containment.py)
        env[EPOCH_VAR] = str(epoch)
    env[TOKEN_ENV] = secrets.token_hex(16)  # the `hook` op's proof: see daemon/ops/hook.py
    return env


def _child_setup(stderr_fd: int, cgroup: str | None = None) -> Callable[[], None]:
    join = join_cgroup(cgroup) if cgroup is not None else None

    def setup() -> None:
        """Run in the child before exec: Python ignores SIGPIPE and SIGXFSZ, and an ignored
        signal survives exec; `yes | head` in an agent's shell must behave as in a terminal."""
        if join is not None:  # before exec, so nothing the program starts is outside it
            join()
        for signum in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(signum, signal.SIG_DFL)
        if stderr_fd >= 0:
            os.dup2(stderr_fd, 2)
            os.close(stderr_fd)

    return setup


def spawn(argv: list[str], cwd: str, env: dict[str, str], cols: int, rows: int,
          stderr_pipe: bool = False, cgroup: str | None = None) -> Spawned:
    if not os.path.isdir(cwd):
        raise SpawnError(f"working directory {cwd!r} does not exist or is not a directory")
    program = argv[0]
    if os.sep not in program and shutil.which(program, path=env.get("PATH", os.defpath)) is None:
        raise SpawnError(f"program {program!r} not found in PATH")
    if os.sep in program:
        # A path, relative to the session's cwd (as execvp after chdir would take it). pexpect
        # would look it up relative to the daemon's own directory, so it gets the joined path.
        program = program if os.path.isabs(program) else os.path.join(cwd, program)
        if not os.path.isfile(program) or not os.access(program, os.X_OK):
            raise SpawnError(f"program {argv[0]!r} does not exist or is not executable "
                             f"(a path with '/' is relative to the working directory {cwd!r})")
    err_read, err_write = os.pipe() if stderr_pipe else (-1, -1)
    try:
        child = _PexpectSpawn(program, argv[1:], cwd=cwd, env=env, dimensions=(rows, cols),
                              echo=True, preexec_fn=_child_setup(err_write, cgroup), use_poll=True,
                              pass_fds=(err_write,) if stderr_pipe else ())
    except (pexpect.ExceptionPexpect, OSError) as e:
        for fd in (err_read, err_write):
            if fd >= 0:
                os.close(fd)
        raise SpawnError(f"cannot start {program!r}: {e}") from None
    if stderr_pipe:
        os.close(err_write)
        os.set_blocking(err_read, False)
    # Keep a private, close-on-exec duplicate of the master, then release pexpect's copy;
    # mark its PtyProcess closed so its finalizer neither closes our PTY nor kills the child.
    master_fd = os.dup(child.child_fd)
    child.ptyproc.fileobj.close()
    child.ptyproc.closed = True
    child.closed = True
    os.set_blocking(master_fd, False)
    return Spawned(child.pid, master_fd, err_read)
