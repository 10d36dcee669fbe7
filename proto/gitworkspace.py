"""The git workspace vocabulary the daemon and its clients share: result types, exceptions, and
their wire forms. Pure data, no I/O.

The daemon's git engine (`ptyd.daemon.git`) returns these types and raises these exceptions; the
`git.*` and `sandbox.*` ops send them as maps (`to_wire`), and the client API
(`ptyd.runtime.branches`, `ptyd.runtime.workspace`) rebuilds the same objects (`*_from_wire`),
so a program sees one set of classes whichever side of the socket the work ran on.

Exceptions:

    GitWorkspaceError       base: whatever the git layer refuses or fails to do
    ├── NotARepository      the path given is not inside a git repository
    ├── InvalidArgument     bad agent id, task id, branch name or commit message (ValueError)
    ├── UnknownAgent        no branch / sandbox is registered for the agent (LookupError)
    ├── BranchExists        the branch, or a branch for that agent, already exists
    ├── SandboxExists       the sandbox path is taken by something else
    ├── SandboxMissing      the agent has a branch but no checkout to commit from
    ├── DetachedHead        the agent's checkout is not on any branch
    ├── WrongBranch         the agent's checkout is on another branch than its own
    ├── NothingToCommit     the agent changed nothing since its last commit
    ├── UncommittedChanges  going on would lose or trample uncommitted work (`.paths`)
    ├── MergeConflict       the merge into integration does not apply cleanly (`.paths`)
    ├── NotMerged           deleting the branch would drop commits integration lacks
    ├── RemoteMissing       no remote of that name is configured
    ├── PushRejected        the remote refused the update (non-fast-forward, hook, ...)
    └── RepositoryLocked    another git process holds a .lock file in the repository

Every message says what was wrong and what to do about it. On the wire an exception is the error
`git_error` with data `{kind, paths}` (plus `agent` for `unknown_agent`): `kind` is the class's
stable name (`GitWorkspaceError.kind`), `paths` the files it is about (often empty).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

# ---- exceptions ---------------------------------------------------------------------------


class GitWorkspaceError(Exception):
    """Base of every error the git layer raises."""

    kind: ClassVar[str] = "git_error"
    """Stable name of the class on the wire (the `kind` of a `git_error`'s data)."""

    paths: list[str]

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.paths = []

    def to_wire(self) -> dict[str, Any]:
        """The data map of the `git_error` reply that carries this exception."""
        return {"kind": self.kind, "paths": list(self.paths)}


class NotARepository(GitWorkspaceError):
    """The path is not inside a git repository."""

    kind = "not_a_repository"


class InvalidArgument(GitWorkspaceError, ValueError):
    """An agent id, task id or branch name git cannot use, or an empty commit message."""

    kind = "invalid_argument"


class UnknownAgent(GitWorkspaceError, LookupError):
    """No branch or sandbox is registered for this agent."""

    kind = "unknown_agent"

    def __init__(self, message: str, agent_id: str) -> None:
        super().__init__(message)
        self.agent_id = agent_id

    def to_wire(self) -> dict[str, Any]:
        return {**super().to_wire(), "agent": self.agent_id}


class BranchExists(GitWorkspaceError):
    """The branch already exists, or the agent already has one."""

    kind = "branch_exists"


class SandboxExists(GitWorkspaceError):
    """The sandbox path exists and is not this agent's checkout."""

    kind = "sandbox_exists"


class SandboxMissing(GitWorkspaceError):
    """The agent has a branch but its checkout was removed."""

    kind = "sandbox_missing"


class DetachedHead(GitWorkspaceError):
    """The agent's checkout is on a detached HEAD, so a commit would belong to no branch."""

    kind = "detached_head"


class WrongBranch(GitWorkspaceError):
    """The agent's checkout has switched to a branch that is not the agent's."""

    kind = "wrong_branch"


class NothingToCommit(GitWorkspaceError):
    """The agent's checkout matches its last commit."""

    kind = "nothing_to_commit"


class _PathsError(GitWorkspaceError):
    """An error about specific files; `.paths` lists them (repository-relative, sorted)."""

    def __init__(self, message: str, paths: Iterable[str]) -> None:
        super().__init__(message)
        self.paths = sorted(set(paths))


class UncommittedChanges(_PathsError):
    """Going on would lose or overwrite uncommitted work in a checkout."""

    kind = "uncommitted_changes"


class MergeConflict(_PathsError):
    """The agent's branch and integration changed the same lines; nothing was modified."""

    kind = "merge_conflict"


class NotMerged(GitWorkspaceError):
    """The branch has commits that integration does not contain."""

    kind = "not_merged"


class RemoteMissing(GitWorkspaceError):
    """No remote of that name is configured in the repository."""

    kind = "remote_missing"


class PushRejected(GitWorkspaceError):
    """The remote refused the branch update (for example, not a fast-forward)."""

    kind = "push_rejected"


class CredentialsFailed(GitWorkspaceError):
    """The remote wants credentials and none that git would use worked (the message names
    what was tried and what is missing)."""

    kind = "credentials_failed"


class RepositoryLocked(GitWorkspaceError):
    """A `*.lock` file of another git process is in the way."""

    kind = "repository_locked"


class UntrustedSetup(GitWorkspaceError):
    """The repository's `.ptyd.toml` would copy files and run commands in a new worktree, and
    the user has not allowed it (`ptyd trust-repo DIR`), or it changed since."""

    kind = "untrusted_setup"


class BadSetup(GitWorkspaceError):
    """The repository's worktree setup (`.ptyd.toml`, or [worktree] of the configuration)
    is invalid: not TOML, an unknown key, a path outside the repository."""

    kind = "bad_setup"


ERRORS: dict[str, type[GitWorkspaceError]] = {
    cls.kind: cls
    for cls in (GitWorkspaceError, NotARepository, InvalidArgument, UnknownAgent, BranchExists,
                SandboxExists, SandboxMissing, DetachedHead, WrongBranch, NothingToCommit,
                UncommittedChanges, MergeConflict, NotMerged, RemoteMissing, PushRejected,
                RepositoryLocked, CredentialsFailed, UntrustedSetup, BadSetup)
}
"""Every exception class by its `kind`."""


def error_from_wire(message: str, data: dict[str, Any] | None) -> GitWorkspaceError:
    """The exception a `git_error` reply carries. An unknown (newer) kind becomes the base
    class, so a client older than its daemon still gets a GitWorkspaceError."""
    data = data or {}
    cls = ERRORS.get(str(data.get("kind")), GitWorkspaceError)
    raw_paths = data.get("paths")
    paths = [str(p) for p in raw_paths] if isinstance(raw_paths, list) else []
    error: GitWorkspaceError
    if issubclass(cls, UnknownAgent):
        error = cls(message, str(data.get("agent") or ""))
    elif issubclass(cls, _PathsError):
        error = cls(message, paths)
    else:
        error = cls(message)
        error.paths = paths
    return error


def paths_preview(paths: Iterable[str], limit: int = 5) -> str:
    """`a, b, c (+4 more)`: enough of a path list for a one-line error message."""
    items = sorted(set(paths))
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


# ---- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BranchInfo:
    """The state of one agent's branch, relative to integration."""

    name: str  # agent/{agent_id}-{task_id}
    agent_id: str
    task_id: str
    base_commit: str  # merge base with integration: what get_diff_from_base diffs against
    head_commit: str
    ahead: int  # commits on the branch that integration lacks
    behind: int  # commits on integration that the branch lacks
    dirty: bool  # the agent's sandbox holds uncommitted work (injected context files excluded)
    merged: bool  # the branch has commits of its own and integration contains all of them
    pushed: bool  # the branch's upstream (set by push_branch) is at head_commit
    sandbox: Path | None  # the agent's checkout, None once cleaned up
    created_from: str  # integration's head when the branch was created

    def to_wire(self) -> dict[str, Any]:
        return {
            "name": self.name, "agent": self.agent_id, "task": self.task_id,
            "base_commit": self.base_commit, "head_commit": self.head_commit,
            "ahead": self.ahead, "behind": self.behind, "dirty": self.dirty,
            "merged": self.merged, "pushed": self.pushed,
            "sandbox": None if self.sandbox is None else str(self.sandbox),
            "created_from": self.created_from,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> BranchInfo:
        sandbox = data.get("sandbox")
        return cls(
            name=data["name"], agent_id=data["agent"], task_id=data["task"],
            base_commit=data["base_commit"], head_commit=data["head_commit"],
            ahead=int(data["ahead"]), behind=int(data["behind"]), dirty=bool(data["dirty"]),
            merged=bool(data["merged"]), pushed=bool(data["pushed"]),
            sandbox=None if sandbox is None else Path(sandbox),
            created_from=data["created_from"],
        )


@dataclass(frozen=True)
class FileStat:
    """One changed file, as a row of `git diff --numstat` plus its status letter.

    `status` is git's letter (A added, M modified, D deleted, R renamed, C copied, T type
    changed). Binary files count 0 insertions and 0 deletions (git prints `-`) and say so.
    """

    path: str
    status: str
    insertions: int
    deletions: int
    old_path: str | None = None
    binary: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "insertions": self.insertions,
                "deletions": self.deletions, "old_path": self.old_path, "binary": self.binary}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> FileStat:
        return cls(path=data["path"], status=data["status"], insertions=int(data["insertions"]),
                   deletions=int(data["deletions"]), old_path=data.get("old_path"),
                   binary=bool(data.get("binary")))


@dataclass(frozen=True)
class BranchDiff:
    """The agent's committed work: its branch against the merge base with integration.

    `patch` is the text of `git diff <integration>...<branch>` (rename detection on, as git's
    default `diff.renames`), decoded as UTF-8 with U+FFFD for bytes that are not; `patch_bytes`
    is exact. One known difference from git: git ends a `---`/`+++` line whose path contains a
    space with a TAB, libgit2 does not; `git apply` takes both.
    """

    base_commit: str
    head_commit: str
    patch: str
    patch_bytes: bytes
    files: list[FileStat] = field(default_factory=list)

    @property
    def files_changed(self) -> int:
        """Number of changed files."""
        return len(self.files)

    @property
    def insertions(self) -> int:
        """Lines added over all text files."""
        return sum(f.insertions for f in self.files)

    @property
    def deletions(self) -> int:
        """Lines removed over all text files."""
        return sum(f.deletions for f in self.files)

    def to_wire(self, with_patch: bool = True) -> dict[str, Any]:
        """The wire form; without the patch (nil) when only the stats were asked for."""
        return {
            "base_commit": self.base_commit, "head_commit": self.head_commit,
            "patch": self.patch_bytes if with_patch else None,
            "files": [f.to_wire() for f in self.files],
            "files_changed": self.files_changed, "insertions": self.insertions,
            "deletions": self.deletions,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> BranchDiff:
        patch = data.get("patch") or b""
        if isinstance(patch, str):  # be liberal: text is taken as its UTF-8 bytes
            patch = patch.encode("utf-8", "surrogateescape")
        return cls(
            base_commit=data["base_commit"], head_commit=data["head_commit"],
            patch=bytes(patch).decode("utf-8", errors="replace"), patch_bytes=bytes(patch),
            files=[FileStat.from_wire(f) for f in data.get("files") or []],
        )


MergeOutcome = Literal["up-to-date", "fast-forward", "merged"]
MERGE_OUTCOMES: tuple[str, ...] = get_args(MergeOutcome)


@dataclass(frozen=True)
class MergeResult:
    """What merge_to_integration did.

    `outcome`: "up-to-date" (integration already had it), "fast-forward" (integration moved to
    the branch's head) or "merged" (a merge commit with two parents). `commit`: integration's
    head afterwards. `updated_checkouts`: working directories of integration that were moved along.
    """

    outcome: MergeOutcome
    commit: str
    updated_checkouts: tuple[Path, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "commit": self.commit,
                "updated_checkouts": [str(p) for p in self.updated_checkouts]}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> MergeResult:
        outcome = data["outcome"]
        if outcome not in MERGE_OUTCOMES:
            raise ValueError(f"unknown merge outcome {outcome!r}")
        return cls(outcome=outcome, commit=data["commit"],
                   updated_checkouts=tuple(Path(p) for p in data.get("updated_checkouts") or []))
