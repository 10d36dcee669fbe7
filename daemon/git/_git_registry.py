"""Which branch belongs to which agent, recorded in the repository's own config.

An agent id cannot be parsed back out of `agent/{agent_id}-{task_id}` (both may contain '-'), and
an in-memory table would be lost when the daemon restarts and would differ between two managers.
So the record lives in `.git/config`, keyed by agent so a lookup is one hashed read (iterating
all config entries through pygit2 costs ~10 us each, and that adds up with 50 agents):

    [ptyd-agent "architect-T001"]
        branch = agent/architect-T001-T001
        task = T001
        created-from = 1f0c...        # integration's head when the branch was made

A record whose branch no longer exists (deleted with the git CLI, say) is ignored. Writers must
hold the repository lock (config.lock is one file for the whole repository).
"""

from __future__ import annotations

from dataclasses import dataclass

import pygit2

_SECTION = "ptyd-agent"
_FIELDS = ("branch", "task", "created-from")


@dataclass(frozen=True)
class AgentRecord:
    """One agent's branch as registered in the repository config."""

    agent_id: str
    task_id: str
    branch: str
    created_from: str


def branch_name(agent_id: str, task_id: str) -> str:
    """The seed's naming convention: `agent/{agent_id}-{task_id}`."""
    return f"agent/{agent_id}-{task_id}"


def register(repo: pygit2.Repository, record: AgentRecord) -> None:
    """Record `record.branch` as `record.agent_id`'s branch (caller holds the repo lock)."""
    config = repo.config
    prefix = f"{_SECTION}.{record.agent_id}"
    config[f"{prefix}.branch"] = record.branch
    config[f"{prefix}.task"] = record.task_id
    config[f"{prefix}.created-from"] = record.created_from


def unregister(repo: pygit2.Repository, agent_id: str) -> None:
    """Forget the agent's record (caller holds the repo lock). libgit2 keeps the empty
    `[ptyd-agent "<id>"]` header, as it does for a deleted branch's section."""
    config = repo.config
    for field in _FIELDS:
        key = f"{_SECTION}.{agent_id}.{field}"
        if key in config:
            del config[key]


def lookup(repo: pygit2.Repository, agent_id: str) -> AgentRecord | None:
    """The agent's registered branch, or None (also when the branch has gone)."""
    config = repo.config
    prefix = f"{_SECTION}.{agent_id}"
    values: dict[str, str | None] = {}
    for field in _FIELDS:
        key = f"{prefix}.{field}"
        # pygit2's Config has no .get(); `in` then `[]` is two hashed lookups.
        values[field] = config[key] if key in config else None  # noqa: SIM401
    return _record(repo, agent_id, values)


def all_records(repo: pygit2.Repository) -> list[AgentRecord]:
    """Every registered agent whose branch exists, sorted by agent id."""
    fields: dict[str, dict[str, str | None]] = {}
    for entry in repo.config:
        # libgit2 lower-cases section and key but keeps the subsection (the agent id) as is.
        if entry.name.startswith(f"{_SECTION}."):
            agent_id, _, field = entry.name[len(_SECTION) + 1 :].rpartition(".")
            fields.setdefault(agent_id, {})[field] = entry.value
    records = (_record(repo, agent_id, values) for agent_id, values in fields.items())
    return sorted((r for r in records if r is not None), key=lambda r: r.agent_id)


def _record(
    repo: pygit2.Repository, agent_id: str, values: dict[str, str | None]
) -> AgentRecord | None:
    branch = values.get("branch")
    if not branch or branch not in repo.branches.local:
        return None
    return AgentRecord(
        agent_id=agent_id,
        task_id=values.get("task") or "",
        branch=branch,
        created_from=values.get("created-from") or "",
    )
