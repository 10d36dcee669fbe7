"""A session's output for an attached viewer, blocking and gap-free, on a Wire (no event loop).

The rules are the library's (client/_gapfree.py, protocol §9.1), shared with the asyncio
OutputStream; this is their blocking driver: subscribe first and wait for the daemon to confirm
the subscription (the sync probe), then read the scrollback from where the viewer starts, then
take live chunks in bounded batches, sending each `read` the rules ask for (a gap to fill) and
waiting for its reply before the next message. The subscription itself is attach/subscription.py's
(ZMTP read by attach itself on a local daemon, pyzmq for a remote one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ptyd.client.gapfree import Ended, GapFree, Item
from ptyd.client.wire import LIVENESS_PROBE_S, Wire
from ptyd.proto import pubsub

from .subscription import Subscription, subscribe

__all__ = ["LIVENESS_PROBE_S", "Ended", "Item", "LiveStream"]

RECEIVE_BATCH = 256
"""Messages taken from the SUB socket per loop turn, so typing is never starved by output."""


class LiveStream:
    def __init__(self, wire: Wire, session: str, *, topics: tuple[bytes, ...] = ()):
        self.wire = wire
        self.session = session
        self.topics = topics
        self.sub: Subscription | None = None
        self.rules = GapFree(session)

    @property
    def ended(self) -> Ended | None:
        return self.rules.ended

    @property
    def position(self) -> int:
        """Offset one past the last byte delivered."""
        return self.rules.position

    def start(self, prepare: Callable[[], int | None]) -> None:
        """Subscribe and confirm; then `prepare()` (which may name the offset to start from,
        default the oldest byte held); then learn where the stream stands."""
        self.sub = subscribe(self.wire, (pubsub.output_topic(self.session),
                                         pubsub.EVENT_TOPIC, *self.topics))
        start = prepare()
        # The newest event number now: a later heartbeat naming a higher one means we missed
        # events (our queue overflowed), maybe our session's exit among them.
        last_seq = int(self.wire.request("hello", {"client": self.wire.client_name}
                                         )["last_seq"])
        self.rules.start(self.wire.request("info", {"session": self.session}), start, last_seq)

    def close(self) -> None:
        if self.sub is not None:
            self.sub.close()
            self.sub = None

    def backlog(self) -> Iterator[Item]:
        """The scrollback from the start up to its end now."""
        return self._reads()

    def probe(self) -> Iterator[Item]:
        """Quiet for a while: is the daemon there (DaemonNotRunning if not), and did we miss
        output while our subscription was reconnecting (an upgrade)?"""
        self.wire.request("hello", {"client": self.wire.client_name})
        self.rules.fill_to_end()
        return self._reads()

    def _reads(self) -> Iterator[Item]:
        """Send the reads the rules ask for (a gap to fill), delivering what they give."""
        while (offset := self.rules.next_read()) is not None:
            reply = self.wire.request("read", {"session": self.session, "offset": offset,
                                               "clamp": True})
            yield from self.rules.on_read(reply)

    def receive(self) -> Iterator[Item]:
        """What the subscription holds now (a bounded batch), turned into the next items."""
        assert self.sub is not None
        for frames in self.sub.receive(RECEIVE_BATCH):
            if self.ended is not None:
                return
            for item in self.rules.on_published(pubsub.decode_published(frames)):
                assert not isinstance(item, pubsub.Event | pubsub.Message)  # events=False
                yield item
            yield from self._reads()
