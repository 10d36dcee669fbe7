"""Finding, probing and starting the daemon of a runtime directory, from the client side.

The daemon holds an exclusive flock on <dir>/daemon.lock for as long as it lives (the kernel
drops it even on kill -9), so "is a daemon running here?" is a lock probe, not a guess from
socket files that a dead daemon may have left behind.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ptyd.proto.paths import LOCK_FILE, LOG_FILE, runtime_dir


def resolve_dir(directory: str | os.PathLike[str] | None = None) -> Path:
    return runtime_dir(os.environ, os.getuid(), tempfile.gettempdir(), directory).absolute()


def daemon_running(directory: Path) -> bool:
    try:
        fd = os.open(directory / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
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
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    log_path = directory / LOG_FILE
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "ptyd", "--dir", str(directory), "serve", *(extra_args or [])],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            cwd="/",
        )
    finally:
        log.close()


def log_tail(directory: Path, lines: int = 5) -> str:
    try:
        text = (directory / LOG_FILE).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
