"""remove: forget an exited session and its scrollback (force: kill it first)."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Any

from ptyd.proto import ops
from ptyd.proto.errors import ErrorCode, ProtocolError

from ..logs import log

if TYPE_CHECKING:
    from ..server import Daemon

FORCE_WAIT_S = 5.0


def _removed(d: Daemon, name: str) -> dict[str, Any]:
    session = d.sessions.get(name)
    if session is not None:
        d.remove_session(session)
        log.info("session=%s removed", name)
        d.emit("session.removed", session=name)
    return {"session": name, "removed": True}


async def _force(d: Daemon, name: str) -> dict[str, Any]:
    session = d.get(name)
    d.terminate(session, signal.SIGKILL, 0)
    if not await d.wait_finished(session, FORCE_WAIT_S):
        raise ProtocolError(ErrorCode.INTERNAL, f"session {name!r} did not die after SIGKILL")
    return _removed(d, name)


def handle(d: Daemon, msg: ops.Remove, peer: bytes) -> Any:
    session = d.get(msg.session)
    if session.running:
        if not msg.force:
            raise ProtocolError(ErrorCode.SESSION_RUNNING,
                                f"session {msg.session!r} is still running; kill it first "
                                "(ptyd kill) or remove with force", {"session": msg.session})
        return _force(d, msg.session)
    return _removed(d, msg.session)
