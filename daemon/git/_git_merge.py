"""Merging an agent's branch into integration without a checkout of integration.

The merge is computed in memory (`merge_commits` gives an Index, `write_tree` a tree), so it needs
no worktree and never touches the agents' files. Only the integration ref moves, and only after
everything that could fail has been checked: a conflict leaves both branches as they were.

A checkout that has integration itself checked out (the main worktree, say, when integration is
`main`) would be left stale by a bare ref move: its files and index would still show the old
tree, so `git status` would report the merged work as reverted. Such a checkout is kept
consistent: if it has no uncommitted changes to tracked files, its files are moved to the new
commit with a SAFE checkout (which refuses, before writing anything, if it would overwrite an
untracked file); if it has uncommitted changes the merge is refused and nothing moves.
"""

from __future__ import annotations

from pathlib import Path

import pygit2
from pygit2.enums import CheckoutNotify, CheckoutStrategy, FileStatus

from ptyd.proto.gitworkspace import (
    GitWorkspaceError,
    MergeConflict,
    MergeOutcome,
    MergeResult,
    UncommittedChanges,
    paths_preview,
)

from ._git import branch_tip, open_repo
from ._git_worktree import checkouts_of


class _ConflictCollector(pygit2.CheckoutCallbacks):
    """Collect the paths a SAFE checkout refuses to overwrite (reported before any write)."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def checkout_notify_flags(self) -> CheckoutNotify:
        return CheckoutNotify.CONFLICT

    def checkout_notify(
        self,
        why: CheckoutNotify,
        path: str,
        baseline: pygit2.DiffFile | None,
        target: pygit2.DiffFile | None,
        workdir: pygit2.DiffFile | None,
    ) -> None:
        self.paths.append(path)


def _tracked_changes(worktree: pygit2.Repository) -> list[str]:
    # Untracked files are no obstacle unless the checkout would overwrite one; SAFE checks that.
    return sorted(
        path
        for path, flags in worktree.status(untracked_files="no").items()
        if flags not in (FileStatus.CURRENT, FileStatus.IGNORED)
    )


def _require_clean(path: Path, target: str) -> None:
    with open_repo(path) as worktree:
        changed = _tracked_changes(worktree)
    if changed:
        raise UncommittedChanges(
            f"{target!r} is checked out in {path} with uncommitted changes "
            f"({paths_preview(changed)}); commit or stash them there, or switch that checkout to "
            "another branch, then merge again (nothing was merged)",
            changed,
        )


def _move_checkout(path: Path, commit: pygit2.Oid, target: str) -> None:
    with open_repo(path) as worktree:
        collector = _ConflictCollector()
        try:
            # Baseline is the checkout's current HEAD (old integration), so only files that
            # differ between old and new tips are rewritten; the index is updated too.
            worktree.checkout_tree(  # type: ignore[no-untyped-call]  # pygit2 1.21: untyped
                worktree[commit], strategy=CheckoutStrategy.SAFE, callbacks=collector
            )
        except pygit2.GitError as exc:
            raise UncommittedChanges(
                f"merging would overwrite files in {path}, where {target!r} is checked out "
                f"({paths_preview(collector.paths) or exc}); move them away and merge again "
                "(nothing was merged)",
                collector.paths,
            ) from exc


def merge_into(
    repo: pygit2.Repository,
    common_dir: Path,
    target: str,
    source: str,
    signature: pygit2.Signature,
) -> MergeResult:
    """Merge branch `source` into branch `target` (caller holds the repository lock)."""
    target_ref = f"refs/heads/{target}"
    ours, theirs = branch_tip(repo, target), branch_tip(repo, source)
    if ours == theirs or repo.descendant_of(ours, theirs):
        return MergeResult("up-to-date", str(ours))

    outcome: MergeOutcome
    tree: pygit2.Oid | None = None
    if repo.descendant_of(theirs, ours):
        outcome = "fast-forward"
    else:
        outcome = "merged"
        index = repo.merge_commits(ours, theirs)
        if index.conflicts is not None:
            # Each conflict is (ancestor, ours, theirs); any side may be None (added/deleted).
            paths = [next(e.path for e in entry if e is not None) for entry in index.conflicts]
            raise MergeConflict(
                f"merging {source!r} into {target!r} conflicts in {paths_preview(paths)}; "
                f"nothing was changed: rebase or fix {source!r} on top of {target!r} "
                "(or resolve by hand) and merge again",
                paths,
            )
        tree = index.write_tree(repo)

    with repo.transaction() as txn:
        # Lock integration first, then compare-and-swap: another process may have moved it
        # since we read it, and the checkouts below must not move to a stale merge.
        txn.lock_ref(target_ref)
        if branch_tip(repo, target) != ours:
            raise GitWorkspaceError(f"{target!r} moved while merging {source!r}; merge again")
        checkouts = checkouts_of(repo, common_dir, target)
        for path in checkouts:
            _require_clean(path, target)
        new = theirs
        if tree is not None:
            new = repo.create_commit(
                None, signature, signature, f"Merge branch '{source}' into {target}", tree,
                [ours, theirs],
            )
        for path in checkouts:
            _move_checkout(path, new, target)
        txn.set_target(target_ref, new, message=f"merge {source}: {outcome}")
    return MergeResult(outcome, str(new), tuple(checkouts))
