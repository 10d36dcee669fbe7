"""A pyte screen row as text with its colours and attributes, as SGR sequences (`ptyd screen -e`).

pyte keeps, per cell, a colour name ("red", "brightred"), "default", or a hex RGB string (its
reading of 256-colour and true-colour SGR); each comes back as the shortest SGR that sets it: a
16-colour code, `38;5;N` when the hex is one of the 256-colour palette, `38;2;R;G;B` otherwise.
"""

from __future__ import annotations

from pyte import graphics
from pyte.screens import Char

_FG_CODES = {name: code for code, name in (graphics.FG_ANSI | graphics.FG_AIXTERM).items()}
_BG_CODES = {name: code for code, name in (graphics.BG_ANSI | graphics.BG_AIXTERM).items()}
_PALETTE = {rgb: index for index, rgb in reversed(list(enumerate(graphics.FG_BG_256)))}
_FLAGS = (("bold", 1), ("italics", 3), ("underscore", 4), ("blink", 5), ("reverse", 7),
          ("strikethrough", 9))

RESET = "\x1b[0m"


def _colour(value: str, names: dict[str, int], extended: int) -> list[str]:
    if value == "default":
        return []
    if value in names:
        return [str(names[value])]
    if value in _PALETTE:
        return [str(extended), "5", str(_PALETTE[value])]
    try:
        rgb = bytes.fromhex(value)
    except ValueError:
        return []  # a name pyte has but we do not: leave the colour out rather than guess
    return [str(extended), "2", *(str(part) for part in rgb)] if len(rgb) == 3 else []


def sgr(char: Char) -> str:
    """The SGR sequence that sets exactly this cell's style, from a reset."""
    params = ["0"]
    params += [str(code) for flag, code in _FLAGS if getattr(char, flag)]
    params += _colour(char.fg, _FG_CODES, 38) + _colour(char.bg, _BG_CODES, 48)
    return f"\x1b[{';'.join(params)}m"


def _blank(char: Char) -> bool:
    """A cell that shows nothing: a space with no background, underline or reverse video."""
    return (char.data in (" ", "") and char.bg == "default" and not char.reverse
            and not char.underscore and not char.strikethrough)


def styled_row(cells: dict[int, Char], cols: int, default: Char) -> str:
    """One row: its text with an SGR sequence wherever the style changes, trailing blank cells
    trimmed, ended by a reset when any style was set."""
    row = [cells.get(x, default) for x in range(cols)]
    while row and _blank(row[-1]):
        row.pop()
    parts: list[str] = []
    style = sgr(default)
    for char in row:
        if not char.data:
            continue  # the second half of a wide character: drawn by the first
        if sgr(char) != style:
            style = sgr(char)
            parts.append(style)
        parts.append(char.data)
    if style != sgr(default):
        parts.append(RESET)
    return "".join(parts)
