"""A viewer's subscription to the daemon's publish socket, confirmed, with one interface over
two transports.

To the local daemon (ipc, no CURVE) it is a plain unix socket speaking ZMTP (client/_zmtp.py):
the echo of a keystroke wakes the attach process once. With pyzmq, its I/O thread receives the
message and then wakes the application thread: two thread hops per message, measured at about
a third of attach's keystroke latency on a loaded 2-core machine. To a remote daemon (TCP with
CURVE) it is a pyzmq SUB socket, which does the encryption.

Both are read the same way: poll `poll_key` (a socket or fd, for zmq.Poller), then take what
came with `receive()`. When the daemon closes the connection (it re-executes itself: ptyd
upgrade), pyzmq reconnects and subscribes again by itself; the ZMTP subscription does the same
when `reconnect()` is called (attach's loop does, every turn, and polls briefly meanwhile).
Whatever was published while it was away is found by offset and read back from the ring.
"""

from __future__ import annotations

import os
import select
import time
from typing import Any

import zmq

from ptyd.client import Timeout
from ptyd.client.wire import Wire, ZmtpError, ZmtpStream, readable
from ptyd.proto import pubsub

RECONNECT_S = 0.02
"""How often to try again while the daemon is away (pyzmq's RECONNECT_IVL, as set for it)."""
HANDSHAKE_TIMEOUT_S = 2.0
_NOBLOCK = int(zmq.NOBLOCK)


def direct_path(wire: Wire, endpoint: str) -> str | None:
    """The unix socket path attach may speak ZMTP to itself: a local daemon's ipc endpoint
    without CURVE (a remote one needs pyzmq for the encryption); None otherwise."""
    if endpoint.startswith("ipc://") and wire.curve is None:
        return endpoint.removeprefix("ipc://")
    return None


class ZmqSubscription:
    """A pyzmq SUB socket (any transport, CURVE included)."""

    def __init__(self, sock: zmq.Socket[bytes]):
        self.sock = sock

    @property
    def poll_key(self) -> Any:
        return self.sock

    def receive(self, limit: int) -> list[list[bytes]]:
        messages: list[list[bytes]] = []
        while len(messages) < limit and readable(self.sock):
            messages.append(self.sock.recv_multipart(_NOBLOCK))
        return messages

    def pending(self) -> bool:
        """zmq.Poller reports a socket that still holds messages: nothing to add."""
        return False

    def reconnect(self) -> None:
        """ZeroMQ reconnects (and subscribes again) by itself."""

    @property
    def broken(self) -> bool:
        return False

    def close(self) -> None:
        self.sock.close(linger=0)


class ZmtpSubscription:
    """A unix socket to the local daemon's XPUB, no I/O thread (see the module docstring)."""

    def __init__(self, path: str, topics: tuple[bytes, ...]):
        self.path = path
        self.topics = topics
        self.sub: ZmtpStream | None = None
        self._full = False
        self._next_try = 0.0

    def connect(self, timeout: float) -> None:
        self.sub = ZmtpStream(self.path, timeout, b"SUB", b"XPUB")
        for topic in self.topics:
            self.sub.subscribe(topic)

    @property
    def poll_key(self) -> Any:
        return self.sub.fileno() if self.sub is not None else None

    @property
    def broken(self) -> bool:
        return self.sub is None

    def receive(self, limit: int) -> list[list[bytes]]:
        if self.sub is None:
            return []
        try:
            messages = self.sub.receive(limit)
        except OSError:  # the daemon went away (or is re-executing): try again later
            self.close()
            return []
        self._full = len(messages) == limit
        return messages

    def pending(self) -> bool:
        """A batch was cut at its limit: more may wait in our buffer, where poll cannot see."""
        return self._full

    def reconnect(self) -> None:
        if self.sub is not None or time.monotonic() < self._next_try:
            return
        self._next_try = time.monotonic() + RECONNECT_S
        try:
            self.connect(HANDSHAKE_TIMEOUT_S)
        except (OSError, ZmtpError):
            self.close()

    def close(self) -> None:
        if self.sub is not None:
            self.sub.close()
            self.sub = None
        self._full = False


Subscription = ZmqSubscription | ZmtpSubscription


def subscribe(wire: Wire, topics: tuple[bytes, ...]) -> Subscription:
    """Subscribe to `topics` and wait until the daemon confirms it (the sync probe); messages
    before the confirmation are dropped (the caller reads the ring from there)."""
    token = pubsub.SYNC_PREFIX + os.urandom(8).hex().encode()
    deadline = time.monotonic() + wire.timeout
    publish = wire.endpoints.publish
    sub: Subscription
    if (path := direct_path(wire, publish)) is not None:
        sub = ZmtpSubscription(path, topics)
        sub.connect(wire.timeout)
        assert sub.sub is not None
        sub.sub.subscribe(token)
        while not _confirmed(sub, token):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([sub.sub.fileno()], [], [], left)[0]:
                sub.close()
                raise Timeout("the daemon did not confirm the output subscription")
        sub.sub.unsubscribe(token)
        return sub
    sock = wire.socket(zmq.SUB)
    sock.setsockopt(zmq.RECONNECT_IVL, int(RECONNECT_S * 1000))  # back quickly after an upgrade
    # A modest queue: while we are slow (or stopped) the daemon drops rather than queues,
    # and the gap is filled from the ring when we go on.
    sock.setsockopt(zmq.RCVHWM, 1000)
    sock.connect(publish)
    for topic in (*topics, token):
        sock.setsockopt(zmq.SUBSCRIBE, topic)
    sub = ZmqSubscription(sock)
    while not _confirmed(sub, token):
        if not sock.poll(max(0, int((deadline - time.monotonic()) * 1000))):
            sub.close()
            raise Timeout("the daemon did not confirm the output subscription")
    sock.setsockopt(zmq.UNSUBSCRIBE, token)
    return sub


def _confirmed(sub: Subscription, token: bytes) -> bool:
    if isinstance(sub, ZmtpSubscription) and sub.sub is None:
        raise Timeout("the daemon closed the connection before confirming the subscription")
    # One message at a time: what comes after the confirmation stays queued for the stream.
    return any(frames[0] == token for frames in sub.receive(1))
