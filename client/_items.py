"""What output streams yield besides chunks, and their shared timing: no I/O, no event loop,
so the blocking paths (attach, Wire) can use them without importing asyncio."""

from __future__ import annotations

from dataclasses import dataclass

LIVENESS_PROBE_S = 3.0
"""With no message at all for this long (heartbeats come every second), ask the daemon whether
it is still there, so a stream on a dead daemon ends with DaemonNotRunning instead of hanging."""


@dataclass(frozen=True, slots=True)
class Lost:
    """Output in [offset, end) was evicted from the scrollback before it could be delivered."""

    offset: int
    end: int
