"""A directory per agent: a plain folder, or a git worktree of the agent's branch.

    from ptyd.runtime.workspace import WorkspaceManager

    workspace = WorkspaceManager(Path("sandbox"))
    path = workspace.create_sandbox("architect-T001")      # Path("sandbox/architect-T001")
    workspace.inject_claude_md("architect-T001", claude_md_content)
    workspace.cleanup("architect-T001")

Without a repository, `create_sandbox("a1")` makes `sandbox/a1` and `cleanup` deletes it, as
the runtime seed shows. Without `repo=` but inside a repository where the agent has a branch
(the seed's `WorkspaceManager(Path("sandbox"))` next to its `BranchManager(Path("."))`, whose
sandbox *is* the branch's worktree), the sandbox is handled as with `repo=` that repository:
context injected there stays out of the agent's commits and diff. With `repo=...`, `sandbox/<agent_id>` is a linked worktree of the
agent's branch `agent/<agent_id>-<task_id>` (made by BranchManager.create_agent_branch), so
every agent edits its own checkout while all of them share one object store. Injected context
(`CLAUDE.md`, and the seed's `.claude.md` if asked) is excluded in that worktree only and never
committed, so an agent's diff shows only its own work. Cleanup removes the worktree and prunes
its metadata, and refuses to drop uncommitted work unless forced.

The manager is a client of the ptyd daemon, which does the work (the `sandbox.*` ops; the
daemon's pygit2 engine is in daemon/git): the default daemon (started if none runs, found like
`ptyd.client.Client()` finds it, e.g. through $PTYD_DIR), or the one in `daemon_dir`, or
through `client`. Directories are created by the daemon, as the daemon's user. Paths are
returned as `base_dir / agent_id`, relative if `base_dir` is (resolved against the current
directory at each call, as a path is). The repository is found once, at construction. Every
method is safe to call from several threads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ptyd.client import Client
from ptyd.proto.gitworkspace import (
    BranchExists,
    DetachedHead,
    GitWorkspaceError,
    InvalidArgument,
    MergeConflict,
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

__all__ = [
    "BranchExists",
    "DetachedHead",
    "GitWorkspaceError",
    "InvalidArgument",
    "MergeConflict",
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
    "WorkspaceManager",
    "WrongBranch",
]


class WorkspaceManager:
    """Creates, finds and removes one sandbox directory per agent under `base_dir`.

    `repo`: a path inside a git repository (NotARepository if it is not): sandboxes are then
    worktrees of the agents' branches. `client` / `daemon_dir`: which daemon does the work.
    """

    def __init__(self, base_dir: StrPath, repo: StrPath | None = None, *,
                 client: Client | None = None, daemon_dir: StrPath | None = None) -> None:
        self.base_dir = Path(base_dir)
        self.repo_dir = None if repo is None else Path(repo)
        self.client = connect(client, daemon_dir)
        self.common_dir: Path | None = None
        if repo is not None:
            # Raises NotARepository now rather than at the first sandbox.
            described = request(self.client, "git.repo", {"repo": absolute(repo)})
            self.common_dir = Path(described["common_dir"])

    def __repr__(self) -> str:
        return f"WorkspaceManager({str(self.base_dir)!r}, repo={self.repo_dir!r})"

    def _request(self, op: str, **params: Any) -> dict[str, Any]:
        repo = None if self.common_dir is None else str(self.common_dir)
        return request(self.client, op,
                       {"sandbox_dir": absolute(self.base_dir), "repo": repo, **params})

    # ---- creating and finding -------------------------------------------------------------

    def create_sandbox(self, agent_id: str, *, branch: str | None = None) -> Path:
        """Create (or return the existing) sandbox of `agent_id`; returns `base_dir/agent_id`.

        With a repository the sandbox checks out `branch`, by default the agent's registered
        branch (UnknownAgent if it has none: BranchManager.create_agent_branch makes one).
        """
        self._request("sandbox.create", agent=agent_id, branch=branch)
        return self.base_dir / agent_id

    def get_sandbox(self, agent_id: str) -> Path:
        """The agent's sandbox path; UnknownAgent if it has none."""
        self._request("sandbox.get", agent=agent_id)
        return self.base_dir / agent_id

    def sandboxes(self) -> dict[str, Path]:
        """Every agent with a sandbox under `base_dir`, by agent id (sorted)."""
        found = self._request("sandbox.list")["sandboxes"]
        return {agent: self.base_dir / agent for agent in sorted(found)}

    # ---- context injection ----------------------------------------------------------------

    def inject_claude_md(
        self, agent_id: str, content: str, *, also_legacy_name: bool = False
    ) -> list[Path]:
        """Write the agent's context as `CLAUDE.md` (and `.claude.md` if asked); returns the paths.

        In a git sandbox the files are excluded in that worktree only, and commit_changes never
        commits them, so the agent's diff shows only its own work.
        """
        written = self._request("sandbox.inject", agent=agent_id, content=content,
                                legacy_name=also_legacy_name or None)["paths"]
        return [self.base_dir / agent_id / Path(path).name for path in written]

    def injected_files(self, agent_id: str) -> set[str]:
        """Sandbox-relative paths inject_claude_md wrote (always empty in a plain directory)."""
        try:
            return set(self._request("sandbox.get", agent=agent_id)["injected"])
        except UnknownAgent:
            return set()  # no sandbox: nothing injected there

    # ---- state and cleanup ----------------------------------------------------------------

    def uncommitted_changes(self, agent_id: str) -> list[str]:
        """Sandbox-relative paths of uncommitted work (new, modified, deleted; not ignored).

        Injected context files are not work. In a plain directory (no repository, or the
        agent has no branch there) there is no notion of committed, so this is always empty.
        """
        return list(self._request("sandbox.get", agent=agent_id, changes=True)["changes"])

    def cleanup(self, agent_id: str, force: bool = False) -> None:
        """Remove the agent's sandbox; in a repository also its worktree metadata.

        Refuses (UncommittedChanges, nothing removed) if the checkout holds uncommitted work,
        unless `force`. The agent's branch and its commits stay; BranchManager deletes branches.
        """
        self._request("sandbox.cleanup", agent=agent_id, force=force or None)

    def cleanup_all(self, force: bool = False) -> None:
        """cleanup() every sandbox; those with uncommitted work are kept unless `force`.

        Raises UncommittedChanges after removing all the others; its `.paths` are
        `<agent_id>/<path>`.
        """
        self._request("sandbox.cleanup_all", force=force or None)
