"""remove: forget an exited session and its scrollback (force: kill it first)."""

from __future__ import annotations

import contextlib
import signal
from typing import TYPE_CHECKING, Any

from ptyd.proto import ops
from ptyd.proto.errors import ErrorCode, ProtocolError

from ..logs import log
from ..session import Session

if TYPE_CHECKING:
    from ..server import Daemon

FORCE_WAIT_S = 5.0


def _removed(d: Daemon, session: Session) -> dict[str, Any]:
    if d.sessions.get(session.name) is session:  # not a newer session that took the name
        d.remove_session(session)
        log.info("session=%s removed", session.name)
        d.emit("session.removed", session=session.name, epoch=session.epoch)
    return {"session": session.name, "removed": True}


async def _force(d: Daemon, session: Session) -> dict[str, Any]:
    with contextlib.suppress(ProcessLookupError):
        session.send_signal(signal.SIGKILL, group=True)
    if not await d.wait_finished(session, FORCE_WAIT_S):
        raise ProtocolError(ErrorCode.INTERNAL,
                            f"session {session.name!r} did not die after SIGKILL")
    return _removed(d, session)


def handle(d: Daemon, msg: ops.Remove, peer: bytes) -> Any:
    session = d.get(msg.session)
    if session.running:
        if not msg.force:
            raise ProtocolError(ErrorCode.SESSION_RUNNING,
                                f"session {msg.session!r} is still running; kill it first "
                                "(ptyd kill) or remove with force", {"session": msg.session})
        return _force(d, session)
    return _removed(d, session)
