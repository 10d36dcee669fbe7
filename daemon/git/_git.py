"""Opening repositories, locking them, and naming things: the plumbing under branches/workspaces.

libgit2's threading rule is that one object (Repository, Index, ...) is used by one thread at a
time. So nothing here caches a `pygit2.Repository`: every public operation opens its own with
`open_repo()` and frees it on the way out, and the managers stay safe to share between threads.

Git itself guards each ref, index and config file with a `.lock` file, and libgit2 fails at once
(it never waits) when the lock is taken. Two operations of this process on one repository must
therefore take turns wherever they could touch the same lock file: `locks_for(common_dir)` hands
out one re-entrant lock per repository for refs, config and worktree metadata, and one per agent
for the agent's own worktree (its index and files), always taken agent-first.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

import pygit2

from ptyd.proto.gitworkspace import (
    GitWorkspaceError,
    InvalidArgument,
    NotARepository,
    RepositoryLocked,
)

StrPath = str | os.PathLike[str]
P = ParamSpec("P")
R = TypeVar("R")

# A slug every consumer accepts: a directory name, a worktree name (libgit2 makes it a directory
# under .git/worktrees/, so no '/'), and a piece of a ref name (no '..', no '.lock' suffix).
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

DEFAULT_AUTHOR = ("ptyd", "ptyd@localhost")


def check_id(kind: str, value: str) -> str:
    """Return `value` if it is a usable agent/task id, else raise InvalidArgument saying why."""
    if (
        not isinstance(value, str)
        or not _ID_RE.fullmatch(value)
        or ".." in value
        or value.endswith((".", ".lock"))
    ):
        raise InvalidArgument(
            f"invalid {kind} {value!r}: use 1-100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, without '..' and not ending in '.' or '.lock'"
        )
    return value


def check_branch_name(name: str) -> str:
    """Return `name` if git accepts `refs/heads/<name>`, else raise InvalidArgument."""
    if not name or not pygit2.reference_is_valid_name(f"refs/heads/{name}"):
        raise InvalidArgument(f"invalid branch name {name!r} (see `git check-ref-format --branch`)")
    return name


def find_common_dir(path: StrPath) -> Path:
    """The repository's common git directory (`.git`), found from any path inside it.

    Given a linked worktree, this is the main repository's `.git`, not `.git/worktrees/<name>`:
    branches, config and worktrees are shared there, and that is what the managers operate on.
    """
    start = Path(path)
    if not start.exists():
        raise NotARepository(f"{start} does not exist; pass the path of a git repository")
    found = pygit2.discover_repository(str(start))
    if found is None:
        raise NotARepository(
            f"{start} is not inside a git repository; run `git init` there or pass another path"
        )
    gitdir = Path(found)
    # A linked worktree's gitdir holds a `commondir` file pointing (usually relatively) at the
    # shared .git; pygit2 has no accessor for it.
    commondir_file = gitdir / "commondir"
    if commondir_file.is_file():
        gitdir = gitdir / commondir_file.read_text().strip()
    return gitdir.resolve()


TORN_READ = "could not read"
"""libgit2's words when a file it stat()ed was replaced before it read it (a short read)."""


OPEN_ATTEMPTS = 5


@contextmanager
def open_repo(path: StrPath) -> Iterator[pygit2.Repository]:
    """Open a Repository for this call only, and free it (file handles, mmaps) at the end."""
    for attempt in range(OPEN_ATTEMPTS):
        try:
            repo = pygit2.Repository(str(path))
            break
        except pygit2.GitError as exc:
            # libgit2 stats .git/config and then reads it: if another thread replaced the file
            # in between (the agent registry lives there), the read comes up short. Try again.
            if TORN_READ not in str(exc) or attempt == OPEN_ATTEMPTS - 1:
                raise NotARepository(f"cannot open a git repository at {path}: {exc}") from exc
    try:
        yield repo
    finally:
        repo.free()


def translate_git_error(exc: pygit2.GitError | OSError, action: str) -> GitWorkspaceError:
    """The exception of our tree that says what a raw libgit2 error during `action` means."""
    text = str(exc)
    if "lock" in text and ("failed to" in text or "locked" in text):
        return RepositoryLocked(
            f"{action}: {text.rstrip(': ')}; another git process is working in this "
            "repository: retry when it is done (or delete the stale .lock file if none is)"
        )
    return GitWorkspaceError(f"{action} failed: {text}")


@contextmanager
def git_errors(action: str) -> Iterator[None]:
    """Turn a raw libgit2 error escaping `action` into our exception tree."""
    try:
        yield
    except pygit2.GitError as exc:
        raise translate_git_error(exc, action) from exc
    except OSError as exc:
        # pygit2 raises libgit2's OS-class errors (a taken .lock file, say) as a bare OSError
        # with no errno; an OSError with an errno comes from Python's own file calls: as is.
        if exc.errno is not None:
            raise
        raise translate_git_error(exc, action) from exc


def rereads_torn_config(method: Callable[P, R]) -> Callable[P, R]:
    """Run a read-only `method` again when libgit2 read a config file torn by another thread.

    libgit2 stats a config file, then reads it, at every config lookup (it refreshes when the
    file changed); the agent registry lives in .git/config, and a writer replacing it between
    the two makes the read come up short. Writers hold the repository lock; readers do not
    (a listing must not wait for a push), so a reader that lost that race simply reads again.
    """
    @functools.wraps(method)
    def reread(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(OPEN_ATTEMPTS):
            try:
                return method(*args, **kwargs)
            except (pygit2.GitError, GitWorkspaceError) as exc:
                cause = exc if isinstance(exc, pygit2.GitError) else exc.__cause__
                if (not isinstance(cause, pygit2.GitError) or TORN_READ not in str(cause)
                        or attempt == OPEN_ATTEMPTS - 1):
                    raise
        raise AssertionError("unreachable")
    return reread


class RepoLocks:
    """The in-process locks of one repository (see the module docstring for the order)."""

    def __init__(self) -> None:
        self.repo = threading.RLock()
        self._agents: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()

    def agent(self, agent_id: str) -> threading.RLock:
        """The lock of one agent's worktree; take it before `self.repo`, never after."""
        with self._guard:
            return self._agents.setdefault(agent_id, threading.RLock())


_LOCKS: dict[Path, RepoLocks] = {}
_LOCKS_GUARD = threading.Lock()


def locks_for(common_dir: Path) -> RepoLocks:
    """The process-wide locks of the repository whose common dir is `common_dir`."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(common_dir, RepoLocks())


def make_signature(name: str, email: str) -> pygit2.Signature:
    """A signature stamped now: a Signature carries its time, so build one per commit."""
    return pygit2.Signature(name, email)


def configured_identity(repo: pygit2.Repository) -> tuple[str, str]:
    """The repository's user.name/user.email (local, global, system), or ptyd's default."""
    try:
        sig = repo.default_signature
    except (KeyError, pygit2.GitError):
        # libgit2 raises when user.name or user.email is not configured at any level.
        return DEFAULT_AUTHOR
    return sig.name, sig.email


def branch_tip(repo: pygit2.Repository, branch: str) -> pygit2.Oid:
    """The commit id local `branch` points at."""
    ref = repo.branches.local.get(branch)
    if ref is None:
        raise GitWorkspaceError(
            f"branch {branch!r} does not exist in {repo.path}; `git branch` lists branches"
        )
    return ref.peel(pygit2.Commit).id
