"""What `pause` and `resume` remember about an agent's session: the request that spawned it
(to start it again as it was) and whether it is paused. Kept by session object, in memory: a
session that goes away takes its entries with it. Not carried across an upgrade or a restart
(the branch is, and a person can spawn the agent on it again)."""

from __future__ import annotations

import weakref
from typing import Any

from .session import Session

_SPAWNED: weakref.WeakKeyDictionary[Session, dict[str, Any]] = weakref.WeakKeyDictionary()
_PAUSED: weakref.WeakSet[Session] = weakref.WeakSet()

WIP_PREFIX = "WIP"
"""A pause's commit message starts with it, so the commit reads as work in progress."""


def remember_spawn(session: Session, params: dict[str, Any]) -> None:
    _SPAWNED[session] = dict(params)


def spawn_params(session: Session) -> dict[str, Any] | None:
    params = _SPAWNED.get(session)
    return None if params is None else dict(params)


def mark_paused(session: Session) -> None:
    _PAUSED.add(session)


def is_paused(session: Session) -> bool:
    return session in _PAUSED


def wip_message(name: str, message: str | None) -> str:
    text = message or f"paused by ptyd ({name})"
    return text if text.startswith(WIP_PREFIX) else f"{WIP_PREFIX}: {text}"
