"""git.*: an agent's branch, created, committed, pushed, merged into integration, diffed, listed,
deleted. Each handler returns an awaitable: the work runs in the git workers (daemon/git/service),
never on the loop. A branch is named by `session` (one spawned with `repo`) or by `repo` and
`agent`; refusals are `git_error` with data `{kind, paths}`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from ptyd.proto import ops
from ptyd.proto.errors import ErrorCode, ProtocolError

from ..session import Session

if TYPE_CHECKING:
    from ..context import Context
    from ..git import service
    from ..git.service import AgentBranch
else:
    from ._gitlazy import service

Reply = Awaitable[dict[str, Any]]


def agent_branch(d: Context, target: ops.GitTarget) -> AgentBranch:
    """The branch a request names; a session must have been spawned on one."""
    if target.session is None:
        assert target.repo is not None and target.agent is not None
        return service.AgentBranch(target.repo, target.agent, target.integration,
                                   target.sandbox_dir)
    session = d.get(target.session)
    if session.repo is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST,
                            f"session {session.name!r} works on no branch (spawn it with 'repo' "
                            "and 'task', or name the branch by 'repo' and 'agent')",
                            {"session": session.name, "param": "session"})
    return branch_of(session)


def branch_of(session: Session) -> AgentBranch:
    """The branch of a session spawned with `repo`: its name is the agent id."""
    assert session.repo is not None
    return service.AgentBranch(session.repo, session.name,
                               session.integration or ops.DEFAULT_INTEGRATION,
                               session.sandbox_dir)


def note_clean(d: Context, where: AgentBranch) -> None:
    """A commit just took everything: the agent's session (if any) has no changes now."""
    session = d.sessions.get(where.agent)
    if session is not None and session.repo is not None:
        session.dirty, session.dirty_at = False, time.time()


def repo(d: Context, msg: ops.GitRepo, peer: bytes) -> Reply:
    return service.run(service.describe, msg)


def create(d: Context, msg: ops.GitCreate, peer: bytes) -> Reply:
    return service.run(service.create, msg, d.config.worktrees)


async def _commit(d: Context, where: AgentBranch, msg: ops.GitCommit) -> dict[str, Any]:
    result = await service.run(service.commit, where, msg.message, msg.author)
    note_clean(d, where)
    return result


def commit(d: Context, msg: ops.GitCommit, peer: bytes) -> Reply:
    return _commit(d, agent_branch(d, msg.target), msg)


def push(d: Context, msg: ops.GitPush, peer: bytes) -> Reply:
    return service.run(service.push, agent_branch(d, msg.target), msg.remote, msg.force)


def merge(d: Context, msg: ops.GitMerge, peer: bytes) -> Reply:
    return service.run(service.merge, agent_branch(d, msg.target), msg.author)


def diff(d: Context, msg: ops.GitDiff, peer: bytes) -> Reply:
    return service.run(service.diff, agent_branch(d, msg.target), msg.patch)


def info(d: Context, msg: ops.GitInfo, peer: bytes) -> Reply:
    return service.run(service.info, agent_branch(d, msg.target))


def listing(d: Context, msg: ops.GitList, peer: bytes) -> Reply:
    return service.run(service.list_branches, msg)


def delete(d: Context, msg: ops.GitDelete, peer: bytes) -> Reply:
    return service.run(service.delete, agent_branch(d, msg.target), msg.force)


SERVES = {
    "git.repo": (ops.GitRepo, repo),
    "git.create": (ops.GitCreate, create),
    "git.commit": (ops.GitCommit, commit),
    "git.push": (ops.GitPush, push),
    "git.merge": (ops.GitMerge, merge),
    "git.diff": (ops.GitDiff, diff),
    "git.info": (ops.GitInfo, info),
    "git.list": (ops.GitList, listing),
    "git.delete": (ops.GitDelete, delete),
}
