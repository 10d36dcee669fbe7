"""input: bytes to the session's terminal, as if typed.

Input is never eaten by an agent (`agent: "claude"`) that cannot take it: text sent while it
starts is held and typed once it is idle at its prompt; text sent while it shows a dialog is
refused (it would answer the dialog, and be lost), unless `force`. Keys (control bytes, escape
sequences, one single character: see agentstate.is_key) always go through, to answer dialogs;
so does what a person attached to the session types (a viewer's input).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops
from ptyd.proto.errors import ErrorCode, ProtocolError

from .. import agentdriver
from ..agentkinds import by_silence
from ..agentstate import WORKING, is_key
from ..session import MAX_PENDING_INPUT_BYTES

if TYPE_CHECKING:
    from ..context import Context


def handle(d: Context, msg: ops.Input, peer: bytes) -> dict[str, Any] | None:
    session = d.get_running(msg.session)
    viewer = d.viewer_of(session, msg.viewer, peer)
    if msg.viewer is not None and viewer is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST,
                            f"no viewer {msg.viewer!r} on session {msg.session!r}",
                            {"param": "viewer"})
    if viewer is not None:
        if viewer.read_only:
            raise ProtocolError(ErrorCode.READ_ONLY,
                                f"viewer {viewer.id} is attached read-only to {msg.session!r}",
                                {"session": msg.session, "viewer": viewer.id})
        viewer.touch()  # the most recently active writer decides the size (policy latest)
        d.apply_size_policy(session)
    queued = session.pending_input_bytes + session.held_input_bytes
    if queued + len(msg.data) > MAX_PENDING_INPUT_BYTES:
        raise ProtocolError(ErrorCode.LIMIT_EXCEEDED,
                            f"session {msg.session!r} is not reading its input; "
                            f"{queued} bytes are already queued",
                            {"limit": "max_pending_input_bytes", "max": MAX_PENDING_INPUT_BYTES})
    # A person attached (a viewer) sees the screen and types into it: never held or refused.
    force = msg.force or viewer is not None
    key = is_key(msg.data)
    if (session.agent is not None and not force and not key
            and agentdriver.at_dialog(session)):
        raise ProtocolError(
            ErrorCode.AGENT_DIALOG,
            f"session {msg.session!r} is waiting at a dialog ({session.state_reason}: "
            f"{session.state_text or 'see ptyd attach'}): text would answer it and be lost; "
            "answer it with keys (ptyd send NAME -k Enter), or force the text",
            {"session": msg.session, "state_reason": session.state_reason,
             "state_text": session.state_text})
    turn, seq = session.turn, d.events.last_seq
    held = not force and agentdriver.holds_input(session, key)
    if held:
        agentdriver.hold(session, msg.data)
    else:
        d.write_input(session, msg.data)
    if by_silence(session.agent) and not held and (b"\r" in msg.data or b"\n" in msg.data):
        # Without hooks, a line submitted is a new turn: working now, idle after the silence.
        d.set_state(session, WORKING, "input", new_turn=True)
        d.note_activity(session, output=False)
    if not msg.ack:
        return None  # the client does not wait for it: an error is all it would want
    return {"bytes": len(msg.data), "turn": turn, "seq": seq, "epoch": session.epoch,
            "held": held}


SERVES = {"input": (ops.Input, handle)}
