"""hook: an agent's own hook (Claude Code's, through `ptyd hook`) reports what it is doing.

Hook data is data: the report must carry the session's token (PTYD_SESSION_TOKEN, in the
session's environment only), so a process may report only for the session it runs in; and the
agent's session id, which later becomes an argument of `claude --resume`, must be a UUID.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from ptyd.proto import ops
from ptyd.proto.errors import bad_request

from .. import agentdriver
from ..agentkinds import hook_change
from ..agentstate import AGENT_SESSION_ID_RE
from ..logs import log
from ..spawner import TOKEN_ENV

if TYPE_CHECKING:
    from ..context import Context


def handle(d: Context, msg: ops.Hook, peer: bytes) -> dict[str, Any]:
    session = d.get(msg.session)
    expected = session.env.get(TOKEN_ENV, "")
    if not msg.token or not expected or not hmac.compare_digest(msg.token, expected):
        log.warning("session=%s hook %s refused: %s token", session.name, msg.event,
                    "wrong" if msg.token else "no")
        raise bad_request(f"hook: {'a wrong' if msg.token else 'no'} 'token' for session "
                          f"{msg.session!r} (a hook reports only for the session it runs in: "
                          f"send ${TOKEN_ENV} from its environment)", param="token")
    payload = msg.payload or {}
    agent_id = payload.get("session_id")
    if agent_id is not None and not (isinstance(agent_id, str)
                                     and AGENT_SESSION_ID_RE.fullmatch(agent_id)):
        raise bad_request("hook: 'payload.session_id' must be a UUID "
                          "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, hexadecimal)",
                          param="payload.session_id")
    if agent_id is not None and session.agent_session_id != agent_id:
        session.agent_session_id = agent_id  # what `claude --resume <id>` takes
        d.resume_registry.update(session, agent_session_id=agent_id)
        log.info("session=%s agent_session_id=%s", session.name, agent_id)
    change = hook_change(session.agent, msg.event, payload)
    if change is not None:
        agentdriver.apply(d, session, change, f"hook {msg.event}")
    return {"session": session.name, "state": session.state}


SERVES = {"hook": (ops.Hook, handle)}
