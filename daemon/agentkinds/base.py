"""The interface of an agent kind (see agentkinds/__init__.py), apart so kinds can import it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..agentstate import Change


@dataclass
class Launch:
    """A session about to start, as an agent kind may adjust it."""

    runtime_dir: Path
    name: str
    argv: list[str]
    env: dict[str, str]
    """The program's environment: a kind may add to it."""
    cwd: str
    settings: dict[str, Any] | None
    """The spawn's `agent_settings`."""
    trust: bool
    """The spawn's `trust`: mark `cwd` trusted in the agent's own config."""
    repo: str | None
    """The repository whose checkout `cwd` is (spawn with `repo`), else None."""


class AgentKind(Protocol):
    name: str
    hooks: bool

    def prepare(self, launch: Launch) -> list[str]: ...
    def on_hook(self, event: str, payload: dict[str, Any]) -> Change | None: ...
    def find_dialog(self, lines: list[str]) -> tuple[str, str | None] | None: ...
    def resume_argv(self, argv: list[str], agent_session_id: str | None) -> list[str]: ...
