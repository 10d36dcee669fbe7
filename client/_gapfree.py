"""The rules of a gap-free output stream (docs/protocol.md §9.1) with no I/O at all.

One implementation of the rules, two drivers: the library's asyncio `OutputStream`
(client/_stream.py) and attach's blocking poll loop (attach/stream.py). A driver hands the
machine what arrived (a published message, a `read` reply) and gets back what to deliver;
between the two it asks `next_read()` whether a `read` is due and sends it. The rules:

- a chunk that ends at or before what was delivered is dropped, one that overlaps is trimmed;
- one that starts past it reveals a gap (the daemon dropped for us: we were slow, or stopped):
  the gap is filled from the scrollback with `read`, then the chunk goes on from there;
- reads use `clamp: true`: bytes evicted before they could be read come back as one `Lost`
  marker, at once. (Retrying `range_evicted` from its `base` can chase a ring that a flood
  turns over faster than a read goes round, and never see a byte.)
- a heartbeat naming an event we never saw means our queue overflowed: read up to the end;
- the first heartbeat after a burst of output (none came since the previous heartbeat) also
  reads up to the end, once: the burst's last chunks may have been dropped for us (a queue
  full while we were slow or stopped), and no later chunk would ever show that gap. A viewer
  frozen during a flood sat behind the end forever without this, heartbeats and all;
- the session's exit: read up to the end (output is published before the event), then end.
"""

from __future__ import annotations

import enum
from typing import Any

from ptyd.proto import pubsub

from ._items import Lost

__all__ = ["Ended", "GapFree", "Item", "Published"]

Item = pubsub.OutputChunk | Lost
Published = pubsub.OutputChunk | pubsub.Event | pubsub.Message


class Ended(enum.Enum):
    EXITED = "exited"
    """The session exited, was removed, or its name now belongs to another session."""
    DETACHED = "detached"
    """`ptyd detach` (or another viewer's request) sent this viewer away (its topic's message)."""


class _ToEnd:
    """A fill up to wherever the scrollback ends when the read reply comes."""


TO_END = _ToEnd()


class GapFree:
    """One stream's state: where it stands, and the fill under way (if any).

    `events`: also pass the events and messages on the stream's topics through (after their
    effect on the stream)."""

    def __init__(self, session: str, *, events: bool = False):
        self.session = session
        self.events = events
        self.epoch: int | None = None
        self.position = 0
        """Offset one past the last byte delivered."""
        self.ended: Ended | None = None
        self.exited = False
        """The last read said the session has exited (its stream is complete once read)."""
        self.last_seq: int | None = None
        """The newest event number seen: a heartbeat naming a higher one shows a gap."""
        self._fill: int | _ToEnd | None = None
        """Where the fill under way stops: an offset, TO_END, or None (no fill)."""
        self._then: pubsub.OutputChunk | None = None
        """The live chunk that revealed the gap, delivered once the fill reached it."""
        self._end_after_fill = False
        """End once the fill is done, whatever the last read said (the session's exit event)."""
        self._output_since_heartbeat = False
        self._unconfirmed = False
        """Output came since the last read up to the end: its last chunks may have been dropped."""

    def start(self, info: dict[str, Any], offset: int | None, last_seq: int | None) -> None:
        """From an `info` reply, the offset to start from (None: the oldest byte held) and
        the newest event number when subscribed (None: not following); the backlog read is
        then due."""
        self.epoch = int(info["epoch"])
        self.exited = info["status"] == "exited"
        self.position = int(info["base"]) if offset is None else offset
        self.last_seq = last_seq
        self.fill_to_end()

    def fill_to_end(self) -> None:
        """Read up to the current end (the backlog; a quiet spell: did we miss output while
        reconnecting?); the stream ends there if the session has exited by then."""
        self._fill = TO_END  # a chunk waiting for a shorter fill is trimmed or dropped after

    def next_read(self) -> int | None:
        """The offset of the `read` (with clamp) the driver should send now, if any."""
        return None if self._fill is None or self.ended is not None else self.position

    def on_read(self, reply: dict[str, Any]) -> list[Item]:
        """A reply to the read `next_read()` asked for."""
        items: list[Item] = []
        epoch = int(reply["epoch"])
        if epoch != self.epoch:
            self._finish_fill(items, exited=True)  # another session took this name: ours is gone
            return items
        start, data = int(reply["offset"]), reply["data"]
        stop = self._fill if isinstance(self._fill, int) else None
        if start > self.position:  # evicted before we could read it
            lost_end = start if stop is None else min(start, stop)
            items.append(Lost(self.position, lost_end))
            self.position = lost_end
        if stop is not None:
            data = data[: max(0, stop - start)]
        data = data[max(0, self.position - start):]
        if data:
            items.append(pubsub.OutputChunk(self.session, epoch, self.position, data))
            self.position += len(data)
        at_end = self.position >= int(reply["end"])
        if at_end:
            self.exited = reply["status"] == "exited"
        if (stop is not None and self.position >= stop) or at_end:
            self._finish_fill(items, exited=self.exited)
        return items

    def _finish_fill(self, items: list[Item], exited: bool) -> None:
        if self._fill is TO_END:
            self._unconfirmed = False  # we hold everything published until this reply
        self._fill = None
        if exited or self._end_after_fill:
            self.exited = True
        if self.exited:
            self.ended = Ended.EXITED
        chunk, self._then = self._then, None
        if chunk is not None and self.ended is None:
            items.extend(self._deliver(chunk))

    def _deliver(self, chunk: pubsub.OutputChunk) -> list[Item]:
        if chunk.end <= self.position:  # already delivered (or skipped past an eviction)
            return []
        data = chunk.data[self.position - chunk.offset:] if chunk.offset < self.position \
            else chunk.data
        self.position = chunk.end
        return [pubsub.OutputChunk(self.session, chunk.epoch, chunk.end - len(data), data)]

    def on_published(self, message: Published | None) -> list[Item | pubsub.Event |
                                                               pubsub.Message]:
        """A message from the SUB socket (None: not one of ours). Call only while no fill is
        under way (`next_read()` is None): drivers finish a fill before taking the next."""
        if self.ended is not None:
            return []
        if isinstance(message, pubsub.OutputChunk):
            if message.session != self.session:
                return []
            self._output_since_heartbeat = self._unconfirmed = True
            if message.end <= self.position:
                return []
            if message.epoch != self.epoch:
                self.ended = Ended.EXITED
                return []
            if message.offset > self.position:  # dropped for us: fill the gap first
                self._fill, self._then = message.offset, message
                return []
            return list(self._deliver(message))
        if isinstance(message, pubsub.Message):
            if message.type == "detach":
                self.ended = Ended.DETACHED
            return [message] if self.events else []
        if not isinstance(message, pubsub.Event):
            return []
        if message.type == "heartbeat":
            # A heartbeat names the last event number: if we have not seen that one, messages
            # were dropped for us (we were slow) and may have included our last output and
            # our session's exit. Catch up from the ring.
            missed = self.last_seq is not None and message.seq > self.last_seq
            # Output went quiet after a burst: did its tail reach us?
            if missed or (self._unconfirmed and not self._output_since_heartbeat):
                self.fill_to_end()
            self._output_since_heartbeat = False
            self.last_seq = message.seq
            return []
        self.last_seq = message.seq
        out: list[Item | pubsub.Event | pubsub.Message] = [message] if self.events else []
        if message.fields.get("session") == self.session:
            if message.type == "session.exited":
                # Output is published before the exit event; read whatever we missed, then end.
                self._end_after_fill = True
                self.fill_to_end()
            elif message.type == "session.removed":
                self.ended = Ended.EXITED
        return out
