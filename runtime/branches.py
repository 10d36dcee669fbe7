"""A git branch per agent: create, commit, push, merge into integration, diff.

    from ptyd.runtime.branches import BranchManager

    branches = BranchManager(repo_dir=Path("."), integration_branch="integration")
    branches.create_agent_branch(agent_id="architect-T001", task_id="T001")
    # -> "agent/architect-T001-T001", checked out in <repo>/sandbox/architect-T001
    branches.commit_changes(agent_id="architect-T001", message="Completed API design")
    branches.push_branch("architect-T001")
    branches.merge_to_integration("architect-T001")
    diff = branches.get_diff_from_base("architect-T001")

Where the work happens: `create_agent_branch("a1", "T1")` creates `agent/a1-T1` from the
integration branch (created from the current HEAD the first time, or as an empty root commit in
a repository without commits) *and* checks it out as a linked worktree at `<workspace>/a1`
(default `<repo>/sandbox/a1`, excluded in the main checkout; see WorkspaceManager). The agent
edits files there; `commit_changes` commits what changed in that checkout (like `git add -A &&
git commit`, minus ignored and injected files); `merge_to_integration` fast-forwards or makes a
merge commit in memory, and reports a conflict (MergeConflict, with the paths) without changing
anything; `get_diff_from_base` is `git diff <integration>...<branch>` with per-file stats.

The manager is a client of the ptyd daemon, which owns the git work (the `git.*` ops, on
pygit2, in worker threads, serialized per repository where git requires it): the default
daemon (started if none runs; $PTYD_DIR chooses it), the one in `daemon_dir`, or through
`client`. Results (BranchInfo, BranchDiff, MergeResult) and exceptions (GitWorkspaceError and
its subclasses) are those of `ptyd.proto.gitworkspace`, rebuilt from the daemon's replies. The
repository is found once, at construction. Every method is safe to call from several threads.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Protocol

from ptyd.client import Client
from ptyd.proto.gitworkspace import (
    BranchDiff,
    BranchExists,
    BranchInfo,
    CredentialsFailed,
    DetachedHead,
    FileStat,
    GitWorkspaceError,
    InvalidArgument,
    MergeConflict,
    MergeOutcome,
    MergeResult,
    NotARepository,
    NothingToCommit,
    NotMerged,
    PushRejected,
    RemoteMissing,
    RepositoryLocked,
    SandboxExists,
    SandboxMissing,
    UncommittedChanges,
    UnknownAgent,
    WrongBranch,
)

from ._git_client import StrPath, absolute, connect, request
from .workspace import WorkspaceManager

__all__ = [
    "BranchDiff",
    "BranchExists",
    "BranchInfo",
    "BranchManager",
    "CredentialsFailed",
    "DetachedHead",
    "FileStat",
    "GitWorkspaceError",
    "InvalidArgument",
    "MergeConflict",
    "MergeOutcome",
    "MergeResult",
    "NotARepository",
    "NotMerged",
    "NothingToCommit",
    "PushRejected",
    "RemoteMissing",
    "RepositoryLocked",
    "SandboxExists",
    "SandboxMissing",
    "UncommittedChanges",
    "UnknownAgent",
    "WrongBranch",
]


class Identity(Protocol):
    """Who commits: a `pygit2.Signature`, or anything with a name and an email."""

    @property
    def name(self) -> str: ...

    @property
    def email(self) -> str: ...


class BranchManager:
    """Git branch operations for agents, one branch and one sandbox per agent.

    `repo_dir`: any path inside the repository. `integration_branch`: where agents' work is
    merged. `workspace`: where agents' checkouts live (default: `WorkspaceManager(<repo
    root>/sandbox, repo=<repo root>)`; required for a bare repository). Commits are made by
    `signature`'s or `author_name`/`author_email`'s identity, else the repository's user.name
    and user.email (as the daemon reads them), else `ptyd <ptyd@localhost>`; the time is taken
    at each commit. `client` / `daemon_dir`: which daemon does the work.
    """

    def __init__(
        self,
        repo_dir: StrPath,
        integration_branch: str = "integration",
        *,
        workspace: WorkspaceManager | None = None,
        signature: Identity | None = None,
        author_name: str | None = None,
        author_email: str | None = None,
        client: Client | None = None,
        daemon_dir: StrPath | None = None,
    ) -> None:
        self.repo_dir = Path(repo_dir)
        if client is None and workspace is not None:
            client = workspace.client
        self.client = connect(client, daemon_dir)
        described = request(self.client, "git.repo",
                            {"repo": absolute(repo_dir), "integration": integration_branch})
        self.common_dir = Path(described["common_dir"])
        self.integration_branch = integration_branch
        default_name, default_email = described["author"]["name"], described["author"]["email"]
        if signature is not None:
            default_name, default_email = signature.name, signature.email
        self.author_name: str = author_name or default_name
        self.author_email: str = author_email or default_email
        if workspace is None:
            workdir = described["workdir"]
            if workdir is None:
                raise GitWorkspaceError(
                    f"{self.common_dir} is a bare repository: pass "
                    "workspace=WorkspaceManager(<dir for checkouts>, repo=...)"
                )
            workspace = WorkspaceManager(Path(workdir) / "sandbox", repo=workdir,
                                         client=self.client)
        elif workspace.common_dir != self.common_dir:
            raise GitWorkspaceError(
                f"{workspace!r} manages {workspace.common_dir or 'plain directories'}, not "
                f"{self.common_dir}; create it with repo={str(self.repo_dir)!r}"
            )
        self.workspace = workspace

    def __repr__(self) -> str:
        return (
            f"BranchManager({str(self.repo_dir)!r}, "
            f"integration_branch={self.integration_branch!r})"
        )

    def _request(self, op: str, agent_id: str | None, **params: Any) -> dict[str, Any]:
        return request(self.client, op, {
            "repo": str(self.common_dir), "agent": agent_id,
            "integration": self.integration_branch,
            "sandbox_dir": absolute(self.workspace.base_dir), **params,
        })

    def _author(self) -> dict[str, str]:
        return {"name": self.author_name, "email": self.author_email}

    def _info(self, wire: dict[str, Any]) -> BranchInfo:
        """A BranchInfo from the daemon, its sandbox as this manager's workspace names it."""
        info = BranchInfo.from_wire(wire)
        if info.sandbox is None:
            return info
        return dataclasses.replace(info, sandbox=self.workspace.base_dir / info.agent_id)

    # ---- the seed's operations ------------------------------------------------------------

    def create_agent_branch(self, agent_id: str, task_id: str) -> str:
        """Create `agent/{agent_id}-{task_id}` from integration and check it out in the agent's
        sandbox; returns the branch name. An agent has one branch at a time (BranchExists)."""
        reply = self._request("git.create", agent_id, task=task_id, author=self._author())
        return str(reply["branch"])

    def commit_changes(self, agent_id: str, message: str) -> str:
        """Commit everything the agent changed in its sandbox; returns the commit id (hex).

        Like `git add -A && git commit`: new, modified and deleted files, minus those
        .gitignore (or info/exclude) ignores and minus injected context files.
        """
        reply = self._request("git.commit", agent_id, message=message, author=self._author())
        return str(reply["commit"])

    def push_branch(self, agent_id: str, remote: str = "origin", *, force: bool = False) -> str:
        """Push the agent's branch to the same name on `remote` and make that its upstream;
        returns the pushed commit id. Non-fast-forward (or any refusal) raises PushRejected.
        The daemon pushes as `git push` would, as the same user: a relative path remote is
        relative to the main checkout; ssh uses the daemon's ssh-agent ($SSH_AUTH_SOCK when it
        started) and ~/.ssh keys, http(s) git's credential helpers; CredentialsFailed names
        what was missing when none worked."""
        return str(self._request("git.push", agent_id, remote=remote, force=force)["commit"])

    def merge_to_integration(self, agent_id: str) -> MergeResult:
        """Merge the agent's committed work into integration: fast-forward when possible, else
        a merge commit. MergeConflict (with `.paths`) changes nothing. Uncommitted work in the
        sandbox is not merged."""
        return MergeResult.from_wire(self._request("git.merge", agent_id, author=self._author()))

    def get_diff_from_base(self, agent_id: str) -> BranchDiff:
        """The agent's committed work: `git diff <integration>...<branch>`, with file stats."""
        return BranchDiff.from_wire(self._request("git.diff", agent_id))

    # ---- state and deleting ---------------------------------------------------------------

    def get_branch_info(self, agent_id: str) -> BranchInfo:
        """The agent's branch state (ahead/behind integration, dirty, merged, pushed)."""
        return self._info(self._request("git.info", agent_id))

    def list_branches(self) -> list[BranchInfo]:
        """Every agent's branch, sorted by agent id."""
        return [self._info(b) for b in self._request("git.list", None)["branches"]]

    def delete_agent_branch(self, agent_id: str, *, force: bool = False) -> None:
        """Remove the agent's sandbox and branch, so the agent id can take a new task.

        Refuses commits integration lacks (NotMerged) and uncommitted work in the sandbox
        (UncommittedChanges) unless `force`; nothing is removed when it refuses.
        """
        self._request("git.delete", agent_id, force=force or None)
