"""How `ptyd logs` writes a session's output: byte-exact to a pipe or file, made harmless on a
terminal, or (`--text`) as lines a person reads and `grep` matches.

- Byte-exact (stdout not a terminal): scripts and `ptyd logs -f | sha256sum` rely on it.
- On a terminal: the output is replayed into the user's own terminal, which would answer the
  program's old queries (device attributes, cursor position) into the shell as typed input.
  They are removed as attach's replay removes them, and so are window titles; at the end the
  terminal's modes are put back (alternate screen left, attributes reset, cursor visible).
- `--text`: through the LineCooker (client/_text.py): carriage-return overdraws and cursor moves
  applied, escape sequences gone, one line per line; a line is written once it is final.
"""

from __future__ import annotations

import os
import re
from typing import BinaryIO

from ptyd.attach.replay import RESET_TERMINAL, alt_screen_after, strip_queries
from ptyd.client import LineCooker
from ptyd.client._text import split_unfinished

_TITLES = re.compile(rb"\x1b\][012];[^\x07\x1b]*(?:\x07|\x1b\\)")  # OSC 0, 1, 2: window titles

LEAVE_ALT_SCREEN = b"\x1b[?1049l"
ASCII_CHARSET = b"\x1b(B\x0f"  # G0 back to ASCII and selected: no line-drawing letters after


def lost_notice(nbytes: int) -> str:
    return f"[ptyd: {nbytes} bytes of output were evicted before they could be shown]"


class RawLog:
    """The bytes exactly as the program wrote them."""

    def __init__(self, out: BinaryIO):
        self.out = out

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.out.flush()

    def lost(self, nbytes: int) -> None:
        self.write(f"\r\n{lost_notice(nbytes)}\r\n".encode())

    def end(self) -> None:
        pass


class TerminalLog(RawLog):
    """Output replayed into a person's terminal, without its queries, and the modes put back."""

    def __init__(self, out: BinaryIO):
        super().__init__(out)
        self._carry = b""
        self._alt_screen = False
        self._last = b"\n"

    def write(self, data: bytes) -> None:
        data, self._carry = split_unfinished(self._carry + data)  # a query split across reads
        data = _TITLES.sub(b"", strip_queries(data))
        self._alt_screen = alt_screen_after(data, self._alt_screen)
        if data:
            self._last = data[-1:]
            super().write(data)

    def restore_sequence(self) -> bytes:
        tail = (LEAVE_ALT_SCREEN if self._alt_screen else b"") + RESET_TERMINAL + ASCII_CHARSET
        if self._last != b"\n" and not self._alt_screen:
            tail += b"\r\n"  # the shell's prompt on a line of its own
        return tail

    def end(self) -> None:
        super().write(self.restore_sequence())

    def restore_now(self, fd: int) -> None:
        """From the Ctrl-C handler: straight to the descriptor, not through the (maybe busy)
        buffered stream."""
        os.write(fd, self.restore_sequence())


class TextLog(RawLog):
    """Lines as a person reads them (see LineCooker), each written once it is final."""

    def __init__(self, out: BinaryIO):
        super().__init__(out)
        self._cooker = LineCooker()

    def _lines(self, lines: list[str]) -> None:
        if lines:
            self.out.write("".join(line + "\n" for line in lines).encode())
            self.out.flush()

    def write(self, data: bytes) -> None:
        self._lines(self._cooker.feed(data))

    def lost(self, nbytes: int) -> None:
        self._lines([*self._cooker.flush(), lost_notice(nbytes)])

    def end(self) -> None:
        self._lines(self._cooker.flush())
