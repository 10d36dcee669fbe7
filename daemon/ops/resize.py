"""resize: set the terminal size; the program gets SIGWINCH if it changed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops
from ptyd.proto.errors import ErrorCode, ProtocolError

if TYPE_CHECKING:
    from ..context import Context


def handle(d: Context, msg: ops.Resize, peer: bytes) -> dict[str, Any]:
    session = d.get_running(msg.session)
    viewer = d.viewer_of(session, msg.viewer, peer) if msg.viewer else None
    if msg.viewer is not None and viewer is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"no viewer {msg.viewer!r} on {msg.session!r}",
                            {"param": "viewer"})
    if viewer is None:
        changed = d.resize(session, msg.cols, msg.rows, "request")
    else:
        # A viewer's window changed: its new size counts per the session's size policy.
        before = (session.cols, session.rows)
        viewer.cols, viewer.rows = msg.cols, msg.rows
        viewer.touch()
        d.apply_size_policy(session)
        changed = (session.cols, session.rows) != before
    return {"cols": session.cols, "rows": session.rows, "changed": changed}


SERVES = {"resize": (ops.Resize, handle)}
