"""detach: ask one viewer, or every viewer of a session, to leave (the session goes on)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops, pubsub

if TYPE_CHECKING:
    from ..context import Context


def handle(d: Context, msg: ops.Detach, peer: bytes) -> dict[str, Any]:
    session = d.get(msg.session)
    targets = [v for v in session.viewers.values() if msg.viewer in (None, v.id)]
    for viewer in targets:
        d.publish(pubsub.message_frames(pubsub.viewer_topic(viewer.id), {"type": "detach"}))
    return {"session": session.name, "detached": [v.id for v in targets]}


SERVES = {"detach": (ops.Detach, handle)}
