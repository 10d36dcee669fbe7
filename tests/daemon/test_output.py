"""Output: lossless under a fast producer, absolute offsets, eviction, gap-free streams."""

from __future__ import annotations

import hashlib
import threading

import pytest
import zmq

from ptyd.client import Client, Lost, RangeEvicted
from ptyd.proto import pubsub
from tests.agents.printer import payload
from tests.conftest import DaemonProcess, agent, start_daemon, stop_daemon, wait_until


def tty_bytes(data: bytes) -> bytes:
    """What a program's output looks like on the master side: ONLCR turns \\n into \\r\\n."""
    return data.replace(b"\n", b"\r\n")


def test_fast_producer_loses_no_byte_in_scrollback(client: Client) -> None:
    size = 8 << 20
    client.spawn(agent("printer", str(size)), name="fast", scrollback_bytes=32 << 20)
    client.wait("fast", 60)
    expected = tty_bytes(payload(size))
    got = bytearray()
    while len(got) < len(expected):
        chunk = client.read("fast", len(got), max_bytes=4 << 20)["data"]
        assert chunk, "scrollback ended early"
        got += chunk
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(expected).hexdigest()


def test_live_stream_delivers_every_byte_in_order(client: Client) -> None:
    size = 8 << 20
    client.spawn(agent("printer", str(size), "--then-wait"), name="live",
                 scrollback_bytes=1 << 20)
    received = bytearray()
    lost = []
    for item in client.output("live", 0):
        if isinstance(item, Lost):
            lost.append(item)
            break
        assert item.offset == len(received), "stream must be contiguous"
        received += item.data
        if received.endswith(b"done\r\n"):
            break
    assert not lost, f"a live reader keeping up must not lose bytes: {lost}"
    assert bytes(received) == tty_bytes(payload(size) + b"done\n")


def test_stream_starts_from_scrollback_then_goes_live(client: Client) -> None:
    client.spawn(agent("prompt"), name="p")
    wait_until(lambda: client.info("p")["end"] >= len(b"ready> "))
    stream = client.output("p", 0)
    first = next(stream)
    assert first.data.startswith(b"ready> ")
    client.input("p", "one\r")
    seen = bytearray(first.data)
    for item in stream:
        seen += item.data
        if b"echo: one" in seen:
            break
    assert seen.startswith(b"ready> one\r\necho: one")


def test_stream_ends_after_exit_with_all_output(client: Client) -> None:
    client.spawn(["sh", "-c", "read x; printf 'last line'; exit 3"], name="x")
    items = []
    collected = threading.Event()

    def collect() -> None:
        items.extend(client.output("x", 0))
        collected.set()

    t = threading.Thread(target=collect)
    t.start()
    client.input("x", "go\r")
    assert collected.wait(15)
    data = b"".join(i.data for i in items if not isinstance(i, Lost))
    assert data.endswith(b"last line")


def test_evicted_range_is_an_error_and_clamp_skips_it(client: Client) -> None:
    client.spawn(agent("printer", str(100_000)), name="ev", scrollback_bytes=16 << 10)
    client.wait("ev", 20)
    info = client.info("ev")
    assert info["end"] == len(tty_bytes(payload(100_000)))
    assert info["base"] == info["end"] - (16 << 10)
    with pytest.raises(RangeEvicted) as e:
        client.read("ev", 0)
    assert e.value.data["base"] == info["base"]
    clamped = client.read("ev", 0, clamp=True)
    assert clamped["offset"] == info["base"]
    assert clamped["data"] == tty_bytes(payload(100_000))[info["base"]:]


def test_stream_from_evicted_offset_shows_loss_marker_then_rest(client: Client) -> None:
    client.spawn(agent("printer", str(100_000)), name="ev2", scrollback_bytes=16 << 10)
    client.wait("ev2", 20)
    items = list(client.output("ev2", 0, follow=False))
    assert isinstance(items[0], Lost) and items[0].offset == 0
    assert items[0].end == client.info("ev2")["base"]
    rest = b"".join(i.data for i in items[1:] if not isinstance(i, Lost))
    assert rest == tty_bytes(payload(100_000))[items[0].end:]


def test_published_chunks_carry_epoch_and_contiguous_offsets(client: Client, daemon) -> None:  # type: ignore[no-untyped-def]
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.connect(f"ipc://{daemon.dir}/pub.sock")
    sub.setsockopt(zmq.SUBSCRIBE, pubsub.output_topic("o"))
    sub.setsockopt(zmq.SUBSCRIBE, b"sync:t1")
    assert sub.poll(5000) and sub.recv_multipart()[0] == b"sync:t1"
    info = client.spawn(agent("printer", "300000"), name="o")
    client.wait("o", 20)
    position = 0
    while position < client.info("o")["end"]:
        assert sub.poll(5000), "chunk missing"
        chunk = pubsub.decode_published(sub.recv_multipart())
        assert isinstance(chunk, pubsub.OutputChunk)
        assert chunk.epoch == info["epoch"] and chunk.offset == position
        position = chunk.end
    ctx.destroy(linger=0)


def test_stalled_subscriber_does_not_slow_the_producer_and_catches_up(rundir) -> None:  # type: ignore[no-untyped-def]
    daemon = start_daemon(rundir, "--publish-hwm", "20")
    try:
        with daemon.client() as client:
            _stall_and_catch_up(client, daemon)
    finally:
        assert stop_daemon(daemon) == 0


def _stall_and_catch_up(client: Client, daemon: DaemonProcess) -> None:
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 10)
    sub.connect(f"ipc://{daemon.dir}/pub.sock")
    sub.setsockopt(zmq.SUBSCRIBE, pubsub.OUTPUT_PREFIX)
    sub.setsockopt(zmq.SUBSCRIBE, b"sync:t2")
    assert sub.poll(5000) and sub.recv_multipart()[0] == b"sync:t2"
    size = 16 << 20
    # The subscriber reads nothing while 16 MB go by: the producer must still finish.
    client.spawn(agent("printer", str(size)), name="flood", scrollback_bytes=32 << 20)
    assert client.wait("flood", 60)["exit_code"] == 0
    # What did reach it is contiguous from offset 0 (drops only ever cut the tail short) ...
    end = 0
    while sub.poll(200):
        item = pubsub.decode_published(sub.recv_multipart())
        if isinstance(item, pubsub.OutputChunk):
            assert item.offset >= end
            end = item.end
    # ... and the rest is in the ring: the stream API catches up from where it stopped.
    rest = b"".join(i.data for i in client.output("flood", end, follow=False)
                    if not isinstance(i, Lost))
    expected = tty_bytes(payload(size))
    assert hashlib.sha256(expected[end:]).digest() == hashlib.sha256(rest).digest()
    ctx.destroy(linger=0)
