"""stats: daemon-wide figures a monitor polls (sessions in each state, clients connected,
memory held, replies queued), cheap enough to ask every second: it walks the sessions once and
reads /proc/self/statm, nothing else."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ptyd.proto.ops import STATES

from ..version import installed_version

if TYPE_CHECKING:
    from ..context import Context


@dataclass(frozen=True, slots=True, kw_only=True)
class Stats:
    """No parameters (proto/specs.py `stats`)."""


def rss_bytes() -> int | None:
    """Resident memory of the daemon now (not its peak): /proc/self/statm, field 2, in pages."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None  # no /proc (not Linux): the figure is unknown, not zero


def handle(d: Context, msg: Stats, peer: bytes) -> dict[str, Any]:
    sessions = list(d.sessions.values())
    states = Counter(s.state for s in sessions)
    return {
        "pid": os.getpid(),
        "version": installed_version(),
        "uptime_s": max(0.0, time.time() - d.started),
        "sessions": len(sessions),
        "running": sum(1 for s in sessions if s.status == "running"),
        "states": {state: states.get(state, 0) for state in STATES},
        "viewers": sum(len(s.viewers) for s in sessions),
        "peers": sum(gate.connections for gate in d.peer_gates.values()),
        "scrollback_bytes": sum(s.scrollback.memory_bytes()
                                + (s.stderr_ring.memory_bytes() if s.stderr_ring else 0)
                                for s in sessions),
        "scrollback_committed_bytes": d.scrollback_committed(),
        "queued_reply_bytes": d.reply_budget.total,
        "last_seq": d.events.last_seq,
        "rss_bytes": rss_bytes(),
    }


SERVES = {"stats": (Stats, handle)}
