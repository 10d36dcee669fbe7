"""Events: sequence numbers, boot id, heartbeats, and catch-up with `events`."""

from __future__ import annotations

import pytest
import zmq

from ptyd.client import Client, RangeEvicted
from ptyd.proto import pubsub
from tests.conftest import DaemonProcess


def subscribe_events(daemon: DaemonProcess) -> tuple[zmq.Context, zmq.Socket]:  # type: ignore[type-arg]
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.connect(f"ipc://{daemon.dir}/pub.sock")
    sub.setsockopt(zmq.SUBSCRIBE, pubsub.EVENT_TOPIC)
    sub.setsockopt(zmq.SUBSCRIBE, b"sync:e")
    assert sub.poll(5000) and sub.recv_multipart()[0] == b"sync:e"
    return ctx, sub


def next_event(sub: zmq.Socket, skip_heartbeats: bool = True) -> pubsub.Event:  # type: ignore[type-arg]
    while True:
        assert sub.poll(5000), "no event"
        event = pubsub.decode_published(sub.recv_multipart())
        assert isinstance(event, pubsub.Event)
        if not (skip_heartbeats and event.type == "heartbeat"):
            return event


def test_lifecycle_events_in_order_with_sequence(client: Client, daemon: DaemonProcess) -> None:
    ctx, sub = subscribe_events(daemon)
    client.spawn(["sh", "-c", "read x; exit 5"], name="ev", cols=90, rows=20)
    client.resize("ev", 100, 30)
    client.input("ev", "\r")
    client.wait("ev", 10)
    client.remove("ev")
    everything = [next_event(sub)]
    while everything[-1].type != "session.removed":
        everything.append(next_event(sub))
    seqs = [e.seq for e in everything]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no gap in sequence numbers"
    events = [e for e in everything if e.type != "session.state"]
    assert [e.type for e in events] == ["session.spawned", "session.resized", "session.exited",
                                        "session.removed"]
    states = [e.fields["state"] for e in everything if e.type == "session.state"]
    assert states[-1] == "exited"
    assert len({e.boot for e in events}) == 1 and events[0].boot == client.hello()["boot"]
    assert events[2].fields["exit_code"] == 5 and events[2].fields["duration"] >= 0
    assert events[1].fields["cols"] == 100
    ctx.destroy(linger=0)


def test_heartbeat_carries_last_sequence(client: Client, daemon: DaemonProcess) -> None:
    ctx, sub = subscribe_events(daemon)
    client.spawn(["true"], name="hb")
    client.wait("hb", 10)
    last = client.events(0)["last"]
    while True:
        event = next_event(sub, skip_heartbeats=False)
        if event.type == "heartbeat":
            break
    assert event.seq == last and event.fields["sessions"] == 1
    ctx.destroy(linger=0)


def test_missed_events_can_be_read_back(client: Client) -> None:
    first = client.events(0)["last"] + 1
    for i in range(5):
        client.spawn(["true"], name=f"m{i}")
    caught = client.events(first)
    spawned = [e for e in caught["events"] if e["type"] == "session.spawned"]
    assert [e["session"] for e in spawned] == [f"m{i}" for i in range(5)]
    assert [e["seq"] for e in caught["events"]] == sorted(e["seq"] for e in caught["events"])
    limited = client.events(first, max=2)["events"]
    assert len(limited) == 2 and limited[0]["seq"] == first


def test_events_older_than_the_log_are_reported_evicted(client: Client) -> None:
    # 4096 events are kept; make more (each real size change is one) and ask for the first.
    client.spawn(["sleep", "60"], name="sizes")
    for i in range(4200):
        client.resize("sizes", 80 + i % 2, 24)
    with pytest.raises(RangeEvicted, match="no longer kept"):
        client.events(1)
