"""A pair of sockets clients reach the daemon on: the local ipc pair, or a remote tcp pair
secured with CURVE. ZeroMQ's security mechanism is per socket, not per endpoint, which is why a
remote pair is a second pair of sockets and not more endpoints on the local ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import zmq
import zmq.asyncio

if TYPE_CHECKING:
    from zmq.auth.asyncio import AsyncioAuthenticator

from ptyd.proto.limits import CONTROL_SNDHWM


@dataclass(eq=False)
class Listener:
    name: str
    control: zmq.asyncio.Socket
    publish: zmq.asyncio.Socket
    control_send: zmq.Socket[bytes] | None = None
    publish_send: zmq.Socket[bytes] | None = None
    fds: list[int] = field(default_factory=list)
    """ZeroMQ's notification fds of both sockets, watched by the event loop."""
    authenticator: AsyncioAuthenticator | None = None
    """The remote pair's ZAP authenticator (CURVE client keys), which lives as long as it."""

    def __post_init__(self) -> None:
        # Plain (non-asyncio) views of the same sockets for non-blocking sends: a send never
        # waits, and skipping the future per message keeps publishing cheap.
        self.control_send = zmq.Socket.shadow(self.control.underlying)
        self.publish_send = zmq.Socket.shadow(self.publish.underlying)

    def silence(self) -> None:
        """Nothing may be sent once the daemon closes its sockets."""
        self.control_send = self.publish_send = None


def control_socket(ctx: zmq.asyncio.Context, max_message_bytes: int) -> zmq.asyncio.Socket:
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.MAXMSGSIZE, max_message_bytes)
    # Replies to a departed or stalled client fail at once (EHOSTUNREACH / EAGAIN) instead of
    # being dropped silently or blocking: the daemon logs them and goes on.
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    sock.setsockopt(zmq.LINGER, 0)
    # Replies queued per connection, in messages: with the byte budget of large replies
    # (replybudget.py) this bounds what a client that never reads can make us hold.
    sock.setsockopt(zmq.SNDHWM, CONTROL_SNDHWM)
    return sock


def publish_socket(ctx: zmq.asyncio.Context, hwm: int) -> zmq.asyncio.Socket:
    sock = ctx.socket(zmq.XPUB)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.XPUB_VERBOSE, 1)  # see every subscribe, even duplicates (sync probes)
    sock.setsockopt(zmq.LINGER, 0)
    return sock
