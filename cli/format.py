"""How the `ptyd` command shows sessions to a person."""

from __future__ import annotations

import shlex
import signal
import time
from typing import Any

from ptyd.proto.exitstatus import shell_code

STOP_REASONS = {"timeout": "timed out", "shutdown": "stopped by shutdown"}


def pause_text(info: dict[str, Any]) -> str | None:
    """`paused` once a pause committed the agent's work, `pausing` while the agent was stopped
    for one and its work is not committed yet; None for a session no pause touched."""
    if info.get("paused"):
        return "paused"
    return "pausing" if info.get("stop_reason") == "paused" else None


def exit_text(info: dict[str, Any]) -> str:
    if info["status"] == "running":
        if info.get("resumed_from"):
            first = time.strftime("%m-%d %H:%M", time.localtime(info["resumed_from"]))
            return f"running (resumed, first started {first})"
        return "running"
    # Why the daemon stopped it says more than the raw status (still in exit_code/exit_signal).
    stopped = pause_text(info) or STOP_REASONS.get(info.get("stop_reason") or "")
    if stopped is not None:
        return stopped
    if info.get("exit_signal") is not None:
        try:
            name = signal.Signals(info["exit_signal"]).name
        except ValueError:
            name = str(info["exit_signal"])
        return f"killed by {name}"
    return f"exited {info.get('exit_code')}"


def exit_code(info: dict[str, Any]) -> int:
    """What a shell would report for the session's program: 128+N for signal N."""
    return shell_code(info)


def age(seconds: float) -> str:
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def state_cell(info: dict[str, Any]) -> str:
    """`idle`, `waiting: trust`, `error: authentication_failed`: the state and which dialog or
    failure it is."""
    state = str(info.get("state", "-"))
    reason = info.get("state_reason")
    return f"{state}: {reason}" if reason else state


def table(sessions: list[dict[str, Any]]) -> str:
    rows = [("NAME", "STATUS", "STATE", "VIEWERS", "PID", "SIZE", "AGE", "COMMAND")]
    now = time.time()
    for s in sessions:
        rows.append((s["name"], exit_text(s), state_cell(s), str(s.get("viewers", 0)),
                     str(s["pid"]), f"{s['cols']}x{s['rows']}", age(now - s["created"]),
                     shlex.join(s["argv"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]
                     for r in rows)


TIME_FIELDS = frozenset({"created", "exited_at", "state_since", "resumed_from", "dirty_at"})
"""Fields that are seconds since the epoch: shown as local dates (`--json` keeps them raw)."""
DURATION_FIELDS = frozenset({"duration", "timeout", "idle_after"})


def local_time(epoch: float, now: float | None = None) -> str:
    """'2026-12-06 21:04:05 (3m ago)' in the local time zone."""
    ago = (time.time() if now is None else now) - epoch
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))
    return f"{when} ({age(ago)} ago)" if ago >= 0 else when


def duration(seconds: float) -> str:
    """'2.5s', '3m 05s', '2h 03m', '1d 02h'."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    for unit, size, sub, subsize in (("d", 86400, "h", 3600), ("h", 3600, "m", 60),
                                     ("m", 60, "s", 1)):
        if whole >= size:
            return f"{whole // size}{unit} {(whole % size) // subsize:02d}{sub}"
    return f"{seconds:.1f}s"


def _shown_value(key: str, value: Any) -> str:
    if key in TIME_FIELDS and isinstance(value, int | float):
        return local_time(value)
    if key in DURATION_FIELDS and isinstance(value, int | float):
        return duration(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def details(info: dict[str, Any]) -> str:
    """One `key  value` line per field that has a value (no Nones), times as local dates."""
    shown = {k: _shown_value(k, v) for k, v in info.items() if v is not None}
    shown["argv"] = shlex.join(info["argv"])
    shown["status"] = exit_text(info)
    width = max(len(k) for k in shown)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in shown.items())
