"""Daemon logging: one line per event, `key=value` fields, levels.

Under journald (JOURNAL_STREAM names our stderr) lines carry a syslog priority prefix such as
"<6>" and no timestamp of our own, since the journal records both.

A daemon started by a client (autostart) logs to <runtime dir>/daemon.log: when that file grows
past LOG_MAX_BYTES it is moved to daemon.log.1 (the previous .1 is dropped) and a fresh one is
started, so the log takes at most about twice LOG_MAX_BYTES. Any other stderr (a terminal, the
journal, a file of the caller's choosing) is left alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
             logging.CRITICAL: 2}


class _JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"<{_PRIORITY.get(record.levelno, 6)}>{record.getMessage()}"


def _stderr_is_journal() -> bool:
    stream = os.environ.get("JOURNAL_STREAM", "")
    if ":" not in stream:
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    dev, _, ino = stream.partition(":")
    return f"{st.st_dev}" == dev and f"{st.st_ino}" == ino


LOG_MAX_BYTES = 1 << 20


class _CappedStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to stderr; rotates it when stderr is the file `log_file` and has grown too big."""

    def __init__(self, log_file: Path | None):
        super().__init__(sys.stderr)
        self.log_file = log_file

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        if self.log_file is not None:
            with contextlib.suppress(OSError):  # a log that cannot rotate still logs
                self._rotate_if_full(self.log_file)

    def _rotate_if_full(self, path: Path) -> None:
        st = os.fstat(2)
        if st.st_size <= LOG_MAX_BYTES:
            return
        on_disk = os.lstat(path)
        if (on_disk.st_dev, on_disk.st_ino) != (st.st_dev, st.st_ino):
            return  # stderr is not that file (any more): not ours to rotate
        # rename moves directory entries and never follows a link; the new file is O_EXCL.
        os.replace(path, path.with_name(path.name + ".1"))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_NOFOLLOW,
                     0o600)
        for target in (1, 2):  # the client started us with stdout and stderr on the log
            with contextlib.suppress(OSError):
                other = os.fstat(target)
                if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
                    os.dup2(fd, target)
        os.close(fd)


def setup(level: str = "info", log_file: Path | None = None) -> logging.Logger:
    """Log to stderr at `level`; `log_file`: the file stderr may be, to keep it capped."""
    log = logging.getLogger("ptyd")
    log.handlers.clear()
    handler = _CappedStderr(log_file)
    if _stderr_is_journal():
        handler.setFormatter(_JournalFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s",
                                               "%Y-%m-%dT%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(level.upper())
    log.propagate = False
    return log


log = logging.getLogger("ptyd")
