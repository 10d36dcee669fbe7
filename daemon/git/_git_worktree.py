"""Worktree chores libgit2 leaves to its users: private excludes, dirtiness, removal.

Per-worktree excludes. Neither git nor libgit2 reads `$GIT_DIR/info/exclude` of a *linked*
worktree: both take `info/` from the common dir (gitrepository-layout(5); libgit2's
GIT_REPOSITORY_ITEM_INFO is common-dir relative), so a pattern there would hide the file in every
checkout. What both do honour is worktree-specific config (`extensions.worktreeConfig`, git
>= 2.20; checked with libgit2 1.9.7): each agent worktree gets `core.excludesFile` in its own
`config.worktree`, pointing at its own `.git/worktrees/<name>/info/exclude`. Checked with
`git status --ignored`, `git check-ignore -v` and pygit2 `status()`/`add_all()`: ignored in
that worktree, untouched elsewhere. Costs: the shared config gains
`core.repositoryformatversion = 1` and `extensions.worktreeConfig = true` (git < 2.20 and
other tools that do not know the extension refuse such a repository), and inside agent
worktrees that file replaces the user's global excludes file.

The same exclude file is also the record of what was injected, so commit_changes can keep a
*tracked* CLAUDE.md (which no ignore rule can hide) at the branch's own version.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pygit2
from pygit2.enums import FileStatus

from ptyd.proto.gitworkspace import GitWorkspaceError

_EXCLUDE_HEADER = "# ptyd: files injected into this agent's checkout, kept out of its commits\n"
_GLOB_SPECIALS = "\\*?[!# "


def worktree_gitdir(common_dir: Path, name: str) -> Path:
    """`.git/worktrees/<name>`: the worktree's private git directory."""
    return common_dir / "worktrees" / name


def enable_worktree_config(repo: pygit2.Repository) -> bool:
    """Switch on extensions.worktreeConfig if that is safe; True if it is on afterwards.

    Writes the shared config: the caller holds the repository lock."""
    config = repo.config
    if "extensions.worktreeConfig" in config and config.get_bool("extensions.worktreeConfig"):
        return True
    # git(1) warns that with the extension on, a shared core.bare=true or core.worktree must
    # first move into the main worktree's config.worktree; we do not rewrite a user's layout,
    # so such repositories fall back to ptyd-side filtering only (see module docstring).
    if repo.is_bare or "core.worktree" in config:
        return False
    # Extensions are only honoured from repository format version 1 on.
    if "core.repositoryformatversion" not in config or int(
        config["core.repositoryformatversion"] or 0
    ) < 1:
        config["core.repositoryformatversion"] = 1
    config["extensions.worktreeConfig"] = True
    return True


def setup_private_exclude(common_dir: Path, name: str, private_config: bool) -> None:
    """Give worktree `name` an exclude file of its own; wire it up as its core.excludesFile
    if worktree config is on (`private_config`, from enable_worktree_config).

    Touches only `.git/worktrees/<name>/`: the agent lock is enough."""
    gitdir = worktree_gitdir(common_dir, name)
    exclude = gitdir / "info" / "exclude"
    exclude.parent.mkdir(exist_ok=True)
    if not exclude.exists():
        exclude.write_text(_EXCLUDE_HEADER)
    if private_config:
        # pygit2.Config(path) creates the file on first write; git reads it as `--worktree`.
        pygit2.Config(str(gitdir / "config.worktree"))["core.excludesFile"] = str(exclude)


def _pattern(path: str) -> str:
    """An exclude pattern matching exactly `path` from the worktree root."""
    return "/" + "".join("\\" + c if c in _GLOB_SPECIALS else c for c in path)


def _unpattern(line: str) -> str:
    out, escaped = [], False
    for c in line[1:]:
        if c == "\\" and not escaped:
            escaped = True
            continue
        out.append(c)
        escaped = False
    return "".join(out)


def injected_paths(common_dir: Path, name: str) -> set[str]:
    """The paths ptyd injected into worktree `name` (empty for an unknown worktree)."""
    exclude = worktree_gitdir(common_dir, name) / "info" / "exclude"
    try:
        lines = exclude.read_text().splitlines()
    except FileNotFoundError:
        return set()
    return {_unpattern(line) for line in lines if line.startswith("/")}


def record_injected(common_dir: Path, name: str, paths: list[str]) -> None:
    """Add `paths` to worktree `name`'s private exclude file (idempotent)."""
    exclude = worktree_gitdir(common_dir, name) / "info" / "exclude"
    missing = [p for p in paths if p not in injected_paths(common_dir, name)]
    if missing:
        with exclude.open("a") as f:
            f.writelines(_pattern(p) + "\n" for p in missing)


def exclude_from_main(repo: pygit2.Repository, common_dir: Path, directory: Path) -> None:
    """If `directory` lies inside the main checkout, list it in the shared info/exclude.

    Otherwise the agents' checkouts show up as untracked in the main checkout, and a `git add -A`
    there would record them as embedded repositories.
    """
    if repo.is_bare or repo.workdir is None:
        return
    try:
        rel = directory.resolve().relative_to(Path(repo.workdir).resolve())
    except ValueError:
        return  # outside the main checkout: nothing sees it
    if rel == Path("."):
        return
    exclude = common_dir / "info" / "exclude"
    line = _pattern(rel.as_posix()) + "/"
    text = exclude.read_text() if exclude.exists() else ""
    if line not in text.splitlines():
        exclude.parent.mkdir(exist_ok=True)
        separator = "\n" if text and not text.endswith("\n") else ""
        with exclude.open("a") as f:
            f.write(f"{separator}{line}\n")


def pending_changes(worktree: pygit2.Repository, injected: set[str]) -> list[str]:
    """Paths with uncommitted changes (staged, modified, deleted or untracked, not ignored).

    Injected files do not count: they are ptyd's, not the agent's work.
    """
    return sorted(
        path
        for path, flags in worktree.status().items()
        if flags not in (FileStatus.CURRENT, FileStatus.IGNORED) and path not in injected
    )


def _head_target(head_file: Path) -> str | None:
    try:
        text = head_file.read_text().strip()
    except FileNotFoundError:
        return None
    return text[len("ref: ") :] if text.startswith("ref: ") else None


def lookup_worktree(repo: pygit2.Repository, name: str) -> pygit2.Worktree | None:
    """Worktree `name`, or None if there is none, or if another thread is just pruning it."""
    if name not in repo.list_worktrees():
        return None
    try:
        return repo.lookup_worktree(name)
    except (KeyError, pygit2.GitError, OSError):
        # Pruned between list and lookup: NotFoundError (a KeyError) if its directory is gone,
        # an OS-class error if only some of its files are; the text is whatever libgit2 error
        # this thread saw last (often "not pruning valid working tree", left by is_prunable).
        return None


def head_target(common_dir: Path, name: str) -> str | None:
    """The ref linked worktree `name` has checked out; None if detached (or unknown)."""
    return _head_target(worktree_gitdir(common_dir, name) / "HEAD")


def checkouts_of(repo: pygit2.Repository, common_dir: Path, branch: str) -> list[Path]:
    """Working directories (main and linked) that have `branch` checked out.

    Reads each worktree's HEAD file. Opening a Repository per worktree costs ~1 ms each, and
    libgit2's Branch.is_checked_out() does just that: 80 ms per merge with 50 agents.
    """
    ref = f"refs/heads/{branch}"
    found = []
    if not repo.is_bare and repo.workdir and _head_target(common_dir / "HEAD") == ref:
        found.append(Path(repo.workdir))
    for name in repo.list_worktrees():
        if head_target(common_dir, name) == ref:
            worktree = lookup_worktree(repo, name)
            if worktree is not None and not worktree.is_prunable:
                found.append(Path(worktree.path))
    return found


def remove_worktree(repo: pygit2.Repository, common_dir: Path, name: str) -> None:
    """Delete worktree `name`'s directory and metadata (caller checked it holds no work)."""
    if (worktree_gitdir(common_dir, name) / "locked").exists():
        raise GitWorkspaceError(
            f"worktree {name!r} is locked (`git worktree lock`); "
            f"run `git worktree unlock {name}` if it may be removed"
        )
    path = Path(repo.lookup_worktree(name).path)
    if path.exists():
        shutil.rmtree(path)
    # pygit2 sharp edge: prune(False) refuses a worktree whose directory still exists, and
    # prune(True) drops the metadata but leaves the directory; so delete first, then prune.
    repo.lookup_worktree(name).prune(False)
