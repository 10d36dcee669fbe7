"""How many reply bytes ZeroMQ still holds for each peer, so a client that never reads cannot
make the daemon grow without bound.

A ROUTER queues replies per peer and never says how many bytes it holds. Large replies are
therefore sent zero-copy with a `zmq.MessageTracker`, which is done once libzmq released the
frame (written to the kernel, or dropped with a departed peer): the bytes of the unfinished
ones, per peer and in total, are exactly what the daemon holds for slow readers. A reply that
would go over either budget is replaced by a small `limit_exceeded` error; `read` asks for the
room first and shortens its slice to fit. Small replies are not tracked (pyzmq copies frames
under its `copy_threshold` and a tracker costs ~50 µs): the socket's send high-water mark
(messages per peer) bounds them.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import zmq

from ptyd.proto.errors import ErrorCode, ProtocolError
from ptyd.proto.limits import (
    MAX_PEER_QUEUED_REPLY_BYTES,
    MAX_QUEUED_REPLY_BYTES,
    MIN_REPLY_ROOM_BYTES,
    TRACKED_REPLY_BYTES,
)

FLOOR_REPLIES = 4
"""So one connection can hold at most this many `min_room_bytes` replies past the budgets."""

REPLY_OVERHEAD_BYTES = 1024
"""What a `read` reply carries besides its data (the other fields, msgpack framing)."""


class ReplyBudget:
    def __init__(self, max_peer_bytes: int = MAX_PEER_QUEUED_REPLY_BYTES,
                 max_total_bytes: int = MAX_QUEUED_REPLY_BYTES,
                 min_room_bytes: int = MIN_REPLY_ROOM_BYTES):
        self.max_peer_bytes = max_peer_bytes
        self.max_total_bytes = max_total_bytes
        self.min_room_bytes = min_room_bytes
        self.total = 0
        self._queued: dict[bytes, deque[tuple[zmq.MessageTracker, int]]] = {}
        self._peer_bytes: dict[bytes, int] = {}

    def queued(self, peer: bytes) -> int:
        """Tracked reply bytes libzmq still holds for `peer`."""
        self._release(peer)
        return self._peer_bytes.get(peer, 0)

    def room(self, peer: bytes) -> int:
        """Bytes a reply to `peer` may carry now. A peer with fewer than FLOOR_REPLIES large
        replies queued always gets `min_room_bytes`, so a reading client makes progress while
        stalled ones hold the total (its last replies may still count as queued: a tracker
        learns that its frame left a little later, from pyzmq's gc thread, which needs the
        GIL); a peer further behind gets nothing past the budgets."""
        mine = self.queued(peer)
        if self.total + self.max_peer_bytes > self.max_total_bytes:
            self.release_all()  # the total is near its cap: count what has left since
        room = min(self.max_peer_bytes - mine, self.max_total_bytes - self.total)
        if len(self._queued.get(peer, ())) < FLOOR_REPLIES:
            room = max(room, self.min_room_bytes)
        return max(room, 0)

    def refusal(self, peer: bytes, size: int) -> ProtocolError | None:
        """The error that replaces a reply of `size` bytes that does not fit, or None."""
        if size < TRACKED_REPLY_BYTES or size <= self.room(peer):
            return None
        return self.exceeded(peer, size)

    def exceeded(self, peer: bytes, size: int) -> ProtocolError:
        mine = self._peer_bytes.get(peer, 0)
        which = ("max_peer_queued_reply_bytes" if mine + size > self.max_peer_bytes
                 else "max_queued_reply_bytes")
        return ProtocolError(
            ErrorCode.LIMIT_EXCEEDED,
            f"a reply of {size} bytes would go over {which} ({mine} bytes of replies to you "
            f"and {self.total} in all are still queued): read your replies, then retry",
            {"limit": which, "size": size, "queued": mine, "total_queued": self.total,
             "max": self.max_peer_bytes if which.startswith("max_peer") else
             self.max_total_bytes})

    def send(self, sock: zmq.Socket[bytes], peer: bytes, frames: list[Any]) -> None:
        """Send without waiting; a large last frame goes zero-copy and is counted until
        libzmq lets go of it. Raises what `send_multipart` raises (zmq.Again, ...)."""
        size = len(frames[-1])
        if size < TRACKED_REPLY_BYTES:
            sock.send_multipart(frames, flags=zmq.NOBLOCK)
            return
        # copy=False: libzmq references our bytes object and frees it when the frame leaves;
        # track=True: the MessageTracker tells us when that happened (pyzmq's gc thread).
        body = zmq.Frame(frames[-1], copy=False, track=True)
        sock.send_multipart([*frames[:-1], body], flags=zmq.NOBLOCK, copy=False)
        tracker = body.tracker
        if tracker is None or tracker.done:
            return
        self._queued.setdefault(peer, deque()).append((tracker, size))
        self._peer_bytes[peer] = self._peer_bytes.get(peer, 0) + size
        self.total += size

    def _release(self, peer: bytes) -> None:
        queue = self._queued.get(peer)
        if queue is None:
            return
        # A peer's frames leave in the order they were queued: finished ones are at the left.
        while queue and queue[0][0].done:
            _, size = queue.popleft()
            self._peer_bytes[peer] -= size
            self.total -= size
        if not queue:
            del self._queued[peer]
            del self._peer_bytes[peer]

    def release_all(self) -> None:
        for peer in list(self._queued):
            self._release(peer)
