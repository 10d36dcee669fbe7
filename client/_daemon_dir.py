"""Finding, checking, probing and starting the daemon of a runtime directory, from the client side.

The daemon holds an exclusive flock on <dir>/daemon.lock for as long as it lives (the kernel
drops it even on kill -9), so "is a daemon running here?" is a lock probe, not a guess from
socket files that a dead daemon may have left behind.

Before anything is opened, created or sent there, the directory must be ours alone (see
ptyd.proto.trust): the default /tmp/ptyd-<uid> is a name any local user can take first.
"""

from __future__ import annotations

import errno
import fcntl
import os
import pwd
import stat
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ptyd.proto.paths import LOCK_FILE, LOG_FILE, Endpoints, runtime_dir
from ptyd.proto.trust import runtime_dir_problem, socket_problem

from ._exceptions import UnsafeRuntimeDir

if TYPE_CHECKING:
    import subprocess

LOG_ROTATE_BYTES = 1 << 20
"""At autostart a daemon.log larger than this is moved to daemon.log.1 (one old file kept)."""


def resolve_dir(directory: str | os.PathLike[str] | None = None) -> Path:
    return runtime_dir(os.environ, os.getuid(), tempfile.gettempdir(), directory).absolute()


def describe_owner(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def check_runtime_dir(directory: Path) -> bool:
    """Raise UnsafeRuntimeDir unless `directory` is a real directory of ours, mode 0700 (no
    group/other bits); False if it does not exist (then no daemon can run there)."""
    try:
        st = os.lstat(directory)  # lstat: a symlink is judged itself, never followed
    except FileNotFoundError:
        return False
    problem = runtime_dir_problem(directory, st, os.getuid(), describe_owner(st.st_uid))
    if problem:
        raise UnsafeRuntimeDir(problem)
    return True


def check_sockets(endpoints: Endpoints) -> None:
    """Raise UnsafeRuntimeDir if an ipc socket we would connect to exists but is not ours."""
    for endpoint in (endpoints.control, endpoints.publish):
        if not endpoint.startswith("ipc://"):
            continue
        path = Path(endpoint[len("ipc://"):])
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        problem = socket_problem(path, st, os.getuid(), describe_owner(st.st_uid))
        if problem:
            raise UnsafeRuntimeDir(problem)


def make_runtime_dir(directory: Path) -> None:
    """Create `directory` 0700 if missing, and check it either way, before anything goes in."""
    try:
        directory.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass
    except OSError as e:
        raise UnsafeRuntimeDir(f"cannot create the runtime directory {directory}: "
                               f"{e.strerror}") from None
    if not check_runtime_dir(directory):
        raise UnsafeRuntimeDir(f"the runtime directory {directory} vanished")


def open_private(path: Path, flags: int) -> int:
    """os.open that never follows a symlink (O_NOFOLLOW) and refuses a file not ours."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as e:
        if e.errno == errno.ELOOP:  # O_NOFOLLOW on a symlink
            raise UnsafeRuntimeDir(f"refusing to open {path}: it is a symbolic link "
                                   "(remove it)") from None
        raise
    st = os.fstat(fd)
    if st.st_uid != os.getuid() or not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise UnsafeRuntimeDir(f"refusing to use {path}: not a regular file of yours (owner "
                               f"{describe_owner(st.st_uid)}); remove it")
    return fd


def daemon_running(directory: Path) -> bool:
    try:
        fd = open_private(directory / LOCK_FILE, os.O_RDONLY)
    except (OSError, UnsafeRuntimeDir):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def start_daemon(directory: Path, extra_args: list[str] | None = None) -> subprocess.Popen[bytes]:
    """Start `ptyd serve` in the background, in its own session, logging to <dir>/daemon.log."""
    import subprocess  # only autostart needs it: one-request commands start faster without

    make_runtime_dir(directory)
    log_path = directory / LOG_FILE
    _rotate(log_path)
    log = open_private(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "ptyd", "--dir", str(directory), "serve", *(extra_args or [])],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            cwd="/",
        )
    finally:
        os.close(log)


def _rotate(log_path: Path) -> None:
    """Keep the log a daemon is started with bounded: move a large one to <log>.1."""
    try:
        st = os.lstat(log_path)
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode) and st.st_size > LOG_ROTATE_BYTES:
        # rename replaces a planted <log>.1 symlink itself; it never writes through it.
        os.replace(log_path, log_path.with_name(log_path.name + ".1"))


def log_tail(directory: Path, lines: int = 5) -> str:
    try:
        fd = open_private(directory / LOG_FILE, os.O_RDONLY)
    except (OSError, UnsafeRuntimeDir):
        return ""
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(fd).st_size
        f.seek(max(0, size - 16384))
        text = f.read().decode(errors="replace")
    return "\n".join(text.strip().splitlines()[-lines:])
