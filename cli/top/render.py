"""Frames of the overview as lists of lines: the list, the preview, the diff view, the help."""

from __future__ import annotations

from .model import fit, pad

REVERSE, BOLD, DIM, RESET = "\x1b[7m", "\x1b[1m", "\x1b[2m", "\x1b[0m"
GREEN, RED, CYAN, YELLOW = "\x1b[32m", "\x1b[31m", "\x1b[36m", "\x1b[33m"

KEYS = [
    ("↑/↓", "select a session"),
    ("Enter", "attach (the detach key, Ctrl-\\, brings you back here); at a waiting "
              "dialog: answer it with Enter"),
    ("a", "attach"),
    ("r", "attach read-only"),
    ("s", "send a line of text (typed, then Enter)"),
    ("y / n", "answer a waiting dialog: its Yes / No choice"),
    ("k", "kill the session (asks first)"),
    ("x", "remove the session, killing it if it runs (asks first)"),
    ("c", "commit the agent's work to its branch (asks for a message)"),
    ("m", "merge the agent's branch into integration (asks first)"),
    ("p", "push the agent's branch to origin (asks first)"),
    ("P", "pause the agent: end it, commit its work (WIP), remove its checkout (asks first)"),
    ("R", "resume a paused agent: its checkout back, its command restarted"),
    ("d", "diff view: git diff integration...agent/… (↑/↓, PgUp/PgDn, q back)"),
    ("N", "new agent: name, command, repository, task"),
    ("/", "filter by name, daemon, branch or state (empty: all)"),
    ("?", "this help"),
    ("q", "quit (Ctrl-C too)"),
]
FOOTER = "⏎ attach r read-only s send y/n answer k kill x rm c commit m merge p push " \
         "d diff P/R pause N new / filter ? q"


def bar(text: str, width: int) -> str:
    return REVERSE + pad(text, width) + RESET


def help_lines(width: int, height: int) -> list[str]:
    lines = [bar(" ptyd top — keys (any key: back)", width), ""]
    for key, meaning in KEYS:
        lines.append(fit(f"  {key:<8} {meaning}", width))
    return lines[:height]


def diff_line(line: str, width: int) -> str:
    """One line of a patch, coloured as `git diff` does."""
    text = fit(line.expandtabs(4), width)
    if line.startswith(("diff --git", "index ", "--- ", "+++ ")):
        return BOLD + text + RESET
    if line.startswith("@@"):
        return CYAN + text + RESET
    if line.startswith("+"):
        return GREEN + text + RESET
    if line.startswith("-"):
        return RED + text + RESET
    return text


def diff_lines(title: str, patch: list[str], top: int, width: int, height: int) -> list[str]:
    body = height - 2
    shown = [diff_line(line, width) for line in patch[top: top + body]]
    last = min(len(patch), top + body)
    footer = f" {title}  lines {top + 1}-{last} of {len(patch)}  ↑/↓ PgUp/PgDn  q back"
    return [bar(f" diff {title}", width), *shown, *[""] * (body - len(shown)),
            bar(footer, width)]


def preview_lines(screen: list[str], width: int, height: int) -> list[str]:
    """The session's screen, bottom-aligned: a tall screen shows its last rows that hold text."""
    lines = [line.rstrip() for line in screen]
    while lines and not lines[-1]:
        lines.pop()
    lines = lines[-height:] if height > 0 else []
    return [fit(line, width) for line in lines] + [""] * (height - len(lines))
