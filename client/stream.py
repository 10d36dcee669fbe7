"""The gap-free output stream of docs/protocol.md §9.1, for viewers built on this library."""

from ._stream import Lost, OutputStream

__all__ = ["Lost", "OutputStream"]
