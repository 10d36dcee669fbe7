"""Rules over several parameters of one request, which no parameter's type can say.

A spec entry names the checks its op needs (`OpSpec(..., checks=(size_pair, ...))`); the generic
decoder runs them, in order, on the decoded values after every parameter passed its own type.
Each takes the op's name (for the message) and the values (absent parameters are their
defaults), and raises `bad_request` naming the parameter to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import bad_request

Check = Callable[[str, dict[str, Any]], None]


def size_pair(op: str, v: dict[str, Any]) -> None:
    """`cols` and `rows` are a window: both or neither."""
    if (v["cols"] is None) != (v["rows"] is None):
        raise bad_request(f"{op}: give both 'cols' and 'rows', or neither",
                          param="rows" if v["rows"] is None else "cols")


def program_named(op: str, v: dict[str, Any]) -> None:
    if not v["argv"][0]:
        raise bad_request(f"{op}: argv[0] (the program) must not be empty", param="argv")


def trust_needs_agent(op: str, v: dict[str, Any]) -> None:
    if v["trust"] and v["agent"] is None:
        raise bad_request(f"{op}: 'trust' needs 'agent' (trust the folder in which agent's "
                          "config?)", param="trust")


def branch_needs_repo(op: str, v: dict[str, Any]) -> None:
    """spawn on an agent branch: `repo` with `task`, never with `cwd` (docs §13.6)."""
    if v["repo"] is None:
        given = [k for k in ("task", "integration", "sandbox_dir") if v[k] is not None]
        if given:
            raise bad_request(f"{op}: {given[0]!r} needs 'repo' (an agent branch of which "
                              "repository?)", param=given[0])
        return
    if v["task"] is None:
        raise bad_request(f"{op}: 'repo' needs 'task' (the branch is agent/<name>-<task>)",
                          param="task")
    if v["cwd"] is not None:
        raise bad_request(f"{op}: give 'cwd' or 'repo', not both (an agent of a repository "
                          "works in its own checkout)", param="cwd")


def agent_settings_shape(op: str, v: dict[str, Any]) -> None:
    """Written as the agent's JSON settings file: JSON values only, `hooks` as Claude has it."""
    settings = v["agent_settings"]
    if settings is None:
        return
    if v["agent"] is None:
        raise bad_request(f"{op}: 'agent_settings' needs 'agent' (settings of which agent?)",
                          param="agent_settings")
    if not json_like(settings):
        raise bad_request(f"{op}: 'agent_settings' must hold only JSON values (no binary)",
                          param="agent_settings")
    hooks = settings.get("hooks")
    if hooks is not None and not (isinstance(hooks, dict)
                                  and all(isinstance(h, list) for h in hooks.values())):
        raise bad_request(f"{op}: 'agent_settings.hooks' must map event names to lists of hook "
                          "entries, as in Claude Code's settings", param="agent_settings")


def one_branch_form(op: str, v: dict[str, Any]) -> None:
    """An agent's branch is named by `session`, or by `repo` and `agent` (docs §13.2)."""
    others = ("repo", "agent", "integration", "sandbox_dir")
    if v["session"] is not None:
        given = [k for k in others if v[k] is not None]
        if given:
            raise bad_request(f"{op}: give 'session', or 'repo' and 'agent', not both (the "
                              "session knows its repository)", param=given[0])
    elif v["repo"] is None or v["agent"] is None:
        raise bad_request(f"{op}: name the agent's branch by 'session', or by 'repo' and "
                          "'agent'", param="agent" if v["repo"] is not None else "repo")


def json_like(value: Any, depth: int = 0) -> bool:
    """Values a JSON file can hold (agent_settings and notify rules are written or read so)."""
    if depth > 32:
        return False
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list):
        return all(json_like(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_like(v, depth + 1) for k, v in value.items())
    return False
