"""A session's output for an attached viewer, blocking and gap-free, on a Wire (no event loop).

The rules are the library's (client/_gapfree.py, protocol §9.1), shared with the asyncio
OutputStream; this is their blocking driver: subscribe first and wait for the daemon to confirm
the subscription (the sync probe), then read the scrollback from where the viewer starts, then
take live chunks in bounded batches, sending each `read` the rules ask for (a gap to fill) and
waiting for its reply before the next message.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import zmq

from ptyd.client import Timeout
from ptyd.client.gapfree import Ended, GapFree, Item
from ptyd.client.wire import LIVENESS_PROBE_S, Wire, readable
from ptyd.proto import pubsub

__all__ = ["LIVENESS_PROBE_S", "Ended", "Item", "LiveStream"]

RECEIVE_BATCH = 256
"""Messages taken from the SUB socket per loop turn, so typing is never starved by output."""


class LiveStream:
    def __init__(self, wire: Wire, session: str, *, topics: tuple[bytes, ...] = ()):
        self.wire = wire
        self.session = session
        self.topics = topics
        self.sub: zmq.Socket[bytes] | None = None
        self.rules = GapFree(session)

    @property
    def ended(self) -> Ended | None:
        return self.rules.ended

    def start(self, prepare: Callable[[], int | None]) -> None:
        """Subscribe and confirm; then `prepare()` (which may name the offset to start from,
        default the oldest byte held); then learn where the stream stands."""
        self.sub = self._subscribe()
        start = prepare()
        # The newest event number now: a later heartbeat naming a higher one means we missed
        # events (our queue overflowed), maybe our session's exit among them.
        last_seq = int(self.wire.request("hello", {"client": self.wire.client_name}
                                         )["last_seq"])
        self.rules.start(self.wire.request("info", {"session": self.session}), start, last_seq)

    def close(self) -> None:
        if self.sub is not None:
            self.sub.close(linger=0)
            self.sub = None

    def _subscribe(self) -> zmq.Socket[bytes]:
        sub = self.wire.socket(zmq.SUB)
        sub.setsockopt(zmq.RECONNECT_IVL, 20)  # back quickly after a daemon upgrade
        # A modest queue: while we are slow (or stopped) the daemon drops rather than queues,
        # and the gap is filled from the ring when we go on.
        sub.setsockopt(zmq.RCVHWM, 1000)
        sub.connect(self.wire.endpoints.publish)
        for topic in (pubsub.output_topic(self.session), pubsub.EVENT_TOPIC, *self.topics):
            sub.setsockopt(zmq.SUBSCRIBE, topic)
        token = pubsub.SYNC_PREFIX + os.urandom(8).hex().encode()
        sub.setsockopt(zmq.SUBSCRIBE, token)
        deadline = time.monotonic() + self.wire.timeout
        while True:
            wait_ms = max(0, int((deadline - time.monotonic()) * 1000))
            if not sub.poll(wait_ms):
                sub.close(linger=0)
                raise Timeout("the daemon did not confirm the output subscription")
            if sub.recv_multipart()[0] == token:
                break  # anything before the sync reply is also covered by the backlog read
        sub.setsockopt(zmq.UNSUBSCRIBE, token)
        return sub

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
        """What the SUB socket holds now (a bounded batch), turned into the next items."""
        assert self.sub is not None
        for _ in range(RECEIVE_BATCH):
            if self.ended is not None or not readable(self.sub):
                return
            frames = self.sub.recv_multipart(zmq.NOBLOCK)
            for item in self.rules.on_published(pubsub.decode_published(frames)):
                assert not isinstance(item, pubsub.Event | pubsub.Message)  # events=False
                yield item
            yield from self._reads()
