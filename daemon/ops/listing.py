"""list: every session, running or exited, in creation order."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops

if TYPE_CHECKING:
    from ..server import Daemon


def handle(d: Daemon, msg: ops.List, peer: bytes) -> dict[str, Any]:
    return {"sessions": [s.describe() for s in d.sessions.values()]}
