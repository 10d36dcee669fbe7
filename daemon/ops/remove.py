"""remove: forget an exited session and its scrollback (force: kill it first)."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Any

from ptyd.proto import ops
from ptyd.proto.errors import ErrorCode, ProtocolError

from ..logs import log
from ..session import Session

if TYPE_CHECKING:
    from ..context import Context

FORCE_WAIT_S = 5.0


def _removed(d: Context, session: Session) -> dict[str, Any]:
    if d.sessions.get(session.name) is session:  # not a newer session that took the name
        # What it still holds (processes kept after its exit) ends with it, after the grace.
        d.terminate(session, signal.SIGTERM, d.config.kill_grace_s)
        d.remove_session(session)
        log.info("session=%s removed", session.name)
        d.emit("session.removed", session=session.name, epoch=session.epoch)
    return {"session": session.name, "removed": True}


async def _force(d: Context, session: Session) -> dict[str, Any]:
    """End it as `kill` does (the program may catch SIGHUP/SIGTERM and run its end-of-session
    hooks within the grace), then remove it."""
    grace = d.config.kill_grace_s
    d.terminate(session, signal.SIGTERM, grace, hangup_first=True, reason="removed")
    if not await d.wait_finished(session, grace + FORCE_WAIT_S):
        raise ProtocolError(ErrorCode.INTERNAL,
                            f"session {session.name!r} did not die after SIGKILL")
    return _removed(d, session)


def handle(d: Context, msg: ops.Remove, peer: bytes) -> Any:
    session = d.get(msg.session)
    if session.running:
        if not msg.force:
            raise ProtocolError(ErrorCode.SESSION_RUNNING,
                                f"session {msg.session!r} is still running; kill it first "
                                "(ptyd kill) or remove with force", {"session": msg.session})
        return _force(d, session)
    return _removed(d, session)


SERVES = {"remove": (ops.Remove, handle)}
