"""shutdown: end every session (SIGHUP, then SIGKILL after the grace) and stop the daemon."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops

if TYPE_CHECKING:
    from ..context import Context


def handle(d: Context, msg: ops.Shutdown, peer: bytes) -> dict[str, Any]:
    running = sum(s.running for s in d.sessions.values())
    d.request_stop(msg.grace)
    return {"stopping": True, "sessions": running}


SERVES = {"shutdown": (ops.Shutdown, handle)}
