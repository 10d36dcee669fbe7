"""hook: an agent's own hook (Claude Code's, through `ptyd hook`) reports what it is doing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops

from ..agentstate import state_for_hook
from ..logs import log

if TYPE_CHECKING:
    from ..server import Daemon


def handle(d: Daemon, msg: ops.Hook, peer: bytes) -> dict[str, Any]:
    session = d.get(msg.session)
    agent_id = msg.payload.get("session_id")
    if isinstance(agent_id, str) and agent_id and session.agent_session_id != agent_id:
        session.agent_session_id = agent_id  # what `claude --resume <id>` takes
        d.resume_registry.update(session, agent_session_id=agent_id)
        log.info("session=%s agent_session_id=%s", session.name, agent_id)
    state = state_for_hook(msg.event, msg.payload)
    if state is not None:
        d.set_state(session, state, f"hook {msg.event}")
    return {"session": session.name, "state": session.state}
