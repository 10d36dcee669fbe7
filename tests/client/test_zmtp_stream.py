"""ZmtpStream: the polled pure-Python ZMTP connection attach uses to the local daemon (its
subscription and its keystrokes), against a real daemon: subscribing and the sync probe,
messages cut across reads parsed whole and byte-exact, requests and error replies."""

from __future__ import annotations

import os
import select

from ptyd.client import Client
from ptyd.client.wire import ZmtpStream
from ptyd.proto import decode_reply, encode_request, pubsub
from tests.conftest import DaemonProcess, agent, wait_for_output


def take(conn: ZmtpStream, limit: int = 64) -> list[list[bytes]]:
    """What arrives within a few seconds (at least one message), in batches of `limit`."""
    messages = conn.receive(limit)
    while not messages:
        assert select.select([conn.fileno()], [], [], 10)[0], "nothing arrived"
        messages = conn.receive(limit)
    return messages


def subscribed(daemon: DaemonProcess, *topics: bytes) -> ZmtpStream:
    sub = ZmtpStream(str(daemon.dir / "pub.sock"), 5, b"SUB", b"XPUB")
    for topic in topics:
        sub.subscribe(topic)
    token = pubsub.SYNC_PREFIX + os.urandom(8).hex().encode()
    sub.subscribe(token)
    while not any(frames[0] == token for frames in take(sub, 1)):
        pass
    sub.unsubscribe(token)
    return sub


def test_subscription_is_byte_exact_across_cut_messages(client: Client,
                                                       daemon: DaemonProcess) -> None:
    sub = subscribed(daemon, pubsub.output_topic("p"))
    try:
        # ~2 MB in messages of up to 64 kB: reads of the socket end mid-message, again and again.
        client.spawn(agent("printer", "2000000", "--then-wait"), name="p")
        got = bytearray()
        while b"done" not in got[-16:]:
            for frames in take(sub, 7):  # small batches: a parsed rest stays in the buffer
                chunk = pubsub.decode_published(frames)
                assert isinstance(chunk, pubsub.OutputChunk)
                assert chunk.offset == len(got), "a gap: the daemon dropped for us"
                got += chunk.data
        assert len(got) > 2_000_000
        assert bytes(got) == bytes(client.read("p", 0, max_bytes=4 << 20)["data"])[:len(got)]
    finally:
        sub.close()


def test_requests_and_error_replies(client: Client, daemon: DaemonProcess) -> None:
    client.spawn(["cat"], name="c")
    conn = ZmtpStream(str(daemon.dir / "ctl.sock"), 5, b"DEALER", b"ROUTER")
    try:
        conn.send_multipart(encode_request(1, "input", {"session": "c", "data": b"typed\r",
                                                        "ack": False}))
        conn.send_multipart(encode_request(2, "input", {"session": "gone", "data": b"x",
                                                        "ack": False}))
        reply = decode_reply(take(conn)[0])  # the first input was accepted: no reply to it
        assert reply.id == 2 and reply.error is not None
        assert reply.error.code == "no_such_session"
        wait_for_output(client, "c", "typed")
    finally:
        conn.close()
