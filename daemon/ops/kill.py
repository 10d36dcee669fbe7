"""kill: SIGHUP then SIGTERM (or just the given signal) to the session's process group, SIGTERM
(or that signal) to every other process it holds, SIGKILL to what is left after a grace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops

from ..logs import log
from ..session import signal_name

if TYPE_CHECKING:
    from ..context import Context


def handle(d: Context, msg: ops.Kill, peer: bytes) -> dict[str, Any]:
    session = d.get(msg.session)
    # An exited session may still hold processes (kept, or in their grace): they end too.
    if not d.terminate(session, msg.signum, msg.grace, hangup_first=msg.hangup_first,
                       reason="killed"):
        return {"signal": None, "status": "exited"}
    log.info("session=%s kill signal=%s%s grace=%.1fs", session.name,
             "SIGHUP+" if msg.hangup_first else "", signal_name(msg.signum), msg.grace)
    return {"signal": signal_name(msg.signum), "grace": msg.grace, "status": session.status}


SERVES = {"kill": (ops.Kill, handle)}
