"""What an agent's branch changed since it forked: `git diff integration...branch` in pygit2."""

from __future__ import annotations

import pygit2

from ptyd.proto.gitworkspace import BranchDiff, FileStat


def diff_commits(repo: pygit2.Repository, base: pygit2.Oid, head: pygit2.Oid) -> BranchDiff:
    """The diff from commit `base` to commit `head`, with per-file stats."""
    diff = repo.diff(repo[base].peel(pygit2.Commit), repo[head].peel(pygit2.Commit))
    diff.find_similar()  # renames, like git's default diff.renames=true
    files: list[FileStat] = []
    chunks: list[bytes] = []
    for patch in diff:
        if patch is None:  # libgit2 yields None for an unchanged entry; never for a diff of trees
            continue
        delta = patch.delta
        _, insertions, deletions = patch.line_stats
        old = delta.old_file.path
        files.append(
            FileStat(
                path=delta.new_file.path,
                status=delta.status_char(),
                insertions=insertions,
                deletions=deletions,
                old_path=old if old != delta.new_file.path else None,
                binary=bool(delta.is_binary),  # None = "not looked at"; a patch has looked
            )
        )
        chunks.append(patch.data)  # bytes: Diff.patch would already have replaced non-UTF-8
    patch_bytes = b"".join(chunks)
    return BranchDiff(
        base_commit=str(base),
        head_commit=str(head),
        patch=patch_bytes.decode("utf-8", errors="replace"),
        patch_bytes=patch_bytes,
        files=files,
    )
