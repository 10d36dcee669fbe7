"""read: a slice of scrollback by absolute offset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import limits, ops
from ptyd.proto.errors import ErrorCode, ProtocolError

from ..replybudget import REPLY_OVERHEAD_BYTES

if TYPE_CHECKING:
    from ..context import Context


def handle(d: Context, msg: ops.Read, peer: bytes) -> dict[str, Any]:
    session = d.get(msg.session)
    ring = session.scrollback
    if msg.stream == "stderr":
        if session.stderr_ring is None:
            raise ProtocolError(ErrorCode.BAD_REQUEST, f"session {msg.session!r} has no "
                                "separate stderr (spawn it with stderr=pipe)",
                                {"param": "stream"})
        ring = session.stderr_ring
    offset = ring.base if msg.offset is None else msg.offset
    if offset < ring.base:
        if not msg.clamp:
            raise ProtocolError(ErrorCode.RANGE_EVICTED,
                                f"offset {offset} of session {msg.session!r} was evicted; "
                                f"the scrollback holds [{ring.base}, {ring.end})",
                                {"base": ring.base, "end": ring.end, "epoch": session.epoch})
        offset = ring.base
    offset = min(offset, ring.end)
    want = msg.max_bytes or limits.DEFAULT_READ_BYTES
    room = d.reply_budget.room(peer) - REPLY_OVERHEAD_BYTES
    if room <= 0:  # this client has not read what it was sent: nothing more until it does
        raise d.reply_budget.exceeded(peer, want)
    data = ring.read(offset, min(want, room))  # a shorter slice is a valid answer
    return {
        "session": session.name,
        "epoch": session.epoch,
        "offset": offset,
        "data": data,
        "base": ring.base,
        "end": ring.end,
        "status": session.status,
        "stream": msg.stream,
    }


SERVES = {"read": (ops.Read, handle)}
