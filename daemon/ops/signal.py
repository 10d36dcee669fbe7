"""signal: deliver a signal to the session's program (or its whole process group)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from ptyd.proto import ops

from ..logs import log
from ..session import signal_name

if TYPE_CHECKING:
    from ..context import Context


def handle(d: Context, msg: ops.Signal, peer: bytes) -> dict[str, Any]:
    session = d.get_running(msg.session)
    # If it exited a moment ago, its exit is on its way through SIGCHLD.
    with contextlib.suppress(ProcessLookupError):
        session.send_signal(msg.signal, msg.group)
    log.info("session=%s signal=%s group=%s", session.name, signal_name(msg.signal), msg.group)
    return {"signal": signal_name(msg.signal)}


SERVES = {"signal": (ops.Signal, handle)}
