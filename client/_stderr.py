"""The separate stderr of a session spawned with stderr='pipe', as a stream like `output()`.

stderr carries little (errors, warnings), so this stream reads it from the daemon's stderr ring
by offset and uses what is published on the stderr topic only as a wake-up: nothing can be
missed or duplicated whatever the subscription drops, and there is no gap logic to get wrong.
The subscription is confirmed (sync probe) before the first read, so a chunk written between
that read and the subscription taking effect still wakes it; the session's exit event wakes it
for a last read.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import zmq
import zmq.asyncio

from ptyd.proto import pubsub

from ._exceptions import NoSuchSession, RangeEvicted, Timeout
from ._stream import LIVENESS_PROBE_S, Lost

if TYPE_CHECKING:
    from ._async_client import AsyncClient


async def stderr_stream(client: AsyncClient, session: str, offset: int | None, follow: bool
                        ) -> AsyncIterator[pubsub.OutputChunk | Lost]:
    sub = await _subscribe(client, session) if follow else None
    try:
        position = offset
        epoch: int | None = None
        while True:
            reply = None
            while True:  # drain the ring from `position` to its end
                try:
                    reply = await client.read(session, position, stream="stderr")
                except NoSuchSession:
                    return  # removed: its stderr went with it
                except RangeEvicted as e:
                    base = int(e.data["base"])
                    if position is not None:
                        yield Lost(position, base)
                    position = base
                    continue
                if epoch is None:
                    epoch = int(reply["epoch"])
                elif reply["epoch"] != epoch:
                    return  # another session took the name: ours is gone
                data: bytes = reply["data"]
                start = int(reply["offset"])
                position = start + len(data)
                if data:
                    yield pubsub.OutputChunk(session, epoch, start, data, "stderr")
                if position >= int(reply["end"]):
                    break
            if sub is None or reply["status"] == "exited":
                return
            await _woken(client, sub, session, position)
    finally:
        if sub is not None:
            sub.close(linger=0)


async def _subscribe(client: AsyncClient, session: str) -> zmq.asyncio.Socket:
    sub = client.socket(zmq.SUB)  # with the client's CURVE keys, for a remote daemon
    sub.connect(client.endpoints.publish)
    sub.setsockopt(zmq.SUBSCRIBE, pubsub.stderr_topic(session))
    sub.setsockopt(zmq.SUBSCRIBE, pubsub.EVENT_TOPIC)
    token = pubsub.SYNC_PREFIX + os.urandom(8).hex().encode()
    sub.setsockopt(zmq.SUBSCRIBE, token)
    try:
        async with asyncio.timeout(client.timeout):
            while (await sub.recv_multipart())[0] != token:
                pass
    except TimeoutError:
        sub.close(linger=0)
        raise Timeout("the daemon did not confirm the stderr subscription") from None
    sub.setsockopt(zmq.UNSUBSCRIBE, token)
    return sub


async def _woken(client: AsyncClient, sub: zmq.asyncio.Socket, session: str,
                 position: int) -> None:
    """Return when there may be more to read: new stderr, or the session ended or went."""
    while True:
        try:
            async with asyncio.timeout(LIVENESS_PROBE_S):
                frames = await sub.recv_multipart()
        except TimeoutError:
            await client.hello()  # raises DaemonNotRunning if it is gone
            continue
        message = pubsub.decode_published(frames)
        if isinstance(message, pubsub.OutputChunk):
            if message.session == session and message.end > position:
                return
        elif isinstance(message, pubsub.Event) and message.fields.get("session") == session \
                and message.type in ("session.exited", "session.removed"):
            return
