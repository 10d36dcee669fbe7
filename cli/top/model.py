"""What the overview shows, as pure functions of session objects: rows, order, columns.

No I/O here, so the table is easy to test and the same for every daemon."""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ..format import pause_text

NEEDS_PERSON = {"waiting": 0, "error": 1}
STATE_ORDER = {"waiting": 0, "error": 1, "idle": 2, "working": 3, "starting": 4, "exited": 5}
"""Sessions that need a person come first, then those whose turn is over, then the busy ones."""


@dataclass
class Row:
    """One session of one daemon, with what the git layer last said about its branch."""

    daemon: str
    info: dict[str, Any]
    diff: dict[str, Any] | None = None
    """`git.diff` with `patch: false`: files_changed, insertions, deletions."""
    branch: dict[str, Any] | None = None
    """`git.info`: ahead, behind, dirty."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.info["name"])

    @property
    def key(self) -> tuple[str, str]:
        return self.daemon, self.name


def sort_rows(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: (STATE_ORDER.get(str(r.info.get("state")), 9),
                                       r.daemon, r.name))


def matches(row: Row, text: str) -> bool:
    """The `/` filter: a case-insensitive substring of the name, daemon, branch or state."""
    if not text:
        return True
    hay = " ".join(str(v) for v in (row.name, row.daemon, row.info.get("branch") or "",
                                    state_text(row.info)))
    return text.lower() in hay.lower()


def state_text(info: dict[str, Any]) -> str:
    """`waiting: trust`, `error: authentication_failed`, `idle`."""
    state = str(info.get("state") or "?")
    reason = info.get("state_reason")
    return f"{state}: {reason}" if reason else state


def status_text(info: dict[str, Any]) -> str:
    if info.get("status") != "exited":
        return str(info.get("status") or "?")
    if (paused := pause_text(info)) is not None:
        return paused
    if info.get("exit_signal") is not None:
        return f"exit sig{info['exit_signal']}"
    code = info.get("exit_code")
    return f"exit {code}" if code is not None else "exited"


def ago(seconds: float) -> str:
    """Time in a state, as a person reads it: 5s, 3m, 2h, 4d."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def changes_text(row: Row) -> str:
    """Uncommitted work and commits ahead of integration: `dirty ↑2`."""
    if not row.info.get("branch"):
        return ""
    parts = []
    dirty = row.branch.get("dirty") if row.branch else row.info.get("dirty")
    if dirty:
        parts.append("dirty")
    if row.branch and row.branch.get("ahead"):
        parts.append(f"↑{row.branch['ahead']}")
    return " ".join(parts) or "clean"


def diff_text(row: Row) -> str:
    """`+12 -3, 4 files`: the branch against its merge base with integration."""
    d = row.diff
    if not d or not d.get("files_changed"):
        return ""
    files = int(d["files_changed"])
    return f"+{d['insertions']} -{d['deletions']}, {files} file{'s' if files != 1 else ''}"


COLUMNS = [("NAME", 14), ("STATUS", 9), ("STATE", 22), ("FOR", 4), ("BRANCH", 24),
           ("CHANGES", 10), ("DIFF", 16), ("VIEW", 4)]


def cells(row: Row, now: float | None = None) -> list[str]:
    info = row.info
    now = time.time() if now is None else now
    since = info.get("state_since") or info.get("created") or now
    return [row.name, status_text(info), state_text(info), ago(now - float(since)),
            str(info.get("branch") or ""), changes_text(row), diff_text(row),
            str(info.get("viewers") or 0)]


def table(rows: list[Row], width: int, show_daemon: bool, now: float | None = None
          ) -> tuple[str, list[str]]:
    """The header and one line per row, each cut to `width` cells."""
    columns = fit_columns(([("DAEMON", 10)] if show_daemon else []) + COLUMNS, width)
    header = " ".join(pad(title, w) for title, w in columns)
    lines = []
    for row in rows:
        values = ([row.daemon] if show_daemon else []) + cells(row, now)
        lines.append(" ".join(pad(v, w) for v, (_, w) in zip(values, columns, strict=True)))
    return fit(header, width), [fit(line, width) for line in lines]


MIN_WIDTHS = {"NAME": 8, "STATUS": 7, "STATE": 12, "FOR": 3, "BRANCH": 10, "CHANGES": 7,
              "DIFF": 10, "VIEW": 4, "DAEMON": 6}


def fit_columns(columns: list[tuple[str, int]], width: int) -> list[tuple[str, int]]:
    """Narrow the widest-to-spare columns first, so a 80-column terminal still shows them all."""
    widths = dict(columns)
    while sum(widths.values()) + len(widths) - 1 > width:
        title = max(widths, key=lambda t: widths[t] - MIN_WIDTHS.get(t, 4))
        if widths[title] <= MIN_WIDTHS.get(title, 4):
            break  # as narrow as it goes: the line is cut at the edge
        widths[title] -= 1
    return [(title, widths[title]) for title, _ in columns]


def cell_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def fit(text: str, width: int) -> str:
    """Cut plain text to `width` terminal cells (wide characters count two)."""
    used = 0
    for i, ch in enumerate(text):
        used += cell_width(ch)
        if used > width:
            return text[:i]
    return text


def pad(text: str, width: int) -> str:
    text = fit(text, width)
    return text + " " * (width - sum(cell_width(c) for c in text))
