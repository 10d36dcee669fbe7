"""Where `ptyd attach` sends what the person types.

To the local daemon (ipc, no CURVE) keystrokes go over their own ZMTP connection, written by
this thread straight to the daemon's socket (client/_zmtp.py): through pyzmq, each one would
first wake pyzmq's I/O thread, which then writes it. One connection keeps keystrokes in the
order they were typed; an error reply comes back on it and is handed to `on_error`. If the
connection drops (the daemon re-executes itself: ptyd upgrade), keystrokes go through the Wire
from then on, which queues them while ZeroMQ reconnects. To a remote daemon they always go
through the Wire (pyzmq does CURVE).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from ptyd.client import PtydError
from ptyd.client.wire import Wire, ZmtpError, ZmtpStream, remote_error
from ptyd.proto import envelope
from ptyd.proto.errors import ProtocolError as WireError

from .subscription import direct_path

REPLIES_PER_TURN = 64


class Keys:
    def __init__(self, wire: Wire, on_error: Callable[[PtydError], None], *,
                 direct: bool = True):
        """`direct`: open the connection of our own where it can be (not for a read-only
        viewer, which types nothing)."""
        self.wire = wire
        self.on_error = on_error
        self.conn: ZmtpStream | None = None
        self._ids = itertools.count(1)
        path = direct_path(wire, wire.endpoints.control) if direct else None
        if path is not None:
            try:
                self.conn = ZmtpStream(path, wire.timeout, b"DEALER", b"ROUTER")
            except (OSError, ZmtpError):
                self.conn = None  # the Wire will do

    @property
    def poll_key(self) -> int | None:
        """The fd error replies arrive on (None: they come through the Wire)."""
        return self.conn.fileno() if self.conn is not None else None

    def send(self, params: dict[str, Any]) -> None:
        """Send an `input` request; its reply, if any, is not waited for."""
        if self.conn is not None:
            body = {k: v for k, v in params.items() if v is not None}
            msgid = next(self._ids) & envelope.MAX_MSGID
            try:
                self.conn.send_multipart(envelope.encode_request(msgid, "input", body))
                return
            except OSError:
                self.close()  # the daemon went away: the Wire queues while it reconnects
        self.wire.send("input", params)

    def process(self) -> None:
        """Read the replies that came (only errors, with `ack` false) and report the errors."""
        if self.conn is None:
            return
        try:
            messages = self.conn.receive(REPLIES_PER_TURN)
        except OSError:
            self.close()
            return
        for frames in messages:
            try:
                reply = envelope.decode_reply(frames)
            except WireError:
                continue  # not ours to judge: the Wire reports an undecodable daemon
            if reply.error is not None:
                self.on_error(remote_error(reply.error.code, reply.error.message,
                                           reply.error.data))

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
