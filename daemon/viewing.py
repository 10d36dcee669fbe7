"""Viewers of a session, and whose window decides its size; forced repaints.

A mixin of the Daemon (daemon/server.py). A viewer's liveness is its subscription to its own
topic: the XPUB socket reports the subscription, and its disappearance when the viewer's
connection closes.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ptyd.proto import pubsub

from .logs import log
from .session import Session
from .viewers import Viewer, wanted_size

if TYPE_CHECKING:
    from .recording import Recordings

REDRAW_RESTORE_S = 0.05
"""How long the one-row-smaller size of a forced redraw lasts: long enough for the program to
see it (a SIGWINCH pair read as one would show no change)."""


class Viewing:
    if TYPE_CHECKING:
        sessions: dict[str, Session]
        recordings: Recordings
        subscribed_viewers: set[str]
        _viewers: dict[str, Viewer]
        _loop: asyncio.AbstractEventLoop | None

        def emit(self, type_: str, **fields: Any) -> dict[str, Any]: ...

    def add_viewer(self, session: Session, viewer: Viewer) -> None:
        session.viewers[viewer.id] = viewer
        self._viewers[viewer.id] = viewer
        log.info("session=%s viewer=%s attached read_only=%s size=%dx%d", session.name,
                 viewer.id, viewer.read_only, viewer.cols, viewer.rows)
        self.emit("viewer.attached", session=session.name, viewer=viewer.id,
                  read_only=viewer.read_only, viewers=len(session.viewers))
        self.apply_size_policy(session)

    def drop_viewer(self, viewer_id: str) -> None:
        viewer = self._viewers.pop(viewer_id, None)
        session = self.sessions.get(viewer.session) if viewer else None
        if viewer is None or session is None or session.viewers.pop(viewer_id, None) is None:
            return
        log.info("session=%s viewer=%s detached", session.name, viewer_id)
        self.emit("viewer.detached", session=session.name, viewer=viewer_id,
                  viewers=len(session.viewers))
        self.apply_size_policy(session)

    def viewer_of(self, session: Session, viewer_id: str | None, peer: bytes) -> Viewer | None:
        """The viewer a request speaks for: named explicitly, or the peer's own viewer."""
        if viewer_id is not None:
            return session.viewers.get(viewer_id)
        for viewer in session.viewers.values():
            if viewer.peer == peer:
                return viewer
        return None

    def apply_size_policy(self, session: Session) -> None:
        if not session.running:
            return
        cols, rows = wanted_size(session.size_policy, list(session.viewers.values()),
                                 (session.cols, session.rows))
        if (cols, rows) != (session.cols, session.rows):
            self.resize(session, cols, rows, "viewer")

    def resize(self, session: Session, cols: int, rows: int, reason: str) -> bool:
        changed = (session.cols, session.rows) != (cols, rows)
        session.set_size(cols, rows)
        if changed:
            self.recordings.resize(session, cols, rows)
            self.emit("session.resized", session=session.name, epoch=session.epoch, cols=cols,
                      rows=rows, reason=reason)
        return changed

    def redraw(self, session: Session) -> None:
        """Make the program repaint: a real size change (one row less), then back. A SIGWINCH
        without a change is ignored by most programs, and Ctrl-L corrupts Ink-based TUIs."""
        assert self._loop is not None
        cols, rows = session.cols, session.rows
        session.set_size(cols, max(1, rows - 1) if rows > 1 else rows + 1)
        session.timers.append(self._loop.call_later(REDRAW_RESTORE_S, self._restore_size,
                                                    session, cols, rows))

    def _restore_size(self, session: Session, cols: int, rows: int) -> None:
        if session.running:
            session.set_size(cols, rows)

    def _on_subscription(self, message: bytes) -> None:
        """XPUB tells us when a viewer subscribes to its topic, and when that subscription goes
        away, which ZeroMQ reports when the viewer's connection closes: viewer liveness."""
        topic = message[1:]
        if not topic.startswith(pubsub.VIEWER_PREFIX):
            return
        viewer_id = topic[len(pubsub.VIEWER_PREFIX):].rstrip(b"\x00").decode(errors="replace")
        if message[:1] == b"\x01":
            self.subscribed_viewers.add(viewer_id)
        else:
            self.subscribed_viewers.discard(viewer_id)
            self.drop_viewer(viewer_id)

    def viewer_in_use(self, viewer_id: str) -> bool:
        return viewer_id in self._viewers

    def adopt_viewer(self, viewer: Viewer) -> None:
        self._viewers[viewer.id] = viewer

    def drop_viewer_unless_subscribed(self, viewer_id: str) -> None:
        if viewer_id not in self.subscribed_viewers:
            self.drop_viewer(viewer_id)
