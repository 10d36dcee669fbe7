"""info: one session's state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops

if TYPE_CHECKING:
    from ..server import Daemon


def handle(d: Daemon, msg: ops.Info, peer: bytes) -> dict[str, Any]:
    return d.get(msg.session).describe()
