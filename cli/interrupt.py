"""Ctrl-C on a waiting `ptyd` command: exit 130 at once, quietly, as a shell's own commands do.

A KeyboardInterrupt raised wherever the main thread happens to be (inside the blocking client's
wait on its event-loop thread, inside a generator's cleanup) can turn into a different exception
and a traceback. So the CLI's client verbs take SIGINT themselves: run the registered restores
(a terminal's modes put back), flush what was printed, and leave with 130 (128 + SIGINT). The
daemon's socket is simply dropped; a daemon never depends on a client saying goodbye.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType

INTERRUPTED_EXIT = 128 + signal.SIGINT

_restores: list[Callable[[], None]] = []


def exit_quietly_on_interrupt() -> None:
    """Install the SIGINT handler (a command that never runs the daemon in this process)."""
    signal.signal(signal.SIGINT, _interrupted)


@contextlib.contextmanager
def restore_on_interrupt(restore: Callable[[], None]) -> Iterator[None]:
    """Run `restore` if Ctrl-C ends the process inside this block."""
    _restores.append(restore)
    try:
        yield
    finally:
        _restores.remove(restore)


def _interrupted(signum: int, frame: FrameType | None) -> None:
    for restore in reversed(_restores):
        with contextlib.suppress(Exception):
            restore()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(INTERRUPTED_EXIT)  # not sys.exit: no cleanup that could block or print
