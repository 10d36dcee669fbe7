"""Pure helpers for what an attaching viewer writes to its terminal.

Replayed scrollback must not contain the terminal queries the program sent long ago (device
attributes, version, mode and colour queries): the viewer's terminal would answer them now, and
the answers would arrive as the program's input. Live output keeps them: a query sent now is
answered by the viewer's terminal as it would be by any terminal.
"""

from __future__ import annotations

import re

_QUERIES = re.compile(
    rb"\x1b\[[>=]?0?c"             # DA1, DA2, DA3: device attributes
    rb"|\x1b\[>0?q"                # XTVERSION
    rb"|\x1b\[\??[0-9;]*\$p"       # DECRQM: request mode
    rb"|\x1b\[[56]n|\x1b\[\?6n"    # DSR: status, cursor position
    rb"|\x1b\[\?u"                 # kitty keyboard protocol query
    rb"|\x1b\[1[48]t|\x1b\[1[19]t|\x1b\[2[01]t"  # window size / state / title reports
    rb"|\x1bP\+q[0-9A-Fa-f;]*\x1b\\\\"  # XTGETTCAP
    rb"|\x1b\][0-9]+;\?(?:\x07|\x1b\\\\)"  # OSC colour queries (10, 11, 12, 4;N ...)
    rb"|\x1b\]4;[0-9]+;\?(?:\x07|\x1b\\\\)"
    rb"|\x1b\]7501;[^\x07\x1b]*(?:\x07|\x1b\\\\)"  # Claude Code's private OSC probe
)

_ALT = re.compile(rb"\x1b\[\?(?:1049|1047|47)([hl])")

RESET_TERMINAL = (
    b"\x1b[0m"                      # colours and attributes
    b"\x1b[?1l\x1b>"                # normal cursor keys and keypad
    b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1005l\x1b[?1006l\x1b[?1015l"  # mouse off
    b"\x1b[?1004l"                  # focus events off
    b"\x1b[?2004l"                  # bracketed paste off
    b"\x1b[<u\x1b[>4m"              # kitty keyboard, modifyOtherKeys: back to legacy keys
    b"\x1b[?25h"                    # cursor visible
)
"""Modes a program may have left set, put back to a shell's defaults when a viewer leaves."""

CLEAR_FOR_REPLAY = b"\x1b[H\x1b[2J"


def strip_queries(data: bytes) -> bytes:
    return _QUERIES.sub(b"", data) if b"\x1b" in data else data


def alt_screen_after(data: bytes, was_on: bool) -> bool:
    """Whether the alternate screen is active after `data`, given whether it was before."""
    if b"\x1b" not in data:  # one memchr: plain text (most of a flood) skips the regex scan
        return was_on
    state = was_on
    for match in _ALT.finditer(data):
        state = match.group(1) == b"h"
    return state


def lost_marker(nbytes: int) -> bytes:
    return (f"\r\n\x1b[7m[ptyd: {nbytes} bytes of output were lost before this viewer could "
            "read them]\x1b[0m\r\n").encode()
