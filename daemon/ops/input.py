"""input: bytes to the session's terminal, as if typed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops
from ptyd.proto.errors import ErrorCode, ProtocolError

from ..session import MAX_PENDING_INPUT_BYTES

if TYPE_CHECKING:
    from ..server import Daemon


def handle(d: Daemon, msg: ops.Input, peer: bytes) -> dict[str, Any]:
    session = d.get_running(msg.session)
    viewer = d.viewer_of(session, msg.viewer, peer)
    if msg.viewer is not None and viewer is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST,
                            f"no viewer {msg.viewer!r} on session {msg.session!r}")
    if viewer is not None:
        if viewer.read_only:
            raise ProtocolError(ErrorCode.READ_ONLY,
                                f"viewer {viewer.id} is attached read-only to {msg.session!r}",
                                {"session": msg.session, "viewer": viewer.id})
        viewer.touch()  # the most recently active writer decides the size (policy latest)
        d.apply_size_policy(session)
    if session.pending_input_bytes + len(msg.data) > MAX_PENDING_INPUT_BYTES:
        raise ProtocolError(ErrorCode.LIMIT_EXCEEDED,
                            f"session {msg.session!r} is not reading its input; "
                            f"{session.pending_input_bytes} bytes are already queued",
                            {"limit": "max_pending_input_bytes", "max": MAX_PENDING_INPUT_BYTES})
    d.write_input(session, msg.data)
    return {"bytes": len(msg.data)}
