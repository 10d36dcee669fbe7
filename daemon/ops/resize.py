"""resize: set the terminal size; the program gets SIGWINCH if it changed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops

if TYPE_CHECKING:
    from ..server import Daemon


def handle(d: Daemon, msg: ops.Resize, peer: bytes) -> dict[str, Any]:
    session = d.get_running(msg.session)
    changed = (session.cols, session.rows) != (msg.cols, msg.rows)
    session.set_size(msg.cols, msg.rows)
    if changed:
        d.emit("session.resized", session=session.name, cols=msg.cols, rows=msg.rows)
    return {"cols": msg.cols, "rows": msg.rows, "changed": changed}
