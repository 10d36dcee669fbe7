"""What ptyd knows about one agent CLI, behind one interface: an agent kind is one module.

`spawn {agent: KIND}` picks the kind. The daemon asks it four things and nothing else:

- `prepare(launch)`: before the program starts: files to write (settings with hooks), the
  argv and environment to start it with, folder trust; raises ProtocolError to refuse;
- `on_hook(event, payload)`: the state a hook report (`hook` op) puts the agent in;
- `find_dialog(lines)`: a dialog on the agent's screen (it waits for a person), if any;
- `resume_argv(argv, agent_session_id)`: the command that continues its conversation when a
  persistent session is relaunched.

`hooks` says whether the agent reports its state by hooks; without them the daemon reads the
state from silence (output means working, quiet means idle) and a line typed is a new turn, as
for a plain program, while input is still held until the agent first goes idle.

Adding a kind: one module here with a `KIND`, one entry in `KINDS`, its name in
proto/ops.py `AGENT_KINDS`, its line in docs/protocol.md §7.2.
"""

from __future__ import annotations

from typing import Any

from ..agentstate import Change, for_hook
from . import claude, generic
from .base import AgentKind, Launch

KINDS: dict[str, AgentKind] = {
    "claude": claude.KIND,
    "generic": generic.KIND,
}


def kind(agent: str | None) -> AgentKind | None:
    """The kind of a session's `agent` (None for a plain program)."""
    return KINDS[agent] if agent is not None else None


def by_silence(agent: str | None) -> bool:
    """Whether the daemon reads this session's state from silence (no hooks to tell it)."""
    known = kind(agent)
    return known is None or not known.hooks


def hook_change(agent: str | None, event: str, payload: dict[str, Any]) -> Change | None:
    """What a hook report means for a session of `agent`. A plain session speaks the
    vocabulary of `ptyd hook`, which is Claude Code's (daemon/agentstate.py)."""
    known = kind(agent)
    return for_hook(event, payload) if known is None else known.on_hook(event, payload)


__all__ = ["KINDS", "AgentKind", "Launch", "by_silence", "hook_change", "kind"]


def resume_argv(entry: dict[str, Any]) -> list[str]:
    """The command that continues a session's conversation (a persistent one after a reboot, a
    paused one resumed): `entry` has the spawn `request` and the `agent_session_id`. The id came
    from a hook: the kind uses only a UUID, joined to its option (`--resume=ID`), so no value
    can ever read as an option."""
    argv = list(entry["request"]["argv"])
    known = KINDS.get(entry["request"].get("agent") or "")
    return argv if known is None else known.resume_argv(argv, entry.get("agent_session_id"))
