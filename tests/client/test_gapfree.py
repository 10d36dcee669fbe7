"""The gap-free stream rules (client/_gapfree.py, protocol §9.1), driven by hand: what arrives
(published messages, read replies as the daemon sends them) and what the rules deliver and ask
for. Both drivers (the library's OutputStream, attach's LiveStream) run exactly these rules."""

from __future__ import annotations

from typing import Any

from ptyd.client import Lost
from ptyd.client.gapfree import Ended, GapFree
from ptyd.proto import pubsub

S, EPOCH = "s", 7


def chunk(offset: int, data: bytes, epoch: int = EPOCH) -> pubsub.OutputChunk:
    return pubsub.OutputChunk(S, epoch, offset, data)


def event(type_: str, seq: int, **fields: Any) -> pubsub.Event:
    return pubsub.Event(type_, seq, "boot", 0.0, fields)


def reply(offset: int, data: bytes, end: int, status: str = "running",
          epoch: int = EPOCH) -> dict[str, Any]:
    """A `read {clamp: true}` reply: `offset` is where the data starts (past an eviction)."""
    return {"epoch": epoch, "offset": offset, "data": data, "end": end, "status": status}


def started(position: int = 0, end: int | None = None) -> GapFree:
    rules = GapFree(S)
    rules.start({"epoch": EPOCH, "status": "running", "base": 0}, position, last_seq=10)
    assert rules.next_read() == position
    tail = end if end is not None else position
    assert rules.on_read(reply(position, b"x" * (tail - position), tail)) == (
        [chunk(position, b"x" * (tail - position))] if tail > position else [])
    assert rules.next_read() is None
    return rules


def test_live_chunks_in_order_are_delivered_and_duplicates_trimmed() -> None:
    rules = started(0, 3)
    assert rules.on_published(chunk(3, b"abc")) == [chunk(3, b"abc")]
    assert rules.on_published(chunk(0, b"old")) == []
    assert rules.on_published(chunk(4, b"bcdef")) == [chunk(6, b"def")]
    assert rules.position == 9 and rules.next_read() is None


def test_a_gap_is_read_from_the_ring_then_the_chunk_goes_on() -> None:
    rules = started(0, 3)
    assert rules.on_published(chunk(10, b"KLM")) == []
    assert rules.next_read() == 3
    # A read may come back short: the rules ask again from where it stopped.
    assert rules.on_read(reply(3, b"defg", 20)) == [chunk(3, b"defg")]
    assert rules.next_read() == 7
    assert rules.on_read(reply(7, b"hijKLMNOP", 20)) == [chunk(7, b"hij"), chunk(10, b"KLM")]
    assert rules.next_read() is None and rules.position == 13


def test_bytes_evicted_before_the_gap_was_read_become_one_lost_marker() -> None:
    # clamp: the reply starts at the ring's base, past what we asked for.
    rules = started(0, 3)
    assert rules.on_published(chunk(100, b"live")) == []
    assert rules.on_read(reply(50, b"y" * 60, 110)) == [Lost(3, 50), chunk(50, b"y" * 50),
                                                         chunk(100, b"live")]
    assert rules.position == 104


def test_an_eviction_past_the_waiting_chunk_loses_only_what_no_one_holds() -> None:
    # The ring's base moved past the chunk that revealed the gap: that chunk still holds its
    # bytes, so only the bytes before it are lost, and it is delivered whole.
    rules = started(0, 3)
    assert rules.on_published(chunk(100, b"live")) == []
    assert rules.on_read(reply(102, b"ve and more", 113)) == [Lost(3, 100), chunk(100, b"live")]
    assert rules.position == 104 and rules.next_read() is None


def test_a_missed_heartbeat_reads_to_the_end_and_an_exit_found_there_ends_the_stream() -> None:
    rules = started(0, 3)
    assert rules.on_published(event("heartbeat", 10)) == []
    assert rules.next_read() is None  # nothing missed
    assert rules.on_published(event("heartbeat", 12)) == []
    assert rules.next_read() == 3
    assert rules.on_read(reply(3, b"tail", 7, status="exited")) == [chunk(3, b"tail")]
    assert rules.ended is Ended.EXITED and rules.next_read() is None


def test_the_exit_event_reads_what_was_dropped_then_ends() -> None:
    rules = started(0, 3)
    assert rules.on_published(event("session.exited", 11, session=S)) == []
    assert rules.ended is None and rules.next_read() == 3
    assert rules.on_read(reply(3, b"bye", 6, status="exited")) == [chunk(3, b"bye")]
    assert rules.ended is Ended.EXITED


def test_another_epoch_ends_the_stream_and_detach_sends_a_viewer_away() -> None:
    rules = started(0, 3)
    assert rules.on_published(chunk(3, b"new", epoch=EPOCH + 1)) == []
    assert rules.ended is Ended.EXITED
    rules = started(0, 3)
    assert rules.on_published(pubsub.Message(b"viewer:x", "detach", {})) == []
    assert rules.ended is Ended.DETACHED


def test_a_start_before_the_ring_is_a_lost_marker_then_the_backlog() -> None:
    rules = GapFree(S)
    rules.start({"epoch": EPOCH, "status": "exited", "base": 40}, 0, last_seq=None)
    assert rules.on_read(reply(40, b"end", 43, status="exited")) == [Lost(0, 40),
                                                                      chunk(40, b"end")]
    assert rules.ended is Ended.EXITED


def test_the_first_quiet_heartbeat_after_output_reads_to_the_end_once() -> None:
    # The last chunks of a burst were dropped for us (our queue was full): no later chunk
    # shows the gap and no event was missed, so only a read can tell.
    rules = started(0, 3)
    assert rules.on_published(chunk(3, b"abc")) == [chunk(3, b"abc")]
    assert rules.on_published(event("heartbeat", 10)) == []
    assert rules.next_read() is None  # output came since the previous heartbeat: not quiet
    assert rules.on_published(event("heartbeat", 10)) == []
    assert rules.next_read() == 6
    assert rules.on_read(reply(6, b"dropped tail", 18)) == [chunk(6, b"dropped tail")]
    assert rules.next_read() is None
    assert rules.on_published(event("heartbeat", 10)) == []
    assert rules.next_read() is None  # confirmed: no read while nothing is published
