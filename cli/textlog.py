"""How `ptyd logs` writes a session's output: byte-exact to a pipe or file, made harmless on a
terminal, or (`--text`) as lines a person reads and `grep` matches.

- Byte-exact (stdout not a terminal): scripts and `ptyd logs -f | sha256sum` rely on it.
- On a terminal: the output is replayed into the user's own terminal, which would answer the
  program's old queries (device attributes, cursor position) into the shell as typed input.
  They are removed as attach's replay removes them. So are window titles, mouse and focus
  reporting (the terminal would type reports into the shell) and alternate-screen switches (a
  full-screen program's last frame stays in view instead of vanishing when it is left); at the
  end the terminal's other modes are put back (attributes reset, cursor visible, keys normal).
- `--text`: through the LineCooker (client/_text.py): carriage-return overdraws and cursor moves
  applied, escape sequences gone, one line per line; a line is written once it is final.
"""

from __future__ import annotations

import os
import re
from typing import BinaryIO

from ptyd.attach.replay import RESET_TERMINAL, strip_queries
from ptyd.client import LineCooker
from ptyd.client.text import split_unfinished

_TITLES = re.compile(rb"\x1b\][012];[^\x07\x1b]*(?:\x07|\x1b\\)")  # OSC 0, 1, 2: window titles
_PRIVATE_MODES = re.compile(rb"\x1b\[\?([0-9;]*)([hl])")
LEFT_OUT_MODES = frozenset({b"47", b"1047", b"1049",  # alternate screen
                            b"9", b"1000", b"1001", b"1002", b"1003", b"1005", b"1006", b"1015",
                            b"1016",  # mouse reporting
                            b"1004"})  # focus in/out reports
"""DEC private modes a replay into a person's terminal leaves out (see the module doc)."""

ASCII_CHARSET = b"\x1b(B\x0f"  # G0 back to ASCII and selected: no line-drawing letters after


def _without_left_out_modes(match: re.Match[bytes]) -> bytes:
    kept = [mode for mode in match.group(1).split(b";") if mode not in LEFT_OUT_MODES]
    return b"\x1b[?" + b";".join(kept) + match.group(2) if kept else b""


def harmless(data: bytes) -> bytes:
    """`data` without what must not reach a person's terminal again (see the module doc)."""
    if b"\x1b" not in data:
        return data
    data = _TITLES.sub(b"", strip_queries(data))
    return _PRIVATE_MODES.sub(_without_left_out_modes, data)


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
        self._last = b"\n"

    def write(self, data: bytes) -> None:
        data, self._carry = split_unfinished(self._carry + data)  # a query split across reads
        data = harmless(data)
        if data:
            self._last = data[-1:]
            super().write(data)

    def restore_sequence(self) -> bytes:
        tail = RESET_TERMINAL + ASCII_CHARSET
        if self._last != b"\n":
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
