"""Is Claude Code waiting for a decision on screen? Its own dialogs fire no hook.

The folder-trust dialog, the bypass-permissions warning, the login and onboarding screens and the
MCP server approval come before Claude's hooks run (SessionStart fires after them), and a
permission prompt's Notification hook is late or missing in some versions. What they share on
screen: a numbered choice with a selection mark (`\u276f 1. Yes, I trust this folder`) at the bottom,
where the input box (`\u276f ` followed by what is typed) would otherwise be.

Only that live region is read: prose in the transcript (an answer quoting "Do you want to
proceed?") sits above the input box and never matches. The screen is rebuilt with pyte from a
bounded tail of the scrollback, and only once a session has gone quiet (pyte is slow, ~1 MB/s):
see daemon/agentdriver.py.
"""

from __future__ import annotations

import re

TAIL_BYTES = 16 << 10
"""Scrollback fed to a fresh emulator to read the screen: an inline TUI redraws its prompt
region with relative moves of at most a screen, and a dialog screen is ~2 kB."""

REGION_ROWS = 24
"""Rows above the selected option that may hold the dialog's question."""

BELOW_OPTION_ROWS = 8
"""Non-blank rows a dialog shows below its selected option (other options, a hint)."""

_PRIVATE_CSI_RE = re.compile(rb"\x1b\[[<>=][0-?]*[ -/]*[@-~]")
"""Kitty keyboard / modifyOtherKeys / XTVERSION: pyte misreads them (a stray `u`, underline)."""
_MARKS = "\u276f\u203a>"  # the selection / prompt marks: heavy and single angle quotes, >
_OPTION_RE = re.compile(rf"^[\s│|]*[{_MARKS}]\s*\d+\.\s+\S")
_INPUT_RE = re.compile(rf"^[\s│|]*[{_MARKS}](?:\s|$)(?!\s*\d+\.\s)")
_RULE_RE = re.compile(r"─{10,}")
_FRAME_CHARS = "│╭╮╰╯─┃━ "

# (reason, words of the region that name it), first match wins: the bypass warning and the
# trust dialog also ask yes/no, so the generic permission words come last.
_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bypass", ("bypass permissions mode",)),
    ("trust", ("trust this folder", "trust the files in this folder", "one you trust")),
    ("mcp", ("mcp server",)),
    ("login", ("login method", "log in with", "sign in", "text style", "select login")),
    ("permission", ("do you want to", "would you like to", "proceed?", "allow ", "permission")),
)
OTHER = "dialog"
"""A numbered choice that none of the above names (a picker, a question from a tool)."""


def screen_lines(tail: bytes, cols: int, rows: int, from_bottom: bool) -> list[str]:
    """The screen that `tail` (the end of a session's output) leaves, as text rows.
    `from_bottom`: the tail starts mid-stream, after the terminal had scrolled: start with the
    cursor on the bottom row, where a scrolled terminal keeps it, so the relative cursor-up
    moves of an inline TUI land where they did."""
    import pyte  # here, not at the top: the daemon starts without it (35 ms), most never need it

    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    if from_bottom:
        stream.feed(f"\x1b[{rows};1H".encode())
    stream.feed(_PRIVATE_CSI_RE.sub(b"", tail))
    return [line.rstrip() for line in screen.display]


def _strip_frame(line: str) -> str:
    return line.strip(_FRAME_CHARS).strip()


def find_dialog(lines: list[str]) -> tuple[str, str | None] | None:
    """(reason, question) of the dialog at the bottom of the screen, or None."""
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    option = next((i for i in range(len(lines) - 1, -1, -1) if _OPTION_RE.match(lines[i])),
                  None)
    if option is None:
        return None
    if option > 0 and _RULE_RE.fullmatch(lines[option - 1].strip()):
        return None  # right under the input box's rule: text typed at the prompt ("1. fix")
    below = [line for line in lines[option + 1:] if line.strip()]
    if len(below) > BELOW_OPTION_ROWS or any(_INPUT_RE.match(line) for line in below):
        return None  # the input box is below it: that choice is transcript, not a dialog
    top = max(0, option - REGION_ROWS)
    for i in range(option - 1, top - 1, -1):
        if _INPUT_RE.match(lines[i]):
            top = i + 1  # an input box above: what is above it is the transcript
            break
    region = [_strip_frame(line) for line in lines[top:]]
    text = " ".join(region).lower()
    reason = next((kind for kind, words in _KINDS if any(w in text for w in words)), OTHER)
    return reason, _question(region[: option - top], reason)


def _question(above: list[str], reason: str) -> str | None:
    """The line that asks: the last one above the options holding `?`; else the first naming
    the dialog (the bypass warning's title, "New MCP server found ..."); else the nearest."""
    above = [line for line in above if line and not _OPTION_RE.match(line)
             and not re.match(r"^\d+\.\s", line)]
    for line in reversed(above):
        if "?" in line:
            return line[: line.index("?") + 1].split(": ")[-1] if reason == "trust" else line
    words = dict(_KINDS).get(reason, ())
    for line in above:
        if any(word in line.lower() for word in words):
            return line
    return above[-1] if above else None
