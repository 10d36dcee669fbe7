"""What a terminal that saw a session's whole output would be set to, tracked as output passes.

A new viewer is shown a bounded tail of the scrollback, not all of it, so the modes that the
program set before that tail (alternate screen, bracketed paste, mouse reporting, application
cursor keys, a hidden cursor, the title) must be restored first, and the tail must start where
replaying it alone rebuilds the screen: after a full clear, at the switch to the alternate
screen, or at a line start. This scanner is cheap: `bytes.find` for ESC, and a parse only around
each escape, so plain text costs almost nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# DEC private modes worth restoring for a viewer, by number. 1049/1047/47: alternate screen.
TRACKED_MODES = frozenset({1, 5, 6, 7, 12, 25, 47, 1000, 1002, 1003, 1004, 1005, 1006, 1015,
                           1047, 1049, 2004})
ALT_SCREEN_MODES = frozenset({47, 1047, 1049})
_PRIVATE_MODE = re.compile(rb"\x1b\[\?([0-9;]*)([hl])")
_CLEAR = re.compile(rb"\x1b\[2J|\x1bc")
_TITLE = re.compile(rb"\x1b\][02];([^\x07\x1b]*)(?:\x07|\x1b\\)")
_KEYPAD = re.compile(rb"\x1b[=>]")
MAX_MODE_DIGITS = 5
"""DEC private modes are small numbers; a longer parameter is garbage, and int() of thousands of
digits raises ValueError (CPython's int max_str_digits), which must not reach the reader."""
CARRY_BYTES = 256
"""An escape sequence split across two reads is parsed once the rest arrives."""


@dataclass
class TermState:
    modes: dict[int, bool] = field(default_factory=dict)
    keypad_application: bool = False
    title: bytes | None = None
    alt_screen_since: int | None = None
    """Offset of the switch to the alternate screen, while it is active."""
    last_clear: int | None = None
    """Offset of the last full clear (ESC[2J, ESC c) of the current screen."""
    _carry: bytes = b""
    _carry_offset: int = 0

    @property
    def alt_screen(self) -> bool:
        return self.alt_screen_since is not None

    def feed(self, data: bytes, offset: int) -> None:
        if self._carry:
            data, offset = self._carry + data, self._carry_offset
            self._carry = b""
        if b"\x1b" not in data:
            return
        for match in _PRIVATE_MODE.finditer(data):
            on = match.group(2) == b"h"
            for part in match.group(1).split(b";"):
                if part.isdigit() and len(part) <= MAX_MODE_DIGITS:
                    self._set_mode(int(part), on, offset + match.start())
        for match in _CLEAR.finditer(data):
            self.last_clear = offset + match.start()
        for match in _TITLE.finditer(data):
            self.title = match.group(1)
        for match in _KEYPAD.finditer(data):
            self.keypad_application = match.group(0) == b"\x1b="
        tail_escape = data.rfind(b"\x1b", max(0, len(data) - CARRY_BYTES))
        if tail_escape >= 0 and _incomplete(data[tail_escape:]):
            self._carry = data[tail_escape:]
            self._carry_offset = offset + tail_escape

    def _set_mode(self, mode: int, on: bool, at: int) -> None:
        if mode in ALT_SCREEN_MODES:
            if on and self.alt_screen_since is None:
                self.alt_screen_since = at
                self.last_clear = None
            elif not on and self.alt_screen_since is not None:
                self.alt_screen_since = None
                self.last_clear = None
            return
        if mode in TRACKED_MODES:
            self.modes[mode] = on

    def preamble(self) -> bytes:
        """Escape sequences that put a fresh terminal into the tracked modes (not the alternate
        screen, which the replayed tail switches to itself)."""
        parts = [f"\x1b[?{mode}{'h' if on else 'l'}".encode()
                 for mode, on in sorted(self.modes.items())]
        if self.keypad_application:
            parts.append(b"\x1b=")
        if self.title is not None:
            parts.append(b"\x1b]2;" + self.title + b"\x07")
        return b"".join(parts)

    def replay_start(self, base: int, end: int, tail_bytes: int) -> int:
        """Where a viewer's replay should start so that the tail alone rebuilds the screen."""
        start = max(base, end - tail_bytes)
        if self.alt_screen_since is not None and self.alt_screen_since >= start:
            return self.alt_screen_since  # the switch is replayed: the screen starts empty
        if self.last_clear is not None and self.last_clear >= start:
            return self.last_clear
        return start

    def describe(self) -> dict[str, object]:
        return {"alt_screen": self.alt_screen, "modes": {str(k): v for k, v in self.modes.items()},
                "title": self.title.decode("utf-8", "replace") if self.title else None}


def _incomplete(tail: bytes) -> bool:
    """True if `tail` (starting at ESC) may be the start of a sequence not finished yet."""
    if len(tail) == 1:
        return True
    if tail[1:2] == b"[":
        return re.fullmatch(rb"\x1b\[[0-9;?<>=$ ]*", tail) is not None
    if tail[1:2] == b"]":
        return b"\x07" not in tail and b"\x1b\\" not in tail[1:]
    return False
