"""How many clients are connected to a control socket, and which of them may be answered.

A ROUTER accepts any number of connections and never says how many it has, nor can it close one.
A socket monitor reports each accepted and each ended connection, which gives the count; once it
is over the cap, requests from connections not seen before get a small `limit_exceeded` error
instead of their answer, so no further connection makes the daemon hold more than that.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import zmq
from zmq.utils.monitor import parse_monitor_message

from ptyd.proto.errors import ErrorCode, ProtocolError

_EVENTS = zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED


class PeerGate:
    """Live connections of one control socket, and the peers (routing ids) answered lately."""

    def __init__(self, ctx: zmq.Context[Any], sock: zmq.Socket[Any], name: str,
                 max_peers: int):
        self.max_peers = max_peers
        self.connections = 0
        self._known: OrderedDict[bytes, None] = OrderedDict()
        # libzmq publishes the events on an inproc PAIR it binds; we connect our end. A plain
        # (non-asyncio) view of it, for non-blocking reads from the loop's reader callback.
        address = f"inproc://ptyd-monitor-{name}-{id(self):x}"
        sock.monitor(address, _EVENTS)
        self._pair = ctx.socket(zmq.PAIR)
        self._pair.setsockopt(zmq.LINGER, 0)
        self._pair.connect(address)
        self.monitor: zmq.Socket[bytes] = zmq.Socket.shadow(self._pair.underlying)

    def fd(self) -> int:
        return int(self.monitor.getsockopt(zmq.FD))

    def drain(self) -> None:
        """Read the monitor's events (its FD is edge-triggered like any ZeroMQ socket's)."""
        while True:
            try:
                frames = self.monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            except zmq.ZMQError:  # closed with the context
                return
            event = parse_monitor_message(frames)["event"]
            if event == zmq.EVENT_ACCEPTED:
                self.connections += 1
            elif event == zmq.EVENT_DISCONNECTED:
                self.connections = max(0, self.connections - 1)

    def admit(self, peer: bytes) -> ProtocolError | None:
        """None if `peer` may be answered; else the error to send it instead."""
        if peer in self._known:  # (the count matters only for a newcomer: no drain per request)
            self._known.move_to_end(peer)
            return None
        self.drain()
        if self.connections > self.max_peers:
            return ProtocolError(
                ErrorCode.LIMIT_EXCEEDED,
                f"the daemon has {self.connections} client connections, over its limit of "
                f"{self.max_peers}: close unused clients and retry",
                {"limit": "max_peers", "max": self.max_peers, "connections": self.connections})
        self._known[peer] = None
        if len(self._known) > self.max_peers:  # forget the least recently heard from
            self._known.popitem(last=False)
        return None
