"""The scrollback ring: absolute offsets, eviction, memory that follows what was written."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ptyd.daemon.scrollback import BLOCK_BYTES, Scrollback


# Large writes are the point (the ring wraps and evicts whole blocks), and st.randoms() draws
# much: Hypothesis's data_too_large check then fails at random, which says nothing of the ring.
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.data_too_large])
@given(st.integers(4096, 300_000), st.lists(st.integers(0, 70_000), max_size=40),
       st.randoms())
def test_ring_matches_a_reference(capacity: int, sizes: list[int], rnd: random.Random) -> None:
    ring, ref = Scrollback(capacity), bytearray()
    for n in sizes:
        data = rnd.randbytes(n)
        assert ring.append(data) == len(ref)
        ref += data
        assert ring.end == len(ref) and ring.base == max(0, len(ref) - capacity)
        start = rnd.randint(ring.base, ring.end)
        want = rnd.randint(0, capacity)
        assert ring.read(start, want) == bytes(ref[start:start + want])


def test_reading_evicted_offset_raises() -> None:
    ring = Scrollback(4096)
    ring.append(b"x" * 10_000)
    with pytest.raises(IndexError):
        ring.read(0, 10)


def test_memory_follows_bytes_written_not_capacity() -> None:
    ring = Scrollback(64 << 20)
    ring.append(b"hello")
    assert ring.memory_bytes() == 5
    ring = Scrollback(4 << 20)
    for _ in range(200):
        ring.append(b"y" * 100_000)
    assert len(ring) == 4 << 20
    assert ring.memory_bytes() <= len(ring) + BLOCK_BYTES  # at most 1.6% over at 4 MiB


def test_snapshot_and_restore_continue_offsets() -> None:
    ring = Scrollback(8192)
    ring.append(b"a" * 10_000)
    base, data = ring.snapshot()
    again = Scrollback.restore(8192, base, data)
    assert (again.base, again.end) == (ring.base, ring.end)
    assert again.append(b"z") == 10_000
