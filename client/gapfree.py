"""The rules of a gap-free output stream (docs/protocol.md §9.1) as a state machine with no I/O,
for clients that drive it on their own loop, as `ptyd attach` does."""

from ._gapfree import Ended, GapFree, Item

__all__ = ["Ended", "GapFree", "Item"]
