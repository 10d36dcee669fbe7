"""People (or programs) attached to a session, and whose window decides its size.

A viewer registers with `attach` after subscribing to its own topic `viewer:<id>`; the daemon
learns that the viewer is gone when that subscription disappears, which ZeroMQ reports as soon
as the viewer's connection closes (a killed client included), so viewer counts never go stale.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(eq=False)
class Viewer:
    id: str
    session: str
    peer: bytes
    read_only: bool
    cols: int
    rows: int
    attached: float = field(default_factory=time.time)
    active_mono: float = field(default_factory=time.monotonic)

    def touch(self) -> None:
        self.active_mono = time.monotonic()

    def describe(self) -> dict[str, object]:
        return {"id": self.id, "read_only": self.read_only, "cols": self.cols, "rows": self.rows,
                "attached": self.attached}


def wanted_size(policy: str, viewers: list[Viewer], current: tuple[int, int]
                ) -> tuple[int, int]:
    """The session size the policy asks for, given its viewers (read-only ones do not count)."""
    writers = [v for v in viewers if not v.read_only]
    if policy == "fixed" or not writers:
        return current
    if policy == "smallest":
        return min(v.cols for v in writers), min(v.rows for v in writers)
    latest = max(writers, key=lambda v: v.active_mono)
    return latest.cols, latest.rows
