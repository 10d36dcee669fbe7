"""list: every session, running or exited, in creation order."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops

if TYPE_CHECKING:
    from ..context import Context


def handle(d: Context, msg: ops.List, peer: bytes) -> dict[str, Any]:
    return {"sessions": [s.describe() for s in d.sessions.values()]}


SERVES = {"list": (ops.List, handle)}
