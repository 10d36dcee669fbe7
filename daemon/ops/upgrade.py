"""upgrade: hand everything to a fresh daemon of the installed version, in place (see
daemon/upgrade.py). The reply comes first; then the daemon re-executes itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops
from ptyd.proto.errors import ErrorCode, ProtocolError

if TYPE_CHECKING:
    from ..context import Context


async def _upgrade(d: Context, python: str | None) -> dict[str, Any]:
    problem = await d.start_upgrade(python)
    if problem is not None:
        raise ProtocolError(ErrorCode.UPGRADE_FAILED, problem)
    return {"upgrading": True, "sessions": len(d.sessions)}


def handle(d: Context, msg: ops.Upgrade, peer: bytes) -> Any:
    return _upgrade(d, msg.python)


SERVES = {"upgrade": (ops.Upgrade, handle)}
