"""redraw: make the session's program repaint its screen (a size change and back)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops

if TYPE_CHECKING:
    from ..context import Context


def handle(d: Context, msg: ops.Redraw, peer: bytes) -> dict[str, Any]:
    d.redraw(d.get_running(msg.session))
    return {"session": msg.session}


SERVES = {"redraw": (ops.Redraw, handle)}
