"""A session's output as one contiguous stream: scrollback first, then live, no gap, no duplicate.

The order matters. Subscribe first and wait for the daemon to confirm the subscription (the
sync probe), then read the scrollback up to its end, then take live chunks. What to deliver and
when to read is decided by the sans-I/O rules of client/_gapfree.py (shared with attach's
blocking stream); this module is their asyncio driver. Bytes evicted before we could read them
become one `Lost` marker, never silent corruption.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

import zmq

from ptyd.proto import pubsub

from ._exceptions import Timeout
from ._gapfree import GapFree, Item
from ._items import LIVENESS_PROBE_S, Lost

if TYPE_CHECKING:
    from ._async_client import AsyncClient

__all__ = ["LIVENESS_PROBE_S", "Lost", "OutputStream"]

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
        self.rules = GapFree(session, events=events)

    @property
    def position(self) -> int:
        """Offset one past the last byte delivered."""
        return self.rules.position

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
            if sub is None or self.rules.ended is not None:
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
        # The newest event number now (when following): a later heartbeat naming a higher one
        # means we missed events (our queue overflowed), maybe our session's exit among them.
        last_seq = int((await self.client.hello())["last_seq"]) if self.follow else None
        info = await self.client.info(self.session)
        self.rules.start(info, self.offset, last_seq)
        async for item in self._reads():
            yield item

    async def _reads(self) -> AsyncIterator[Item]:
        """Send the reads the rules ask for (a gap to fill), delivering what they give."""
        while (offset := self.rules.next_read()) is not None:
            reply = await self.client.read(self.session, offset, clamp=True)
            for item in self.rules.on_read(reply):
                yield item

    async def _live(self, sub: zmq.asyncio.Socket
                    ) -> AsyncIterator[Item | pubsub.Event | pubsub.Message]:
        rules = self.rules
        while rules.ended is None:
            # Wait without receiving: a recv cancelled by a timeout can take a message with it
            # (when both happen in one loop turn, as after a SIGSTOP/SIGCONT, when every
            # timer has expired at once). A message already queued is taken with no timer and
            # no loop turn at all.
            if not int(sub.getsockopt(zmq.EVENTS)) & zmq.POLLIN and \
                    not await sub.poll(int(LIVENESS_PROBE_S * 1000)):
                # Quiet for a while: is the daemon there (raises DaemonNotRunning if not), and
                # did we miss output while our subscription was reconnecting (an upgrade)?
                await self.client.hello()
                rules.fill_to_end()
            else:
                frames = await sub.recv_multipart(zmq.NOBLOCK)
                for item in rules.on_published(pubsub.decode_published(frames)):
                    yield item
            if rules.next_read() is not None:
                async for chunk in self._reads():
                    yield chunk
