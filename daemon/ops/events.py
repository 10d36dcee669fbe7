"""events: recent events from a sequence number, for a subscriber catching up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops
from ptyd.proto.errors import ErrorCode, ProtocolError

if TYPE_CHECKING:
    from ..context import Context


def handle(d: Context, msg: ops.Events, peer: bytes) -> dict[str, Any]:
    log = d.events
    if msg.since < log.first_seq and log.first_seq > 1:
        raise ProtocolError(ErrorCode.RANGE_EVICTED,
                            f"events before {log.first_seq} are no longer kept; list sessions "
                            "again to resynchronise", {"first": log.first_seq, "boot": log.boot})
    events = log.since(msg.since, msg.max)
    return {"boot": log.boot, "first": log.first_seq, "last": log.last_seq, "events": events}


SERVES = {"events": (ops.Events, handle)}
