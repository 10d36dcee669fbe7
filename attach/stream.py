"""A session's output for an attached viewer, blocking and gap-free, on a Wire (no event loop).

The same rules as the library's OutputStream (client/_stream.py), which serves asyncio callers:
subscribe first and wait for the daemon to confirm the subscription (the sync probe), then read
the scrollback from where the viewer starts, then take live chunks: a chunk that ends at or
before what was delivered is dropped, one that overlaps is trimmed, and one that starts past
it reveals a gap (the daemon dropped for us when we were slow, or we were stopped), filled from
the scrollback with `read`. Bytes evicted before they could be read become one `Lost` marker.
A heartbeat naming an event we never saw means our queue overflowed: catch up from the ring.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator

from ptyd.client import RangeEvicted
from ptyd.client.wire import LIVENESS_PROBE_S, Lost, Wire
from ptyd.proto import pubsub

from .subscription import Subscription, subscribe

__all__ = ["LIVENESS_PROBE_S", "Ended", "Item", "LiveStream"]

Item = pubsub.OutputChunk | Lost
RECEIVE_BATCH = 256
"""Messages taken from the SUB socket per loop turn, so typing is never starved by output."""


class Ended(enum.Enum):
    EXITED = "exited"
    """The session exited, was removed, or its name now belongs to another session."""
    DETACHED = "detached"
    """`ptyd detach` (or another viewer's request) sent this viewer away."""


class LiveStream:
    def __init__(self, wire: Wire, session: str, *, topics: tuple[bytes, ...] = ()):
        self.wire = wire
        self.session = session
        self.topics = topics
        self.sub: Subscription | None = None
        self.epoch: int | None = None
        self.position = 0
        """Offset one past the last byte delivered."""
        self.ended: Ended | None = None
        self._exited = False
        self._last_seq: int | None = None

    def start(self, prepare: Callable[[], int | None]) -> None:
        """Subscribe and confirm; then `prepare()` (which may name the offset to start from,
        default the oldest byte held); then learn where the stream stands."""
        self.sub = subscribe(self.wire, (pubsub.output_topic(self.session),
                                         pubsub.EVENT_TOPIC, *self.topics))
        start = prepare()
        # The newest event number now: a later heartbeat naming a higher one means we missed
        # events (our queue overflowed), maybe our session's exit among them.
        self._last_seq = int(self.wire.request("hello", {"client": self.wire.client_name}
                                               )["last_seq"])
        info = self.wire.request("info", {"session": self.session})
        self.epoch = info["epoch"]
        self._exited = info["status"] == "exited"
        self.position = int(info["base"]) if start is None else start

    def close(self) -> None:
        if self.sub is not None:
            self.sub.close()
            self.sub = None

    def backlog(self) -> Iterator[Item]:
        """The scrollback from the start up to its end now."""
        yield from self._fill(None)
        if self._exited:
            self.ended = Ended.EXITED

    def probe(self) -> Iterator[Item]:
        """Quiet for a while: is the daemon there (DaemonNotRunning if not), and did we miss
        output while our subscription was reconnecting (an upgrade)?"""
        self.wire.request("hello", {"client": self.wire.client_name})
        yield from self._fill(None)
        if self._exited:
            self.ended = Ended.EXITED

    def _fill(self, stop: int | None) -> Iterator[Item]:
        """Deliver scrollback from `self.position` up to `stop` (None: up to the current end)."""
        while stop is None or self.position < stop:
            try:
                reply = self.wire.request("read", {"session": self.session,
                                                   "offset": self.position})
            except RangeEvicted as e:
                base = int(e.data["base"])
                yield Lost(self.position, base)
                self.position = base
                continue
            if reply["epoch"] != self.epoch:
                self._exited = True  # another session took this name: ours is gone
                return
            data: bytes = reply["data"]
            if stop is not None:
                data = data[: stop - self.position]
            if data:
                yield pubsub.OutputChunk(self.session, reply["epoch"], self.position, data)
                self.position += len(data)
            if self.position >= reply["end"]:
                self._exited = reply["status"] == "exited"
                return

    def receive(self) -> Iterator[Item]:
        """What the SUB socket holds now (a bounded batch), turned into the next items."""
        assert self.sub is not None
        for frames in self.sub.receive(RECEIVE_BATCH):
            if self.ended is not None:
                return
            yield from self._handle(pubsub.decode_published(frames))

    def _handle(self, message: pubsub.OutputChunk | pubsub.Event | pubsub.Message | None
                ) -> Iterator[Item]:
        if isinstance(message, pubsub.OutputChunk):
            if message.session != self.session or message.end <= self.position:
                return
            if message.epoch != self.epoch:
                self.ended = Ended.EXITED
                return
            if message.offset > self.position:
                yield from self._fill(message.offset)
                if self._exited:
                    self.ended = Ended.EXITED
                    return
                if message.end <= self.position:  # the fill skipped past an eviction
                    return
            data = message.data[self.position - message.offset:]
            yield pubsub.OutputChunk(self.session, message.epoch, self.position, data)
            self.position = message.end
        elif isinstance(message, pubsub.Message):
            if message.type == "detach":
                self.ended = Ended.DETACHED
        elif isinstance(message, pubsub.Event):
            if message.type == "heartbeat":
                # A heartbeat names the last event number: if we have not seen that one,
                # messages were dropped for us (we were slow) and may have included our last
                # output and our session's exit. Catch up from the ring.
                missed = self._last_seq is not None and message.seq > self._last_seq
                self._last_seq = message.seq
                if missed:
                    yield from self._fill(None)
                    if self._exited:
                        self.ended = Ended.EXITED
                return
            self._last_seq = message.seq
            if message.fields.get("session") != self.session:
                return
            if message.type == "session.exited":
                # Output is published before the exit event; read whatever we missed.
                yield from self._fill(None)
                self.ended = Ended.EXITED
            elif message.type == "session.removed":
                self.ended = Ended.EXITED
