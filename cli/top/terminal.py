"""The overview's own terminal: raw input, the alternate screen, and always restored on exit.

A small layer of our own instead of curses: the overview already runs an asyncio loop (the
client library), and curses wants to own both the input loop and the screen buffer. Here the
loop reads stdin with `add_reader`, and a frame is a list of lines of which only the changed
ones are written.
"""

from __future__ import annotations

import re

from ptyd.attach.terminal import RawMode, terminal_size, write_all

ENTER_SCREEN = b"\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J"
"""Alternate screen (the shell's screen comes back untouched), cursor hidden, cleared."""
LEAVE_SCREEN = b"\x1b[0m\x1b[?25h\x1b[?1049l"
"""Attributes reset and cursor shown BEFORE leaving: both would otherwise leak to the shell."""

_KEY_NAMES = {
    b"\x1b[A": "up", b"\x1b[B": "down", b"\x1b[C": "right", b"\x1b[D": "left",
    b"\x1bOA": "up", b"\x1bOB": "down", b"\x1bOC": "right", b"\x1bOD": "left",
    b"\x1b[5~": "pgup", b"\x1b[6~": "pgdn", b"\x1b[H": "home", b"\x1b[F": "end",
    b"\x1b[1~": "home", b"\x1b[4~": "end", b"\r": "enter", b"\n": "enter",
    b"\x7f": "backspace", b"\x08": "backspace", b"\x1b": "esc", b"\t": "tab",
    b"\x03": "C-c", b"\x04": "C-d", b"\x15": "C-u", b"\x0c": "C-l",
}
# One key per match: a CSI/SS3 sequence, a lone ESC, one UTF-8 character, or any other byte.
_KEY_RE = re.compile(rb"\x1b\[[0-9;]*[A-Za-z~]|\x1bO[A-Za-z]|\x1b|[\xc0-\xf7][\x80-\xbf]*|.",
                     re.DOTALL)


def split_keys(data: bytes) -> list[str]:
    """Bytes read from the terminal as key names ("up", "enter", "C-c") or the typed text.
    A read holds whole sequences in practice (the terminal writes each key at once)."""
    keys = []
    for match in _KEY_RE.finditer(data):
        raw = match.group()
        name = _KEY_NAMES.get(raw)
        if name is None:
            if raw.startswith(b"\x1b") or raw[0] < 0x20:
                continue  # an unknown sequence or control key: ignore rather than misread
            name = raw.decode("utf-8", "replace")
        keys.append(name)
    return keys


class Screen:
    """Raw mode plus the alternate screen; writes frames, redrawing only the lines that changed."""

    def __init__(self, in_fd: int = 0, out_fd: int = 1):
        self.in_fd, self.out_fd = in_fd, out_fd
        self.raw = RawMode(in_fd)
        self._shown: list[str] = []
        self.active = False

    def size(self) -> tuple[int, int]:
        return terminal_size(self.out_fd)

    def enter(self) -> None:
        # Raw: Ctrl-C is a key (we quit on it ourselves, restoring the terminal on the way).
        self.raw.enter()
        self._write(ENTER_SCREEN)
        self._shown = []
        self.active = True

    def leave(self) -> None:
        """Give the terminal back exactly as found; safe to call twice and on any exit path."""
        if not self.active:
            return
        self.active = False
        self._write(LEAVE_SCREEN)
        self.raw.restore()

    def lend(self) -> None:
        """Hand the terminal to another program (an attach) inside our alternate screen, so
        that what it draws is gone when the overview ends and the shell's screen comes back."""
        self._write(b"\x1b[0m\x1b[H\x1b[2J\x1b[?25h")
        self.raw.restore(keep=True)

    def take_back(self) -> None:
        # The program may have left the alternate screen on its way out (a full-screen agent's
        # attach ends with ESC[?1049l): enter it again; from inside it this only clears.
        self.raw.enter()
        self._write(ENTER_SCREEN)
        self._shown = []

    def invalidate(self) -> None:
        """The screen was drawn by someone else (an attach): the next frame redraws all."""
        self._shown = []

    def draw(self, lines: list[str]) -> None:
        """`lines`: one string per row, possibly with SGR colours, already cut to the width."""
        out = []
        if not self._shown:
            out.append("\x1b[0m\x1b[H\x1b[2J")
        for row, line in enumerate(lines):
            if row < len(self._shown) and self._shown[row] == line:
                continue
            out.append(f"\x1b[{row + 1};1H\x1b[0m{line}\x1b[0m\x1b[K")
        for row in range(len(lines), len(self._shown)):
            out.append(f"\x1b[{row + 1};1H\x1b[0m\x1b[K")
        self._shown = list(lines)
        if out:
            self._write("".join(out).encode("utf-8", "replace"))

    def _write(self, data: bytes) -> None:
        write_all(self.out_fd, data)
