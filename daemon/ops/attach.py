"""attach: register a viewer of a session, and tell it what to replay so its screen is right.

The viewer subscribes to its own topic `viewer:<id>` first (and confirms it with the sync
probe); its liveness is that subscription. The reply names the offset to replay from and the
mode preamble to write before it (see daemon/termstate.py); the viewer reads [replay_from, end)
with `read`, then goes live.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops
from ptyd.proto.errors import ErrorCode, ProtocolError

from ..viewers import Viewer

if TYPE_CHECKING:
    from ..context import Context

DEFAULT_REPLAY_BYTES = 256 << 10
"""A new viewer's screen is rebuilt from at most this much of the scrollback's tail (or less,
from the last clear or alternate-screen switch); it also lands in the viewer's own terminal
scrollback, so recent history scrolls back natively."""


def handle(d: Context, msg: ops.Attach, peer: bytes) -> dict[str, Any]:
    session = d.get(msg.session)
    if msg.viewer not in d.subscribed_viewers:
        raise ProtocolError(ErrorCode.BAD_REQUEST,
                            f"subscribe to the viewer topic 'viewer:{msg.viewer}\\0' (and wait for "
                            "the sync reply) before attaching", {"viewer": msg.viewer, "param": "viewer"})
    if d.viewer_in_use(msg.viewer):
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"viewer id {msg.viewer!r} is already "
                            "attached (each viewer needs its own id)", {"param": "viewer"})
    if session.running:
        cols = msg.cols or session.cols
        rows = msg.rows or session.rows
        d.add_viewer(session, Viewer(msg.viewer, session.name, peer, msg.read_only, cols, rows))
    ring, term = session.scrollback, session.term
    tail = DEFAULT_REPLAY_BYTES if msg.replay_bytes is None else msg.replay_bytes
    start = term.replay_start(ring.base, ring.end, tail)
    return {
        **session.describe(),
        "viewer": msg.viewer,
        "replay_from": start,
        "preamble": term.preamble(),
        "alt_screen": term.alt_screen,
        # The alternate screen was entered before the replayed tail: its content cannot be
        # rebuilt from bytes, so the viewer should ask the program to repaint (op redraw).
        "needs_redraw": term.alt_screen_since is not None and term.alt_screen_since < start,
    }


SERVES = {"attach": (ops.Attach, handle)}
