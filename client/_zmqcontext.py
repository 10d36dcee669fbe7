"""ZeroMQ contexts that can be garbage-collected together with their sockets.

pyzmq's `Context.__del__` closes the sockets it still knows and then terminates, and terminating
waits for every socket to be closed. It knows its sockets through weak references. When a
context and its sockets become garbage together (a client dropped without `close()`, held in
a cycle by its own tasks), the garbage collector clears those weak references before it runs
the finalizers: the context then waits forever for sockets it can no longer see, in whatever
thread the collection happened to run (a `Client`'s loop thread, whose `close()` then never
returns). These contexts also hold their sockets strongly and close them first.
"""

from __future__ import annotations

from typing import Any

import zmq


class OwnsSockets:
    """Mixin for a zmq.Context subclass (put it first)."""

    _owned: list[Any]

    def socket(self, *args: Any, **kwargs: Any) -> Any:
        sock = super().socket(*args, **kwargs)  # type: ignore[misc]
        owned = [s for s in getattr(self, "_owned", ()) if not s.closed]
        owned.append(sock)
        self._owned = owned
        return sock

    def __del__(self) -> None:
        for sock in getattr(self, "_owned", ()):
            if not sock.closed:
                sock.close(linger=0)
        super().__del__()  # type: ignore[misc]


class Context(OwnsSockets, zmq.Context):  # type: ignore[type-arg]
    """A blocking context (the Wire's)."""
