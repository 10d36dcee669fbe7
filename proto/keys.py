"""Named keys, as tmux's send-keys spells them, turned into the bytes a terminal sends.

Cursor keys use the normal-mode CSI form (ESC [ A); programs in application cursor mode
accept it too in practice (readline, Ink, vim).
"""

from __future__ import annotations

PASTE_GAP_S = 0.02
"""Pause between a text write and a following key: the Claude Code CLI takes text and Enter
arriving in one read as a paste (the Enter is absorbed), so they must reach it separately."""

_NAMED: dict[str, bytes] = {
    "enter": b"\r", "return": b"\r", "cr": b"\r", "lf": b"\n", "tab": b"\t",
    "btab": b"\x1b[Z", "s-tab": b"\x1b[Z", "space": b" ",
    "escape": b"\x1b", "esc": b"\x1b", "bspace": b"\x7f", "backspace": b"\x7f",
    "up": b"\x1b[A", "down": b"\x1b[B", "right": b"\x1b[C", "left": b"\x1b[D",
    "home": b"\x1b[H", "end": b"\x1b[F", "insert": b"\x1b[2~", "ic": b"\x1b[2~",
    "delete": b"\x1b[3~", "dc": b"\x1b[3~", "pageup": b"\x1b[5~", "ppage": b"\x1b[5~",
    "pgup": b"\x1b[5~", "pagedown": b"\x1b[6~", "npage": b"\x1b[6~", "pgdn": b"\x1b[6~",
    "f1": b"\x1bOP", "f2": b"\x1bOQ", "f3": b"\x1bOR", "f4": b"\x1bOS",
    "f5": b"\x1b[15~", "f6": b"\x1b[17~", "f7": b"\x1b[18~", "f8": b"\x1b[19~",
    "f9": b"\x1b[20~", "f10": b"\x1b[21~", "f11": b"\x1b[23~", "f12": b"\x1b[24~",
}

_CTRL_PUNCT = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31, "?": 127, " ": 0}


def key_bytes(name: str) -> bytes:
    """'Enter' -> b'\\r', 'C-c' -> b'\\x03', 'M-x' -> b'\\x1bx', 'Up' -> b'\\x1b[A'.

    Raises ValueError with the list of known names for anything else.
    """
    if name.startswith(("M-", "m-")) and len(name) > 2:
        return b"\x1b" + key_bytes(name[2:])
    if name.startswith(("C-", "c-", "^")) and len(name) in (2, 3):
        char = name[-1]
        if char.isalpha() and char.isascii():
            return bytes([ord(char.lower()) - ord("a") + 1])
        if char in _CTRL_PUNCT:
            return bytes([_CTRL_PUNCT[char]])
    value = _NAMED.get(name.lower())
    if value is not None:
        return value
    if len(name) == 1:
        return name.encode()
    raise ValueError(
        f"unknown key {name!r}: use C-x, M-x, or one of "
        + ", ".join(sorted({k.capitalize() for k in _NAMED}))
    )
