"""A directory per agent: a plain folder, or a git worktree of the agent's branch.

Without a repository, `WorkspaceManager(Path("sandbox"))` behaves as the runtime seed shows:
`create_sandbox("a1")` makes `sandbox/a1`, `cleanup` deletes it.

Without `repo=`, a sandbox that lies in a git repository where its agent has a branch (the seed's
`WorkspaceManager(Path("sandbox"))` next to a `BranchManager(Path("."))`: the sandbox *is* the
branch's worktree) is treated as with `repo=` that repository, so injected context stays out of
the agent's commits; an agent without a branch there keeps a plain directory.

With `repo=...`, `sandbox/<agent_id>` is a linked worktree (named `<agent_id>`) of the agent's
branch `agent/<agent_id>-<task_id>`, so every agent edits its own checkout while all of them share
one object store. The branch comes from BranchManager.create_agent_branch, which also creates the
sandbox through this class; `create_sandbox` on its own re-creates a removed one. Nothing is kept
in memory: the repository's worktree list and config are the registry, so several managers (and
a restarted daemon) agree on what exists. Every method is safe to call from several threads.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import pygit2

from ptyd.proto.gitworkspace import (
    BadSetup,
    GitWorkspaceError,
    NotARepository,
    SandboxExists,
    UncommittedChanges,
    UnknownAgent,
    paths_preview,
)

from ..safefiles import write_atomic
from . import _git_registry as registry
from . import setup as worktree_setup
from ._git import StrPath, check_branch_name, check_id, find_common_dir, git_errors, locks_for
from ._git import open_repo as _open
from ._git_worktree import (
    enable_worktree_config,
    exclude_from_main,
    head_target,
    injected_paths,
    lookup_worktree,
    pending_changes,
    record_injected,
    remove_worktree,
    setup_private_exclude,
    worktree_gitdir,
)

__all__ = ["CLAUDE_MD", "LEGACY_CLAUDE_MD", "WorkspaceManager"]

CLAUDE_MD = "CLAUDE.md"  # the file Claude Code reads at the root of its working directory
LEGACY_CLAUDE_MD = ".claude.md"  # the name the runtime seed used
CONTEXT_FILE_MODE = 0o644
"""As a checkout's files are (less the umask): the agent and the user's tools read it."""


class WorkspaceManager:
    """Creates, finds and removes one sandbox directory per agent under `base_dir`.

    Paths are returned as `base_dir / agent_id`, relative if `base_dir` is (as in the seed).
    """

    def __init__(self, base_dir: StrPath, repo: StrPath | None = None, *,
                 setups: Mapping[str, worktree_setup.WorktreeSetup] | None = None) -> None:
        """`setups`: the daemon configuration's worktree setups by repository path, which
        take the place of a repository's own .ptyd.toml."""
        self.base_dir = Path(base_dir)
        self.setups = dict(setups or {})
        self.repo_dir = None if repo is None else Path(repo)
        # Raises NotARepository now rather than at the first sandbox.
        self.common_dir = None if repo is None else find_common_dir(repo)

    def __repr__(self) -> str:
        return f"WorkspaceManager({str(self.base_dir)!r}, repo={self.repo_dir!r})"

    def _common_of(self, agent_id: str) -> Path | None:
        """The repository (common dir) the agent's sandbox belongs to: `repo`'s; without `repo`,
        the one around the sandbox if the agent has a branch there or its sandbox is one of its
        worktrees; None for a plain directory. Looked up at each call: a BranchManager may
        give the agent a branch at any time."""
        if self.common_dir is not None:
            return self.common_dir
        path = self.base_dir / agent_id
        start = path if path.is_dir() else _nearest_existing(self.base_dir)
        try:
            common = find_common_dir(start)
            with _open(common) as repo:
                if registry.lookup(repo, agent_id) is not None:
                    return common
                worktree = lookup_worktree(repo, agent_id)
                if worktree and not worktree.is_prunable and _same_path(worktree.path, path):
                    return common
        except (NotARepository, pygit2.GitError):
            pass  # no (readable) repository around it: a plain directory
        return None

    # ---- creating and finding -------------------------------------------------------------

    def create_sandbox(self, agent_id: str, *, branch: str | None = None) -> Path:
        """Create (or return the existing) sandbox of `agent_id`; returns `base_dir/agent_id`.

        With a repository the sandbox checks out `branch`, by default the agent's registered
        branch (UnknownAgent if it has none: BranchManager.create_agent_branch makes one).
        """
        path = self.base_dir / check_id("agent id", agent_id)
        common = self._common_of(agent_id)
        if common is None:
            path.mkdir(parents=True, exist_ok=True)
            return path
        locks = locks_for(common)
        action = f"creating the sandbox of agent {agent_id!r}"
        with locks.agent(agent_id):
            with locks.repo, _open(common) as repo, git_errors(action):
                branch = self._branch_to_check_out(repo, agent_id, branch)
                if self._existing_sandbox(repo, agent_id, branch, path):
                    return path
                main_root = None if repo.is_bare or not repo.workdir else Path(repo.workdir)
                # Refused first (an untrusted .ptyd.toml), before anything is made.
                plan = worktree_setup.load(main_root, self.setups) if main_root else None
                path.parent.mkdir(parents=True, exist_ok=True)
                exclude_from_main(repo, common, path.parent)
                private_config = enable_worktree_config(repo)
            # The slow part (checking out every file) runs outside the repository lock, so
            # other agents keep committing: it writes only this worktree's files, index and
            # .git/worktrees/<agent_id>/, and the agent lock keeps this agent's calls out.
            with _open(common) as repo, git_errors(action):
                # The worktree's name becomes a directory in .git/worktrees/, so it must be
                # '/'-free: the agent id (a checked slug), never the branch name.
                repo.add_worktree(agent_id, str(path.absolute()), repo.branches.local[branch])
                setup_private_exclude(common, agent_id, private_config)
                if plan is not None and main_root is not None:
                    self._prepare(repo, common, agent_id, plan, main_root, path)
        return path

    @staticmethod
    def _prepare(repo: pygit2.Repository, common: Path, agent_id: str,
                 plan: worktree_setup.WorktreeSetup, main_root: Path, path: Path) -> None:
        """Copy and link the repository's untracked files into the new worktree (.ptyd.toml),
        kept out of commits; a failure removes the worktree again (nothing half-ready)."""
        try:
            # Excluded before they exist: a concurrent status never sees them untracked.
            record_injected(common, agent_id, [
                rel for rel in worktree_setup.planned(plan, main_root)
                if not os.path.lexists(path / rel)])  # a tracked file stays tracked
            worktree_setup.apply_files(plan, main_root, path)
            worktree_setup.mark_pending(plan, worktree_gitdir(common, agent_id))
        except OSError as e:
            remove_worktree(repo, common, agent_id)
            raise BadSetup(f"{plan.source}: preparing {path}: {e}") from None

    @staticmethod
    def _existing_sandbox(
        repo: pygit2.Repository, agent_id: str, branch: str, path: Path
    ) -> bool:
        """True if `path` already is the agent's worktree on `branch`; raise if it is taken."""
        common = Path(repo.path)
        if agent_id in repo.list_worktrees():
            worktree = repo.lookup_worktree(agent_id)
            if worktree.is_prunable:
                worktree.prune(False)  # its directory was deleted by hand: drop the husk
            elif _same_path(worktree.path, path):
                on = head_target(common, agent_id)
                if on != f"refs/heads/{branch}":
                    raise SandboxExists(
                        f"{path} already checks out {on or 'a detached HEAD'}, not "
                        f"{branch!r}; run `git switch {branch}` there, or cleanup() it"
                    )
                return True
            else:
                raise SandboxExists(
                    f"a worktree named {agent_id!r} already exists at {worktree.path}; "
                    f"remove it (`git worktree remove {worktree.path}`) or use another agent id"
                )
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise SandboxExists(
                f"{path} exists and is not agent {agent_id!r}'s checkout; "
                "move it away or use another base_dir"
            )
        return False

    @staticmethod
    def _branch_to_check_out(repo: pygit2.Repository, agent_id: str, branch: str | None) -> str:
        if branch is None:
            record = registry.lookup(repo, agent_id)
            if record is None:
                raise UnknownAgent(
                    f"agent {agent_id!r} has no branch in {repo.workdir or repo.path}; "
                    f"create it with BranchManager.create_agent_branch({agent_id!r}, task_id)",
                    agent_id,
                )
            return record.branch
        if check_branch_name(branch) not in repo.branches.local:
            raise GitWorkspaceError(
                f"branch {branch!r} does not exist; create it first (`git branch {branch}`)"
            )
        return branch

    def get_sandbox(self, agent_id: str) -> Path:
        """The agent's sandbox path; UnknownAgent if it has none."""
        path = self.base_dir / check_id("agent id", agent_id)
        common = self._common_of(agent_id)
        if common is None:
            if path.is_dir():
                return path
        else:
            with _open(common) as repo:
                worktree = lookup_worktree(repo, agent_id)
                if worktree and not worktree.is_prunable and _same_path(worktree.path, path):
                    return path
        raise UnknownAgent(
            f"agent {agent_id!r} has no sandbox under {self.base_dir}; "
            f"create_sandbox({agent_id!r}) makes one",
            agent_id,
        )

    def sandboxes(self) -> dict[str, Path]:
        """Every agent with a sandbox under `base_dir`, by agent id (sorted)."""
        if self.common_dir is None:
            if not self.base_dir.is_dir():
                return {}
            return {p.name: p for p in sorted(self.base_dir.iterdir()) if p.is_dir()}
        found = {}
        with _open(self.common_dir) as repo:
            for name in sorted(repo.list_worktrees()):
                worktree = lookup_worktree(repo, name)
                path = self.base_dir / name
                if worktree and not worktree.is_prunable and _same_path(worktree.path, path):
                    found[name] = path
        return found

    # ---- context injection ----------------------------------------------------------------

    def inject_claude_md(
        self, agent_id: str, content: str, *, also_legacy_name: bool = False
    ) -> list[Path]:
        """Write the agent's context as `CLAUDE.md` (and `.claude.md` if asked); returns the paths.

        In a git sandbox the files are excluded in that worktree only, and commit_changes never
        commits them, so the agent's diff shows only its own work.
        """
        path = self.get_sandbox(agent_id)
        names = [CLAUDE_MD, LEGACY_CLAUDE_MD] if also_legacy_name else [CLAUDE_MD]
        common = self._common_of(agent_id)
        if common is not None:
            with locks_for(common).agent(agent_id):
                # Record before writing: a concurrent status never sees the files unexcluded.
                record_injected(common, agent_id, names)
        written = []
        for name in names:
            # The sandbox is the agent's (and a repository may commit a CLAUDE.md symlink): a
            # link in its place is replaced by one rename, never written through to its target.
            write_atomic(path / name, content.encode("utf-8"), mode=CONTEXT_FILE_MODE)
            written.append(path / name)
        return written

    def injected_files(self, agent_id: str) -> set[str]:
        """Sandbox-relative paths inject_claude_md wrote (always empty in a plain directory)."""
        common = self._common_of(check_id("agent id", agent_id))
        if common is None:
            return set()
        return injected_paths(common, agent_id)

    # ---- state and cleanup ----------------------------------------------------------------

    def uncommitted_changes(self, agent_id: str) -> list[str]:
        """Sandbox-relative paths of uncommitted work (new, modified, deleted; not ignored).

        Injected context files are not work. Without a repository there is no notion of
        committed, so this is always empty.
        """
        path = self.get_sandbox(agent_id)
        common = self._common_of(agent_id)
        if common is None:
            return []
        with _open(path) as worktree:
            return pending_changes(worktree, injected_paths(common, agent_id))

    def cleanup(self, agent_id: str, force: bool = False) -> None:
        """Remove the agent's sandbox; in a repository also its worktree metadata.

        Refuses (UncommittedChanges, nothing removed) if the checkout holds uncommitted work,
        unless `force`. The agent's branch and its commits stay; BranchManager deletes branches.
        """
        path = self.get_sandbox(agent_id)
        common = self._common_of(agent_id)
        if common is None:
            shutil.rmtree(path)
            return
        locks = locks_for(common)
        with locks.agent(agent_id):  # no ptyd commit in this sandbox can start meanwhile
            if not force:
                changed = self.uncommitted_changes(agent_id)
                if changed:
                    raise UncommittedChanges(
                        f"sandbox {path} of agent {agent_id!r} has uncommitted changes "
                        f"({paths_preview(changed)}); commit them (BranchManager.commit_changes) "
                        "or pass force=True to discard them",
                        changed,
                    )
            action = f"removing the sandbox of {agent_id!r}"
            with locks.repo, _open(common) as repo, git_errors(action):
                remove_worktree(repo, common, agent_id)

    def cleanup_all(self, force: bool = False) -> None:
        """cleanup() every sandbox; those with uncommitted work are kept unless `force`.

        Raises UncommittedChanges after removing all the others; its `.paths` are
        `<agent_id>/<path>`.
        """
        kept: dict[str, list[str]] = {}
        for agent_id in self.sandboxes():
            try:
                self.cleanup(agent_id, force=force)
            except UncommittedChanges as exc:
                kept[agent_id] = exc.paths
        if kept:
            raise UncommittedChanges(
                f"kept {len(kept)} sandbox(es) with uncommitted changes: "
                f"{', '.join(sorted(kept))}; commit their work or pass force=True",
                [f"{agent}/{p}" for agent, paths in kept.items() for p in paths],
            )


def _same_path(a: StrPath, b: StrPath) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def _nearest_existing(path: Path) -> Path:
    """`path`, or its closest ancestor that exists (where a repository search can start)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
