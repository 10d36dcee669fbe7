"""The daemon's runtime directory: safe to listen in, and held by one daemon at a time.

ZeroMQ's ipc bind silently unlinks an existing socket file and takes over its path, so a
second daemon started on the same directory would steal every new client from the first. The
lock file (flock, released by the kernel when the holder dies, even by kill -9) is what makes
"is a daemon running here?" a reliable question; sockets left by a dead daemon are stale and
removed before binding.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import time
from pathlib import Path

from ptyd.proto.paths import CONTROL_SOCKET, LOCK_FILE, PUBLISH_SOCKET
from ptyd.proto.trust import runtime_dir_problem

from .safefiles import UnsafeFile, open_private


class RuntimeDirError(Exception):
    """The directory is unsafe or busy; the message says what to do."""


SUN_PATH_MAX = 107
"""Longest path of a unix socket (sockaddr_un.sun_path, less the terminating NUL)."""


def ensure_private_dir(path: Path) -> None:
    """Create `path` 0700, or check an existing one is ours and private (not a symlink)."""
    longest = len(os.fsencode(path / "daemon.lock"))
    if longest > SUN_PATH_MAX:
        raise RuntimeDirError(f"{path} is too long for unix sockets ({longest} bytes with the "
                              f"socket name; at most {SUN_PATH_MAX}): choose a shorter --dir")
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700, parents=True)
    st = os.lstat(path)
    if problem := runtime_dir_problem(path, st, os.getuid(), f"uid {st.st_uid}"):
        raise RuntimeDirError(problem)


PROBE_WAIT_S = 2.0
"""How long a lock held by no daemon (nobody's pid in it: a client's probe) may delay a start."""


class DaemonLock:
    """An exclusive flock on <dir>/daemon.lock, holding the owner's pid for messages."""

    def __init__(self, directory: Path):
        self.path = directory / LOCK_FILE
        self.fd = -1

    def acquire(self) -> None:
        try:
            fd = open_private(self.path, os.O_RDWR | os.O_CREAT)
        except UnsafeFile as e:
            raise RuntimeDirError(str(e)) from None
        deadline = time.monotonic() + PROBE_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                owner = os.pread(fd, 32, 0).decode(errors="replace").strip()
                # No pid written: a client asking "is a daemon running?" holds a shared lock
                # for an instant (client/_daemon_dir.py), or a daemon is starting; wait a little.
                if not owner and time.monotonic() < deadline:
                    time.sleep(0.01)
                    continue
                os.close(fd)
                raise RuntimeDirError(
                    f"another ptyd daemon (pid {owner or '?'}) is already running on "
                    f"{self.path.parent}; stop it with 'ptyd shutdown', or use another directory "
                    "with --dir"
                ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            os.ftruncate(self.fd, 0)
            os.close(self.fd)
            self.fd = -1


def remove_stale_sockets(directory: Path) -> list[Path]:
    """Unlink sockets a dead daemon left behind; only call while holding the lock."""
    removed = []
    for name in (CONTROL_SOCKET, PUBLISH_SOCKET):
        path = directory / name
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            pass
    return removed
