"""The viewer's own terminal: raw mode while attached, and always restored on the way out."""

from __future__ import annotations

import contextlib
import os
import select
import termios
import tty
from typing import Any

from .replay import RESET_TERMINAL


class RawMode:
    """Raw mode on a terminal, and the line discipline it found put back: the one place that
    does this, for `ptyd attach` and `ptyd top` alike.

    Raw: every byte passes both ways unchanged, no echo, no line editing, no signals from
    Ctrl-C or Ctrl-Z (they are keys), no output translation (exact cursor positioning)."""

    def __init__(self, fd: int):
        self.fd = fd
        self._saved: list[Any] | None = None

    def enter(self) -> None:
        """Go raw; the discipline to restore is the one found the first time (entering again,
        after `restore(keep=True)`, must not save raw mode as the one to go back to)."""
        if self._saved is None:
            self._saved = termios.tcgetattr(self.fd)
        tty.setraw(self.fd, termios.TCSANOW)

    def restore(self, *, keep: bool = False) -> None:
        """Put the saved discipline back once what was written has gone out (TCSADRAIN). A
        terminal that is gone is not an error: there is nothing left to restore. `keep`: the
        terminal is only lent (ptyd top running an attach) and raw mode will be entered again.
        Safe to call twice, and before `enter`."""
        if self._saved is None:
            return
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
        if not keep:
            self._saved = None


def terminal_size(*fds: int) -> tuple[int, int]:
    """(columns, rows) of the first of `fds` that is a terminal; 80x24 if none is."""
    for fd in fds:
        try:
            size = os.get_terminal_size(fd)
        except OSError:
            continue
        return size.columns, size.lines
    return 80, 24


class LocalTerminal:
    def __init__(self, in_fd: int = 0, out_fd: int = 1):
        self.in_fd, self.out_fd = in_fd, out_fd
        self.raw = RawMode(in_fd)
        self.alt_screen = False

    def size(self) -> tuple[int, int]:
        return terminal_size(self.out_fd, self.in_fd)

    def enter_raw(self) -> None:
        """Every byte passes both ways unchanged (see RawMode): keys go to the program."""
        self.raw.enter()

    def write(self, data: bytes) -> None:
        write_all(self.out_fd, data)

    def restore(self, message: str | None = None, to_bottom: bool = False) -> None:
        """Leave the program's modes, put back the saved line discipline, say why we left.

        `to_bottom`: the program is still running and may have left the cursor inside its
        drawing (an inline TUI's prompt box); go below everything before printing."""
        tail = (b"\x1b[?1049l" if self.alt_screen else b"") + RESET_TERMINAL
        if to_bottom and not self.alt_screen:
            tail += b"\x1b[999;1H"
        self.write(tail)
        self.raw.restore()
        if message:
            self.write(f"\r\n{message}\r\n".encode())


def write_all(fd: int, data: bytes) -> None:
    """Write every byte to a terminal (also ptyd top's); a terminal that is gone (a closed
    window) leaves nothing to show, so that is not an error.

    The terminal is usually non-blocking here: O_NONBLOCK belongs to the open file description,
    which stdout shares with stdin when both are the same tty, and attach sets it on stdin.
    When the terminal's queue is full, wait for room (POLLOUT) instead of spinning on EAGAIN:
    the spin burnt a core that the terminal emulator, the daemon and the program need to
    drain the very queue it waits for."""
    view = memoryview(data)
    waiter: select.poll | None = None
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            if waiter is None:
                waiter = select.poll()
                waiter.register(fd, select.POLLOUT)
            waiter.poll()  # also returns on POLLHUP/POLLERR: the next write tells
            continue
        except OSError:
            return
        view = view[written:]
