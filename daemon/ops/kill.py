"""kill: SIGTERM (or the given signal) to the session's process group, SIGKILL after a grace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops

from ..logs import log
from ..session import signal_name

if TYPE_CHECKING:
    from ..server import Daemon


def handle(d: Daemon, msg: ops.Kill, peer: bytes) -> dict[str, Any]:
    session = d.get(msg.session)
    if not session.running:
        return {"signal": None, "status": "exited"}
    d.terminate(session, msg.signal, msg.grace)
    log.info("session=%s kill signal=%s grace=%.1fs", session.name, signal_name(msg.signal),
             msg.grace)
    return {"signal": signal_name(msg.signal), "grace": msg.grace, "status": session.status}
