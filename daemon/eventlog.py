"""Recent daemon events with sequence numbers, so a subscriber that missed some can catch up.

Every event gets the next sequence number and the daemon's boot id. Heartbeats are not logged
and take no number: they carry the last number given, so even an idle subscriber notices a gap.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from typing import Any


class EventLog:
    def __init__(self, capacity: int, boot: str | None = None, first_seq: int = 1):
        self.boot = boot or uuid.uuid4().hex
        self.next_seq = first_seq
        self._events: deque[dict[str, Any]] = deque(maxlen=capacity)

    @property
    def last_seq(self) -> int:
        return self.next_seq - 1

    @property
    def first_seq(self) -> int:
        """The oldest sequence number still readable."""
        return self._events[0]["seq"] if self._events else self.next_seq

    def record(self, type_: str, **fields: Any) -> dict[str, Any]:
        event = {"type": type_, "seq": self.next_seq, "boot": self.boot,
                 "time": round(time.time(), 6), **fields}
        self.next_seq += 1
        self._events.append(event)
        return event

    def restore(self, event: dict[str, Any]) -> None:
        """Put back an event of a predecessor (upgrade), keeping its number."""
        self._events.append(event)

    def heartbeat(self, **fields: Any) -> dict[str, Any]:
        return {"type": "heartbeat", "seq": self.last_seq, "boot": self.boot,
                "time": round(time.time(), 6), **fields}

    def since(self, seq: int, limit: int) -> list[dict[str, Any]]:
        """Events with sequence number >= seq (caller checks seq >= first_seq)."""
        start = max(0, seq - self.first_seq)
        return [self._events[i] for i in range(start, min(len(self._events), start + limit))]
