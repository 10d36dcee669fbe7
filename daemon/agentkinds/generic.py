"""A generic agent: any interactive CLI ptyd knows nothing about (no hooks, no dialogs).

Its state comes from silence, as for a plain program; what it gains over one is that text sent
before it is first idle is held and typed then, so a prompt sent right after the spawn is not
lost while the program starts. The second kind, proving that the daemon asks agent kinds only
through their interface (agentkinds/__init__.py)."""

from __future__ import annotations

from typing import Any

from ptyd.proto.errors import bad_request

from ..agentstate import Change
from .base import Launch


class Generic:
    name = "generic"
    hooks = False

    def prepare(self, launch: Launch) -> list[str]:
        # Options it cannot honour are refused, never silently ignored (docs §4).
        if launch.trust:
            raise bad_request("spawn: 'trust' is for an agent whose config ptyd knows "
                              "(agent 'claude'), not 'generic'", param="trust")
        if launch.settings is not None:
            raise bad_request("spawn: 'agent_settings' is for agent 'claude', not 'generic'",
                              param="agent_settings")
        return list(launch.argv)

    def on_hook(self, event: str, payload: dict[str, Any]) -> Change | None:
        return None

    def find_dialog(self, lines: list[str]) -> tuple[str, str | None] | None:
        return None

    def resume_argv(self, argv: list[str], agent_session_id: str | None) -> list[str]:
        return list(argv)


KIND = Generic()
