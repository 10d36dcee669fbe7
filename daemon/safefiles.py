"""Files the daemon creates, opened so that nothing planted in their place is written through.

Every file is opened with O_NOFOLLOW (a symlink in its place fails with ELOOP instead of
redirecting the write) and checked, once open, to be a regular file of ours: a hard link to
someone else's file, or a file left by another user, is refused too. Whole files are written to
a fresh temporary name (O_EXCL: never an existing file) and renamed over the target; rename
replaces a directory entry, symlink or not, and never follows it. Failures are UnsafeFile, an
OSError, so the callers' existing handling of I/O errors (a full disk) applies to them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path


class UnsafeFile(OSError):
    """A symlink, a foreign-owned file or a non-regular file where ours was meant to be."""


def open_private(path: Path, flags: int, mode: int = 0o600) -> int:
    """os.open(path, flags) that refuses a symlink and a file that is not a regular file of
    ours; the fd is close-on-exec."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as e:
        if e.errno == errno.ELOOP:  # what O_NOFOLLOW gives for a symlink
            raise UnsafeFile(errno.ELOOP, f"refusing to open {path}: it is a symbolic link "
                             "(someone may have planted it; remove it)") from None
        raise
    try:
        _check_ours(path, os.fstat(fd))
    except UnsafeFile:
        os.close(fd)
        raise
    return fd


def _check_ours(path: Path, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeFile(errno.EPERM, f"refusing to use {path}: it is not a regular file")
    if st.st_uid != os.getuid():
        raise UnsafeFile(errno.EPERM, f"refusing to use {path}: it belongs to uid {st.st_uid}, "
                         f"not to us (uid {os.getuid()}); remove it")


def create_new(path: Path, mode: int = 0o600) -> int:
    """A new file at `path` for writing: O_EXCL, so never a file (or link) that was there."""
    return open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data` in one rename: readers see the old file or the new one. A
    failed write (ENOSPC) removes the temporary file and leaves the old one in place."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = create_new(tmp, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_private(path: Path) -> bytes:
    """The contents of a file of ours (not through a symlink); FileNotFoundError if none."""
    fd = open_private(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        return f.read()


def make_private_dir(path: Path) -> None:
    """Create `path` (0700, with its parents) or check that it is a real directory of ours."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700, parents=True)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise UnsafeFile(errno.ENOTDIR, f"refusing to use {path}: it is not a directory "
                         "(a symbolic link?); remove it")
    if st.st_uid != os.getuid():
        raise UnsafeFile(errno.EPERM, f"refusing to use {path}: it belongs to uid {st.st_uid}, "
                         f"not to us (uid {os.getuid()}); remove it")
