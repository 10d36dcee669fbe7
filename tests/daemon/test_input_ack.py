"""`input` with `ack` false: typed at once, answered only when it fails (docs/protocol.md §7.5).

A client that does not wait for its keystrokes' results (ptyd attach) asks for no reply, so
each keystroke is one message through the daemon instead of two; errors still come back, by id.
"""

from __future__ import annotations

from typing import Any

import pytest
import zmq

from ptyd.client import Client
from ptyd.proto import decode_reply, encode_request
from tests.conftest import DaemonProcess, wait_for_output


class Peer:
    """A bare DEALER: sees every reply the daemon sends, and no more."""

    def __init__(self, daemon: DaemonProcess):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(f"ipc://{daemon.dir}/ctl.sock")

    def send(self, msgid: int, op: str, params: dict[str, Any]) -> None:
        self.sock.send_multipart(encode_request(msgid, op, params))

    def next_reply(self) -> Any:
        assert self.sock.poll(10_000), "no reply"
        return decode_reply(self.sock.recv_multipart())

    def close(self) -> None:
        self.ctx.destroy(linger=0)


@pytest.fixture
def peer(daemon: DaemonProcess) -> Any:
    p = Peer(daemon)
    yield p
    p.close()


def test_accepted_input_without_ack_gets_no_reply(client: Client, peer: Peer) -> None:
    client.spawn(["cat"], name="c")
    peer.send(1, "input", {"session": "c", "data": b"quiet\r", "ack": False})
    peer.send(2, "input", {"session": "c", "data": b"loud\r"})
    # Requests of one connection are handled in order: the first reply is the second input's.
    reply = peer.next_reply()
    assert reply.id == 2 and reply.error is None and reply.result["bytes"] == 5
    wait_for_output(client, "c", "quiet\r\nloud")
    peer.send(3, "hello", {})
    assert peer.next_reply().id == 3  # nothing else was queued for us in between


def test_failed_input_without_ack_is_still_answered(client: Client, peer: Peer) -> None:
    peer.send(7, "input", {"session": "nobody", "data": b"x", "ack": False})
    reply = peer.next_reply()
    assert reply.id == 7 and reply.error is not None and reply.error.code == "no_such_session"
    peer.send(8, "input", {"session": "nobody", "data": b"x", "ack": "no"})
    reply = peer.next_reply()
    assert reply.id == 8 and reply.error is not None and reply.error.code == "bad_request"


def test_hello_offers_input_ack(client: Client) -> None:
    assert "input-ack" in client.hello()["features"]
