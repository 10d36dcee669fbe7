"""The git engine as the daemon serves it: in worker threads, with errors sent as `git_error`.

pygit2 blocks (disk I/O, network for a push), so no git work runs on the event loop: `run()`
hands each call to a small module-level thread pool and awaits it, and the loop goes on serving
every other request meanwhile. Most of libgit2's slow work (index writes, checkouts, push) lets
go of the GIL; its status and diff hold it while they run, so a status of a huge checkout still
costs the loop that long (pygit2's C extension, not something a thread can change).

Serialization is the engine's: its per-repository and per-agent locks (see _git) are process-wide,
and every git operation of the daemon runs in this process, so concurrent requests on one
repository take turns where git's lock files require it, while requests on other repositories
(and other agents' commits) run side by side, GIT_WORKERS at a time.

Every function below except `run` runs in a worker thread: it builds the engine's managers for
the request (they are plain configuration; the repository and its locks are the state), does the
work, and returns the reply's wire map.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pygit2
from pygit2.enums import Option

from ptyd.proto import ops
from ptyd.proto.errors import ErrorCode, ProtocolError
from ptyd.proto.gitworkspace import BranchExists, GitWorkspaceError, UnknownAgent

from ..logs import log
from . import setup as worktree_setup
from ._git import check_branch_name, configured_identity, find_common_dir, open_repo
from ._git_worktree import worktree_gitdir
from .branches import BranchManager
from .setup import WorktreeSetup
from .workspace import WorkspaceManager

P = ParamSpec("P")
T = TypeVar("T")

GIT_WORKERS = 4
"""Git operations running at once; more queue (in order) until a worker is free."""

NETWORK_CONNECT_TIMEOUT_MS = 30_000
NETWORK_TIMEOUT_MS = 120_000
"""libgit2 waits forever on a silent server by default: a push to a remote that stopped
answering would hold a worker (and the daemon's exit, which waits for its workers) for good."""

_POOL = ThreadPoolExecutor(GIT_WORKERS, thread_name_prefix="ptyd-git")
pygit2.option(Option.SET_SERVER_CONNECT_TIMEOUT, NETWORK_CONNECT_TIMEOUT_MS)
pygit2.option(Option.SET_SERVER_TIMEOUT, NETWORK_TIMEOUT_MS)


async def run(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` in a git worker; a refusal of the engine becomes `git_error`."""
    loop = asyncio.get_running_loop()
    start = time.monotonic()
    try:
        result = await loop.run_in_executor(_POOL, functools.partial(fn, *args, **kwargs))
    except GitWorkspaceError as e:
        log.info("git %s refused: kind=%s %s", fn.__name__, e.kind, e)
        raise ProtocolError(ErrorCode.GIT_ERROR, str(e), e.to_wire()) from None
    except (pygit2.GitError, OSError) as e:
        # What the engine did not foresee: a libgit2 error it does not translate, or the
        # filesystem refusing a directory or file (permissions, a full disk).
        log.info("git %s failed: %r", fn.__name__, e)
        error = GitWorkspaceError(f"{fn.__name__.replace('_', ' ')} failed: {e}")
        raise ProtocolError(ErrorCode.GIT_ERROR, str(error), error.to_wire()) from None
    log.debug("git %s took %.1fms", fn.__name__, (time.monotonic() - start) * 1000)
    return result


@dataclass(frozen=True)
class AgentBranch:
    """One agent's branch, resolved from a request (or from the session that names it)."""

    repo: str
    agent: str
    integration: str = ops.DEFAULT_INTEGRATION
    sandbox_dir: str | None = None
    """Where the agents' checkouts live; None: `<repository>/sandbox`."""
    setups: Mapping[str, WorktreeSetup] = field(default_factory=dict)
    """The daemon configuration's worktree setups (for a checkout made new)."""


@dataclass(frozen=True)
class Checkout:
    """An agent's branch checked out for a session (`spawn` with `repo`)."""

    branch: str
    sandbox: Path
    created: bool
    """False when the agent's branch for this task existed and was reused."""
    setup: WorktreeSetup | None = None
    """A new worktree's `setup` command to run before the agent (.ptyd.toml), if any."""


def _manager(where: AgentBranch, author: ops.Author | None = None) -> BranchManager:
    workspace = None if where.sandbox_dir is None else \
        WorkspaceManager(where.sandbox_dir, repo=where.repo, setups=where.setups)
    return BranchManager(where.repo, where.integration, workspace=workspace,
                         author_name=author.name if author else None,
                         author_email=author.email if author else None, setups=where.setups)


def _sandboxes(where: ops.Sandboxes, setups: Mapping[str, WorktreeSetup] | None = None
               ) -> WorkspaceManager:
    return WorkspaceManager(where.sandbox_dir, repo=where.repo, setups=setups)


# ---- git.* -----------------------------------------------------------------------------------


def describe(msg: ops.GitRepo) -> dict[str, Any]:
    """git.repo: the repository's common dir, checkout, identity; NotARepository if none."""
    common = find_common_dir(msg.repo)
    check_branch_name(msg.integration)
    with open_repo(common) as repo:
        name, email = configured_identity(repo)
        workdir = repo.workdir
    sandbox_dir = msg.sandbox_dir or (None if workdir is None else str(Path(workdir) / "sandbox"))
    return {
        "common_dir": str(common),
        "workdir": None if workdir is None else str(Path(workdir)),
        "bare": workdir is None,
        "integration": msg.integration,
        "sandbox_dir": sandbox_dir,
        "author": {"name": name, "email": email},
    }


def create(msg: ops.GitCreate, setups: Mapping[str, WorktreeSetup]) -> dict[str, Any]:
    branches = _manager(AgentBranch(msg.repo, msg.agent, msg.integration, msg.sandbox_dir,
                                    setups), msg.author)
    name = branches.create_agent_branch(msg.agent, msg.task)
    return {"branch": name, "agent": msg.agent, "task": msg.task,
            "sandbox": str((branches.workspace.base_dir / msg.agent).absolute())}


def commit(where: AgentBranch, message: str, author: ops.Author | None) -> dict[str, Any]:
    return {"agent": where.agent,
            "commit": _manager(where, author).commit_changes(where.agent, message)}


def push(where: AgentBranch, remote: str, force: bool) -> dict[str, Any]:
    head = _manager(where).push_branch(where.agent, remote, force=force)
    return {"agent": where.agent, "remote": remote, "commit": head}


def merge(where: AgentBranch, author: ops.Author | None) -> dict[str, Any]:
    return _manager(where, author).merge_to_integration(where.agent).to_wire()


def diff(where: AgentBranch, with_patch: bool) -> dict[str, Any]:
    return _manager(where).get_diff_from_base(where.agent).to_wire(with_patch)


def info(where: AgentBranch) -> dict[str, Any]:
    return _manager(where).get_branch_info(where.agent).to_wire()


def list_branches(msg: ops.GitList) -> dict[str, Any]:
    where = AgentBranch(msg.repo, "", msg.integration, msg.sandbox_dir)
    return {"branches": [b.to_wire() for b in _manager(where).list_branches()]}


def delete(where: AgentBranch, force: bool) -> dict[str, Any]:
    _manager(where).delete_agent_branch(where.agent, force=force)
    return {"agent": where.agent, "deleted": True}


# ---- sandbox.* -------------------------------------------------------------------------------


def sandbox_create(msg: ops.SandboxCreate, setups: Mapping[str, WorktreeSetup]
                   ) -> dict[str, Any]:
    return {"path": str(_sandboxes(msg.where, setups).create_sandbox(msg.agent,
                                                                       branch=msg.branch))}


def sandbox_get(msg: ops.SandboxGet) -> dict[str, Any]:
    workspace = _sandboxes(msg.where)
    path = workspace.get_sandbox(msg.agent)
    changes = workspace.uncommitted_changes(msg.agent) if msg.changes else None
    return {"path": str(path), "injected": sorted(workspace.injected_files(msg.agent)),
            "changes": changes}


def sandbox_list(msg: ops.SandboxList) -> dict[str, Any]:
    return {"sandboxes": {agent: str(path)
                          for agent, path in _sandboxes(msg.where).sandboxes().items()}}


def sandbox_inject(msg: ops.SandboxInject) -> dict[str, Any]:
    written = _sandboxes(msg.where).inject_claude_md(msg.agent, msg.content,
                                                     also_legacy_name=msg.legacy_name)
    return {"paths": [str(path) for path in written]}


def sandbox_cleanup(msg: ops.SandboxCleanup) -> dict[str, Any]:
    _sandboxes(msg.where).cleanup(msg.agent, force=msg.force)
    return {"agent": msg.agent, "removed": True}


def sandbox_cleanup_all(msg: ops.SandboxCleanupAll) -> dict[str, Any]:
    workspace = _sandboxes(msg.where)
    before = set(workspace.sandboxes())
    workspace.cleanup_all(force=msg.force)
    return {"removed": sorted(before)}


# ---- sessions on agent branches ------------------------------------------------------------


def check_out(where: AgentBranch, task: str) -> Checkout:
    """The agent's branch for `task` and its checkout: created, or reused if the agent already
    works on that task (a restarted agent goes on where it left off)."""
    branches = _manager(where)
    try:
        name = branches.create_agent_branch(where.agent, task)
        created = True
    except BranchExists as exists:
        try:
            existing = branches.get_branch_info(where.agent)
        except UnknownAgent:
            raise exists from None  # a branch of that name that is no agent's
        if existing.task_id != task:
            raise  # the agent works on another task
        name = existing.name
        branches.workspace.create_sandbox(where.agent)  # returns it, or checks it out again
        created = False
    sandbox = (branches.workspace.base_dir / where.agent).absolute()
    # A setup not yet run (a worktree made by BranchManager, or whose setup failed) runs now.
    plan = worktree_setup.pending(worktree_gitdir(branches.common_dir, where.agent))
    return Checkout(name, sandbox, created, plan)


def discard(where: AgentBranch) -> None:
    """Undo check_out's creation (the program could not be started): sandbox and branch."""
    _manager(where).delete_agent_branch(where.agent, force=True)


def dirty(where: AgentBranch) -> bool | None:
    """Whether the agent's checkout holds uncommitted work; None if it has no checkout."""
    try:
        return bool(_manager(where).workspace.uncommitted_changes(where.agent))
    except UnknownAgent:
        return None
