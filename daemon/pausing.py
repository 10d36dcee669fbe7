"""What a pause commit is called. Whether a session is paused, and the request that spawned
it (to start it again as it was), are the session's own fields (`paused`, `spawn_params`),
carried across an upgrade and a crash like the rest of it (daemon/sessionstate.py)."""

from __future__ import annotations

WIP_PREFIX = "WIP"
"""A pause's commit message starts with it, so the commit reads as work in progress."""


def wip_message(name: str, message: str | None) -> str:
    text = message or f"paused by ptyd ({name})"
    return text if text.startswith(WIP_PREFIX) else f"{WIP_PREFIX}: {text}"
