"""A session's output as one contiguous stream: scrollback first, then live, no gap, no duplicate.

The order matters. Subscribe first and wait for the daemon to confirm the subscription (the
sync probe), then read the scrollback up to its end, then take live chunks: a chunk that ends
at or before what was already delivered is dropped, one that overlaps is trimmed, and one that
starts past it reveals a gap (the daemon dropped for us when we were slow), which is filled from
the scrollback with `read`. Bytes evicted before we could read them become one `Lost` marker,
never silent corruption.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

import zmq

from ptyd.proto import pubsub

from ._exceptions import RangeEvicted, Timeout
from ._items import LIVENESS_PROBE_S, Lost

if TYPE_CHECKING:
    from ._async_client import AsyncClient

__all__ = ["LIVENESS_PROBE_S", "Lost", "OutputStream"]

Item = pubsub.OutputChunk | Lost
Prepare = Callable[[], Awaitable[int | None]]


class OutputStream:
    """The iterator behind `AsyncClient.output`, with two hooks for richer consumers (attach):

    `topics`: more topics to subscribe to before the sync probe; with `events=True`, events and
    other messages on those topics are yielded too (as `pubsub.Event` / `pubsub.Message`).
    `prepare`: awaited once the subscription is confirmed and before the backlog is read; it
    may return the offset to start from (for example after registering a viewer).
    """

    def __init__(self, client: AsyncClient, session: str, offset: int | None, follow: bool, *,
                 topics: tuple[bytes, ...] = (), events: bool = False,
                 prepare: Prepare | None = None):
        self.client = client
        self.session = session
        self.offset = offset
        self.follow = follow
        self.topics = topics
        self.events = events
        self.prepare = prepare
        self.epoch: int | None = None
        self.position: int | None = None
        """Offset one past the last byte delivered."""

    def __aiter__(self) -> AsyncIterator[Item | pubsub.Event | pubsub.Message]:
        return self._run()

    async def _run(self) -> AsyncIterator[Item | pubsub.Event | pubsub.Message]:
        sub = await self._subscribe() if self.follow else None
        try:
            if self.prepare is not None:
                start = await self.prepare()
                if start is not None:
                    self.offset = start
            async for item in self._backlog():
                yield item
            if sub is None or self._exited:
                return
            async for message in self._live(sub):
                yield message
        finally:
            if sub is not None:
                sub.close(linger=0)

    async def _subscribe(self) -> zmq.asyncio.Socket:
        sub = self.client.socket(zmq.SUB)
        sub.setsockopt(zmq.RECONNECT_IVL, 20)  # back quickly after a daemon upgrade
        # A modest queue: a consumer that stops iterating loses messages rather than memory,
        # and the stream fills the gap from the ring when it goes on.
        sub.setsockopt(zmq.RCVHWM, 1000)
        sub.connect(self.client.endpoints.publish)
        sub.setsockopt(zmq.SUBSCRIBE, pubsub.output_topic(self.session))
        sub.setsockopt(zmq.SUBSCRIBE, pubsub.EVENT_TOPIC)
        for topic in self.topics:
            sub.setsockopt(zmq.SUBSCRIBE, topic)
        token = pubsub.SYNC_PREFIX + os.urandom(8).hex().encode()
        sub.setsockopt(zmq.SUBSCRIBE, token)
        try:
            async with asyncio.timeout(self.client.timeout):
                while (await sub.recv_multipart())[0] != token:
                    pass  # anything before the sync reply is also covered by the backlog read
        except TimeoutError:
            sub.close(linger=0)
            raise Timeout("the daemon did not confirm the output subscription") from None
        sub.setsockopt(zmq.UNSUBSCRIBE, token)
        return sub

    async def _backlog(self) -> AsyncIterator[Item]:
        if self.follow:
            # The newest event number now: a later heartbeat naming a higher one means we
            # missed events (our queue overflowed), maybe our session's exit among them.
            self._last_seq = int((await self.client.hello())["last_seq"])
        info = await self.client.info(self.session)
        self.epoch = info["epoch"]
        start = info["base"] if self.offset is None else self.offset
        self._exited = info["status"] == "exited"
        self.position = start
        async for item in self._fill(None):
            yield item

    async def _fill(self, stop: int | None) -> AsyncIterator[Item]:
        """Deliver scrollback from `self.position` up to `stop` (None: up to the current end)."""
        assert self.position is not None
        while stop is None or self.position < stop:
            try:
                reply = await self.client.read(self.session, self.position)
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

    async def _live(self, sub: zmq.asyncio.Socket
                    ) -> AsyncIterator[Item | pubsub.Event | pubsub.Message]:
        assert self.position is not None
        while True:
            # Wait without receiving: a recv cancelled by a timeout can take a message with it
            # (when both happen in one loop turn, as after a SIGSTOP/SIGCONT, when every
            # timer has expired at once). A message already queued is taken with no timer and
            # no loop turn at all.
            if not int(sub.getsockopt(zmq.EVENTS)) & zmq.POLLIN and \
                    not await sub.poll(int(LIVENESS_PROBE_S * 1000)):
                # Quiet for a while: is the daemon there (raises DaemonNotRunning if not), and
                # did we miss output while our subscription was reconnecting (an upgrade)?
                await self.client.hello()
                async for item in self._fill(None):
                    yield item
                if self._exited:
                    return
                continue
            frames = await sub.recv_multipart(zmq.NOBLOCK)
            message = pubsub.decode_published(frames)
            if isinstance(message, pubsub.OutputChunk):
                if message.session != self.session or message.end <= self.position:
                    continue
                if message.epoch != self.epoch:
                    return
                if message.offset > self.position:
                    async for item in self._fill(message.offset):
                        yield item
                    if self._exited:
                        return
                    if message.end <= self.position:  # the fill skipped past an eviction
                        continue
                data = message.data[self.position - message.offset:]
                yield pubsub.OutputChunk(self.session, message.epoch, self.position, data)
                self.position = message.end
            elif isinstance(message, pubsub.Message):
                if self.events:
                    yield message
            elif isinstance(message, pubsub.Event):
                if message.type == "heartbeat":
                    # A heartbeat names the last event number: if we have not seen that one,
                    # messages were dropped for us (we were slow) and may have included our
                    # last output and our session's exit. Catch up from the ring.
                    missed = self._last_seq is not None and message.seq > self._last_seq
                    self._last_seq = message.seq
                    if missed:
                        async for item in self._fill(None):
                            yield item
                        if self._exited:
                            return
                    continue
                self._last_seq = message.seq
                if self.events:
                    yield message
                if message.fields.get("session") != self.session:
                    continue
                if message.type == "session.exited":
                    # Output is published before the exit event; read whatever we missed.
                    async for item in self._fill(None):
                        yield item
                    return
                if message.type == "session.removed":
                    return

    _exited = False
    _last_seq: int | None = None
