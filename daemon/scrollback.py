"""A session's scrollback: a ring of the bytes it wrote, addressed by absolute offset.

The first byte a session ever wrote is offset 0 forever. The ring holds `[base, end)`; older
bytes are evicted once more than `capacity` are held. Memory follows what was written, not the
capacity: bytes are kept in blocks of up to BLOCK_BYTES, appended to a bytearray tail that is
frozen into an immutable block when full, so a session that printed 3 kB holds about 3 kB, and
per-block overhead stays under 0.1 %.
"""

from __future__ import annotations

import bisect

BLOCK_BYTES = 64 << 10


class Scrollback:
    __slots__ = ("_block_starts", "_blocks", "_skip", "_tail", "_tail_start", "capacity")

    def __init__(self, capacity: int, start_offset: int = 0):
        self.capacity = capacity
        self._blocks: list[bytes] = []
        self._block_starts: list[int] = []
        self._skip = 0  # bytes of the first block already evicted
        self._tail = bytearray()
        self._tail_start = start_offset

    @property
    def end(self) -> int:
        """Offset one past the last byte written."""
        return self._tail_start + len(self._tail)

    @property
    def base(self) -> int:
        """Offset of the oldest byte still held."""
        if self._blocks:
            return self._block_starts[0] + self._skip
        return self._tail_start + self._skip

    def __len__(self) -> int:
        return self.end - self.base

    def append(self, data: bytes) -> int:
        """Append output; return the absolute offset of its first byte."""
        offset = self.end
        view = memoryview(data)
        while view:
            room = BLOCK_BYTES - len(self._tail)
            self._tail += view[:room]
            view = view[room:]
            if len(self._tail) >= BLOCK_BYTES:
                self._freeze_tail()
        self._evict()
        return offset

    def _freeze_tail(self) -> None:
        self._blocks.append(bytes(self._tail))
        self._block_starts.append(self._tail_start)
        self._tail_start += len(self._tail)
        self._tail = bytearray()

    def _evict(self) -> None:
        excess = len(self) - self.capacity
        while excess > 0:
            if self._blocks:
                first_left = len(self._blocks[0]) - self._skip
                if excess >= first_left:
                    self._blocks.pop(0)
                    self._block_starts.pop(0)
                    self._skip = 0
                    excess -= first_left
                    continue
            self._skip += excess  # partial eviction: remember how much of the head is gone
            excess = 0
        if not self._blocks and self._skip >= len(self._tail) and self._tail:
            # Everything in the tail is evicted (capacity smaller than a block): drop it.
            self._tail_start += len(self._tail)
            self._skip -= len(self._tail)
            self._tail = bytearray()
        if not self._blocks and self._skip and self._tail:
            del self._tail[: self._skip]
            self._tail_start += self._skip
            self._skip = 0

    def read(self, offset: int, max_bytes: int) -> bytes:
        """Bytes from `offset` (base <= offset <= end), at most `max_bytes` of them."""
        if offset < self.base or offset > self.end:
            raise IndexError(f"offset {offset} outside [{self.base}, {self.end})")
        stop = min(self.end, offset + max_bytes)
        parts: list[bytes] = []
        pos = offset
        i = bisect.bisect_right(self._block_starts, pos) - 1
        while pos < stop:
            if 0 <= i < len(self._blocks) and pos < self._tail_start:
                start, block = self._block_starts[i], self._blocks[i]
                parts.append(block[pos - start: stop - start])
                pos = start + len(block)
                i += 1
            else:
                parts.append(bytes(self._tail[pos - self._tail_start: stop - self._tail_start]))
                pos = stop
        return b"".join(parts)

    def memory_bytes(self) -> int:
        """Bytes of buffer memory held (payload, excluding the fixed per-object overhead)."""
        return sum(len(b) for b in self._blocks) + len(self._tail)

    def snapshot(self) -> tuple[int, bytes]:
        """(base, all held bytes): what a successor daemon needs to continue this ring."""
        return self.base, self.read(self.base, len(self))

    @classmethod
    def restore(cls, capacity: int, base: int, data: bytes) -> Scrollback:
        ring = cls(capacity, start_offset=base)
        ring.append(data)
        return ring
