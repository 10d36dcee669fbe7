"""BranchManager against real repositories, with the git CLI as the referee."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pygit2
import pytest

from ptyd.runtime.branches import (
    BranchExists,
    BranchInfo,
    BranchManager,
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
    SandboxMissing,
    UncommittedChanges,
    UnknownAgent,
    WrongBranch,
)
from ptyd.runtime.workspace import WorkspaceManager
from tests.conftest import load_factor

if TYPE_CHECKING:
    from tests.runtime.conftest import Apply, GitCLI, Work

pytestmark = pytest.mark.usefixtures("ptyd_daemon")  # the daemon does the git work


# ---- construction and creation ----------------------------------------------------------


def test_not_a_repository_is_refused_at_construction(tmp_path: Path) -> None:
    with pytest.raises(NotARepository, match="git init"):
        BranchManager(tmp_path)
    with pytest.raises(NotARepository, match="does not exist"):
        BranchManager(tmp_path / "missing")


def test_create_agent_branch_makes_integration_from_head_and_checks_out_a_worktree(
    branches: BranchManager, project: Path, sandbox_dir: Path, git: GitCLI
) -> None:
    name = branches.create_agent_branch("architect-T001", "T001")

    assert name == "agent/architect-T001-T001"
    head = git.rev(project, "main")
    assert git.rev(project, "integration") == head
    assert git.rev(project, name) == head
    sandbox = sandbox_dir / "architect-T001"
    assert git(sandbox, "symbolic-ref", "HEAD") == f"refs/heads/{name}"
    assert (sandbox / "src" / "app.py").read_text() == "def main():\n    return 1\n"
    assert str(sandbox) in git(project, "worktree", "list")
    assert git(project, "symbolic-ref", "HEAD") == "refs/heads/main"  # main checkout untouched
    git.fsck(project)


def test_new_branches_start_from_integration_not_head(
    branches: BranchManager, project: Path, git: GitCLI
) -> None:
    git(project, "branch", "integration")
    git(project, "commit", "-q", "--allow-empty", "-m", "main moves on")

    name = branches.create_agent_branch("a1", "T1")

    assert git.rev(project, name) == git.rev(project, "integration")
    assert git.rev(project, name) != git.rev(project, "main")


def test_an_agent_has_one_branch_at_a_time(branches: BranchManager) -> None:
    branches.create_agent_branch("a1", "T1")
    with pytest.raises(BranchExists, match="already has branch 'agent/a1-T1'"):
        branches.create_agent_branch("a1", "T2")


def test_existing_branch_of_that_name_is_refused(
    branches: BranchManager, project: Path, git: GitCLI
) -> None:
    git(project, "branch", "agent/a1-T1")
    with pytest.raises(BranchExists, match="git branch -D"):
        branches.create_agent_branch("a1", "T1")
    with pytest.raises(UnknownAgent):
        branches.get_branch_info("a1")


@pytest.mark.parametrize("bad", ["", "a/b", "a b", "../x", "a..b", "x.lock", "-x", "é"])
def test_ids_that_cannot_name_a_branch_or_directory_are_refused(
    branches: BranchManager, bad: str
) -> None:
    with pytest.raises(InvalidArgument):
        branches.create_agent_branch(bad, "T1")
    with pytest.raises(InvalidArgument):
        branches.create_agent_branch("a1", bad)


def test_invalid_integration_branch_name_is_refused(project: Path) -> None:
    with pytest.raises(InvalidArgument):
        BranchManager(project, integration_branch="bad..name")


def test_unknown_agent_is_reported_by_every_method(branches: BranchManager) -> None:
    calls: list[Callable[[], object]] = [
        lambda: branches.commit_changes("ghost", "msg"),
        lambda: branches.push_branch("ghost"),
        lambda: branches.merge_to_integration("ghost"),
        lambda: branches.get_diff_from_base("ghost"),
        lambda: branches.get_branch_info("ghost"),
        lambda: branches.delete_agent_branch("ghost"),
    ]
    for call in calls:
        with pytest.raises(UnknownAgent, match="create_agent_branch") as info:
            call()
        assert info.value.agent_id == "ghost"


def test_workspace_of_another_repository_is_refused(
    project: Path, tmp_path: Path, git: GitCLI
) -> None:
    other = tmp_path / "other"
    git(tmp_path, "init", "-q", str(other))
    with pytest.raises(GitWorkspaceError, match="manages"):
        BranchManager(project, workspace=WorkspaceManager(tmp_path / "sb", repo=other))
    with pytest.raises(GitWorkspaceError, match="plain directories"):
        BranchManager(project, workspace=WorkspaceManager(tmp_path / "sb"))


# ---- committing -------------------------------------------------------------------------


def test_commit_stages_new_modified_and_deleted_files_but_not_ignored_ones(
    branches: BranchManager, sandbox_dir: Path, git: GitCLI, project: Path, apply: Apply,
    author: tuple[str, str],
) -> None:
    name = branches.create_agent_branch("a1", "T1")
    sandbox = sandbox_dir / "a1"
    apply(
        sandbox,
        {
            "docs/api.md": "# API\n",  # new, in a new directory
            "README.md": "# demo\n\nchanged\n",  # modified
            "src/app.py": None,  # deleted
            "debug.log": "ignored by *.log\n",
            "build/out.o": "ignored by build/\n",
        },
    )

    commit = branches.commit_changes("a1", "Completed API design")

    assert commit == git.rev(project, name)
    assert git(project, "ls-tree", "-r", "--name-only", name).splitlines() == [
        ".gitignore",
        "README.md",
        "docs/api.md",
    ]
    assert git(project, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", name) == (
        f"{author[0]} <{author[1]}>|{author[0]} <{author[1]}>|Completed API design"
    )
    assert git(project, "rev-parse", f"{name}^") == git.rev(project, "integration")
    # The checkout is clean afterwards as far as git is concerned (index written too).
    assert git(sandbox, "status", "--porcelain") == ""
    git.fsck(project)


def test_nothing_to_commit_is_an_error_that_says_what_to_do(
    branches: BranchManager, sandbox_dir: Path
) -> None:
    branches.create_agent_branch("a1", "T1")
    with pytest.raises(NothingToCommit, match="change files there first"):
        branches.commit_changes("a1", "nothing")
    (sandbox_dir / "a1" / "trace.log").write_text("ignored\n")
    with pytest.raises(NothingToCommit):
        branches.commit_changes("a1", "only ignored files")


def test_empty_commit_message_is_refused(branches: BranchManager, work: Work) -> None:
    branches.create_agent_branch("a1", "T1")
    with pytest.raises(InvalidArgument, match="empty commit message"):
        work("a1", {"x.txt": "x\n"}, message="  ")


def test_commit_on_detached_head_is_refused(
    branches: BranchManager, sandbox_dir: Path, git: GitCLI
) -> None:
    branches.create_agent_branch("a1", "T1")
    sandbox = sandbox_dir / "a1"
    git(sandbox, "checkout", "-q", "--detach")
    (sandbox / "x.txt").write_text("x\n")
    with pytest.raises(DetachedHead, match="git switch agent/a1-T1"):
        branches.commit_changes("a1", "msg")


def test_commit_on_another_branch_is_refused(
    branches: BranchManager, sandbox_dir: Path, git: GitCLI
) -> None:
    branches.create_agent_branch("a1", "T1")
    sandbox = sandbox_dir / "a1"
    git(sandbox, "switch", "-q", "-c", "elsewhere")
    (sandbox / "x.txt").write_text("x\n")
    with pytest.raises(WrongBranch, match="refs/heads/elsewhere"):
        branches.commit_changes("a1", "msg")


def test_commit_without_a_sandbox_says_how_to_get_one_back(
    branches: BranchManager, work: Work
) -> None:
    branches.create_agent_branch("a1", "T1")
    branches.workspace.cleanup("a1")
    with pytest.raises(SandboxMissing, match=r"create_sandbox\('a1'\)"):
        branches.commit_changes("a1", "msg")
    branches.workspace.create_sandbox("a1")
    assert work("a1", {"back.txt": "again\n"})


def test_default_identity_is_the_repositorys_then_ptyds(project: Path, git: GitCLI) -> None:
    assert BranchManager(project).author_name == "ptyd"  # hermetic: no user.name anywhere
    git(project, "config", "user.name", "Repo Owner")
    git(project, "config", "user.email", "owner@tests.invalid")
    manager = BranchManager(project)
    assert (manager.author_name, manager.author_email) == ("Repo Owner", "owner@tests.invalid")
    sig = pygit2.Signature("Sig Name", "sig@tests.invalid")
    assert BranchManager(project, signature=sig).author_email == "sig@tests.invalid"


def test_non_ascii_file_names_round_trip(
    branches: BranchManager, work: Work, project: Path, git: GitCLI
) -> None:
    name = branches.create_agent_branch("a1", "T1")
    work("a1", {"données/résumé.txt": "café\n", "日本語.md": "こんにちは\n"})

    listed = git(project, "-c", "core.quotepath=off", "ls-tree", "-r", "--name-only", name)
    assert {"données/résumé.txt", "日本語.md"} <= set(listed.splitlines())
    diff = branches.get_diff_from_base("a1")
    assert {f.path for f in diff.files} == {"données/résumé.txt", "日本語.md"}
    assert diff.patch_bytes == git.bytes(project, "diff", f"integration...{name}")
    git.fsck(project)


def test_binary_files_are_committed_byte_exact_and_flagged_in_the_diff(
    branches: BranchManager, work: Work, project: Path, git: GitCLI
) -> None:
    name = branches.create_agent_branch("a1", "T1")
    blob = bytes(range(256)) * 4 + b"\x00\xff"
    work("a1", {"assets/logo.bin": blob})

    assert git.bytes(project, "show", f"{name}:assets/logo.bin") == blob
    diff = branches.get_diff_from_base("a1")
    (stat,) = diff.files
    assert (stat.path, stat.status, stat.binary, stat.insertions, stat.deletions) == (
        "assets/logo.bin", "A", True, 0, 0,
    )
    assert diff.patch == git(project, "diff", f"integration...{name}") + "\n"


# ---- diff -------------------------------------------------------------------------------


def test_diff_from_base_matches_git_three_dot_diff_and_numstat(
    branches: BranchManager, work: Work, project: Path, git: GitCLI
) -> None:
    name = branches.create_agent_branch("a1", "T1")
    work("a1", {"README.md": "# demo\n\nfirst line\nchanged\nadded\n", "new.txt": "n\n"})
    work("a1", {"src/app.py": None})
    # Integration moves on meanwhile: a three-dot diff must not show integration's change.
    git(project, "switch", "-q", "integration")
    (project / "other.txt").write_text("integration's own change\n")
    git(project, "add", "other.txt")
    git(project, "commit", "-q", "-m", "integration moves")
    git(project, "switch", "-q", "main")

    diff = branches.get_diff_from_base("a1")

    assert diff.patch_bytes == git.bytes(project, "diff", f"integration...{name}")
    assert diff.base_commit == git(project, "merge-base", "integration", name)
    assert diff.head_commit == git.rev(project, name)
    rows = {f.path: (f.status, f.insertions, f.deletions) for f in diff.files}
    assert rows == {"README.md": ("M", 2, 1), "new.txt": ("A", 1, 0), "src/app.py": ("D", 0, 2)}
    numstat = git(project, "diff", "--numstat", f"integration...{name}").splitlines()
    assert sorted(numstat) == sorted(f"{i}\t{d}\t{p}" for p, (_, i, d) in rows.items())
    assert (diff.files_changed, diff.insertions, diff.deletions) == (3, 3, 3)


def test_diff_detects_renames_like_git(
    branches: BranchManager, work: Work, project: Path, git: GitCLI, sandbox_dir: Path
) -> None:
    name = branches.create_agent_branch("a1", "T1")
    sandbox = sandbox_dir / "a1"
    (sandbox / "src" / "app.py").rename(sandbox / "src" / "main.py")
    branches.commit_changes("a1", "rename")

    diff = branches.get_diff_from_base("a1")

    (stat,) = diff.files
    assert (stat.status, stat.old_path, stat.path) == ("R", "src/app.py", "src/main.py")
    assert diff.patch_bytes == git.bytes(project, "diff", f"integration...{name}")


def test_diff_of_a_fresh_branch_is_empty(branches: BranchManager) -> None:
    branches.create_agent_branch("a1", "T1")
    diff = branches.get_diff_from_base("a1")
    assert (diff.patch, diff.files, diff.files_changed) == ("", [], 0)


# ---- push -------------------------------------------------------------------------------


def test_push_publishes_the_branch_and_sets_its_upstream(
    branches: BranchManager, work: Work, origin: Path, project: Path, git: GitCLI
) -> None:
    name = branches.create_agent_branch("a1", "T1")
    commit = work("a1", {"x.txt": "x\n"})
    assert not branches.get_branch_info("a1").pushed

    assert branches.push_branch("a1") == commit

    assert git.rev(origin, name) == commit
    assert git(project, "rev-parse", "--abbrev-ref", f"{name}@{{upstream}}") == f"origin/{name}"
    assert branches.get_branch_info("a1").pushed
    work("a1", {"y.txt": "y\n"})
    assert not branches.get_branch_info("a1").pushed
    git.fsck(origin)


def test_non_fast_forward_push_is_rejected_and_force_overwrites(
    branches: BranchManager, work: Work, origin: Path, tmp_path: Path, git: GitCLI
) -> None:
    name = branches.create_agent_branch("a1", "T1")
    work("a1", {"x.txt": "x\n"})
    branches.push_branch("a1")
    # Someone else pushes to the same branch from another clone.
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", name, str(origin), str(other))
    (other / "theirs.txt").write_text("theirs\n")
    git(other, "add", "-A")
    git(other, "commit", "-q", "-m", "theirs")
    git(other, "push", "-q", "origin", name)
    theirs = git.rev(origin, name)
    ours = work("a1", {"ours.txt": "ours\n"})

    with pytest.raises(PushRejected, match="force=True"):
        branches.push_branch("a1")
    assert git.rev(origin, name) == theirs  # untouched

    branches.push_branch("a1", force=True)
    assert git.rev(origin, name) == ours


def test_push_after_rewriting_pushed_history_is_rejected(
    branches: BranchManager, work: Work, origin: Path, git: GitCLI, sandbox_dir: Path
) -> None:
    name = branches.create_agent_branch("a1", "T1")
    pushed = work("a1", {"x.txt": "x\n"})
    branches.push_branch("a1")
    git(sandbox_dir / "a1", "commit", "-q", "--amend", "-m", "rewritten")  # remote tip known here

    with pytest.raises(PushRejected, match="non-fastforward"):
        branches.push_branch("a1")
    assert git.rev(origin, name) == pushed


def test_push_to_missing_remote_says_how_to_add_it(
    branches: BranchManager, work: Work
) -> None:
    branches.create_agent_branch("a1", "T1")
    with pytest.raises(RemoteMissing, match="git remote add upstream"):
        branches.push_branch("a1", remote="upstream")


# ---- merge ------------------------------------------------------------------------------


def test_merge_fast_forwards_when_integration_has_not_moved(
    branches: BranchManager, work: Work, project: Path, git: GitCLI
) -> None:
    name = branches.create_agent_branch("a1", "T1")
    commit = work("a1", {"x.txt": "x\n"})

    result = branches.merge_to_integration("a1")

    assert (result.outcome, result.commit) == ("fast-forward", commit)
    assert git.rev(project, "integration") == commit
    assert branches.merge_to_integration("a1").outcome == "up-to-date"
    assert git.rev(project, name) == commit


def test_merge_makes_a_merge_commit_when_both_sides_moved(
    branches: BranchManager, work: Work, project: Path, git: GitCLI
) -> None:
    branches.create_agent_branch("a1", "T1")
    branches.create_agent_branch("a2", "T2")
    first = work("a1", {"one.txt": "1\n"})
    second = work("a2", {"two.txt": "2\n"})
    branches.merge_to_integration("a1")

    result = branches.merge_to_integration("a2")

    assert result.outcome == "merged"
    assert git.rev(project, "integration") == result.commit
    assert git(project, "log", "-1", "--format=%P", "integration").split() == [first, second]
    assert git(project, "log", "-1", "--format=%s", "integration") == (
        "Merge branch 'agent/a2-T2' into integration"
    )
    files = git(project, "ls-tree", "-r", "--name-only", "integration").splitlines()
    assert {"one.txt", "two.txt", "README.md"} <= set(files)
    assert branches.get_branch_info("a2").merged
    git.fsck(project)


def test_merge_conflict_reports_paths_and_changes_nothing(
    branches: BranchManager, work: Work, project: Path, git: GitCLI
) -> None:
    a1 = branches.create_agent_branch("a1", "T1")
    a2 = branches.create_agent_branch("a2", "T2")
    work("a1", {"README.md": "# demo\n\nfirst line\nsecond line by a1\n", "a1.txt": "1\n"})
    work("a2", {"README.md": "# demo\n\nfirst line\nsecond line by a2\n", "a2.txt": "2\n"})
    branches.merge_to_integration("a1")
    before = {ref: git.rev(project, ref) for ref in ("integration", a1, a2)}

    with pytest.raises(MergeConflict, match=r"conflicts in README\.md") as info:
        branches.merge_to_integration("a2")

    assert info.value.paths == ["README.md"]
    assert {ref: git.rev(project, ref) for ref in before} == before
    assert git(project, "status", "--porcelain") == ""
    git.fsck(project)


def test_merge_keeps_a_checkout_of_integration_in_step(
    project: Path, sandbox_dir: Path, git: GitCLI, apply: Apply) -> None:
    # Integration is `main`, which the main checkout has checked out.
    branches = BranchManager(
        project, "main", workspace=WorkspaceManager(sandbox_dir, repo=project)
    )
    branches.create_agent_branch("a1", "T1")
    apply(sandbox_dir / "a1", {"README.md": "rewritten\n", "new.txt": "new\n"})
    branches.commit_changes("a1", "work")
    (project / "scratch.txt").write_text("untracked, not in the way\n")

    result = branches.merge_to_integration("a1")

    assert result.updated_checkouts == (project,)
    assert (project / "README.md").read_text() == "rewritten\n"
    assert (project / "new.txt").read_text() == "new\n"
    assert git(project, "status", "--porcelain") == "?? scratch.txt"


def test_merge_refuses_when_the_integration_checkout_is_dirty(
    project: Path, sandbox_dir: Path, git: GitCLI, apply: Apply) -> None:
    branches = BranchManager(
        project, "main", workspace=WorkspaceManager(sandbox_dir, repo=project)
    )
    branches.create_agent_branch("a1", "T1")
    apply(sandbox_dir / "a1", {"new.txt": "new\n"})
    branches.commit_changes("a1", "work")
    before = git.rev(project, "main")
    (project / "README.md").write_text("local edit\n")

    with pytest.raises(UncommittedChanges, match="commit or stash") as info:
        branches.merge_to_integration("a1")

    assert info.value.paths == ["README.md"]
    assert git.rev(project, "main") == before
    assert (project / "README.md").read_text() == "local edit\n"


def test_merge_refuses_to_overwrite_an_untracked_file_in_the_integration_checkout(
    project: Path, sandbox_dir: Path, git: GitCLI, apply: Apply) -> None:
    branches = BranchManager(
        project, "main", workspace=WorkspaceManager(sandbox_dir, repo=project)
    )
    branches.create_agent_branch("a1", "T1")
    apply(sandbox_dir / "a1", {"new.txt": "agent's\n"})
    branches.commit_changes("a1", "work")
    before = git.rev(project, "main")
    (project / "new.txt").write_text("someone's untracked file\n")

    with pytest.raises(UncommittedChanges, match="overwrite") as info:
        branches.merge_to_integration("a1")

    assert info.value.paths == ["new.txt"]
    assert git.rev(project, "main") == before
    assert (project / "new.txt").read_text() == "someone's untracked file\n"


# ---- info, listing, deleting ------------------------------------------------------------


def test_branch_info_tracks_ahead_behind_dirty_merged_pushed(
    branches: BranchManager, work: Work, project: Path, origin: Path, git: GitCLI,
    sandbox_dir: Path,
) -> None:
    name = branches.create_agent_branch("a1", "T1")
    fresh = branches.get_branch_info("a1")
    base = git.rev(project, "integration")
    assert fresh == BranchInfo(
        name=name, agent_id="a1", task_id="T1", base_commit=base, head_commit=base,
        ahead=0, behind=0, dirty=False, merged=False, pushed=False,
        sandbox=sandbox_dir / "a1", created_from=base,
    )

    (sandbox_dir / "a1" / "wip.txt").write_text("not yet committed\n")
    assert branches.get_branch_info("a1").dirty
    head = work("a1", {"wip.txt": "done\n"})
    branches.create_agent_branch("a2", "T2")
    work("a2", {"other.txt": "o\n"})
    branches.merge_to_integration("a2")

    info = branches.get_branch_info("a1")
    assert (info.head_commit, info.ahead, info.behind, info.dirty) == (head, 1, 1, False)
    assert (info.merged, info.pushed, info.base_commit) == (False, False, base)

    branches.push_branch("a1")
    branches.merge_to_integration("a1")
    info = branches.get_branch_info("a1")
    assert (info.ahead, info.merged, info.pushed) == (0, True, True)


def test_list_branches_lists_every_agent_sorted(branches: BranchManager) -> None:
    for agent in ("tester-T3", "architect-T1", "implementer-T2"):
        branches.create_agent_branch(agent, agent[-2:])
    assert [(i.agent_id, i.task_id, i.name) for i in branches.list_branches()] == [
        ("architect-T1", "T1", "agent/architect-T1-T1"),
        ("implementer-T2", "T2", "agent/implementer-T2-T2"),
        ("tester-T3", "T3", "agent/tester-T3-T3"),
    ]


def test_registry_survives_a_new_manager(
    branches: BranchManager, project: Path, sandbox_dir: Path, work: Work
) -> None:
    branches.create_agent_branch("a1", "T1")
    work("a1", {"x.txt": "x\n"})
    again = BranchManager(project, workspace=WorkspaceManager(sandbox_dir, repo=project))
    assert again.get_branch_info("a1").ahead == 1
    assert again.merge_to_integration("a1").outcome == "fast-forward"


def test_delete_refuses_unmerged_work_then_deletes_merged_branch(
    branches: BranchManager, work: Work, project: Path, git: GitCLI, sandbox_dir: Path
) -> None:
    name = branches.create_agent_branch("a1", "T1")
    work("a1", {"x.txt": "x\n"})
    with pytest.raises(NotMerged, match="merge_to_integration"):
        branches.delete_agent_branch("a1")
    assert (sandbox_dir / "a1").is_dir()

    branches.merge_to_integration("a1")
    branches.delete_agent_branch("a1")

    assert git(project, "branch", "--list", name) == ""
    assert not (sandbox_dir / "a1").exists()
    assert branches.list_branches() == []
    assert branches.create_agent_branch("a1", "T2") == "agent/a1-T2"
    git.fsck(project)


def test_delete_with_force_drops_unmerged_and_uncommitted_work(
    branches: BranchManager, work: Work, sandbox_dir: Path
) -> None:
    branches.create_agent_branch("a1", "T1")
    work("a1", {"x.txt": "x\n"})
    (sandbox_dir / "a1" / "wip.txt").write_text("wip\n")
    branches.merge_to_integration("a1")
    with pytest.raises(UncommittedChanges):
        branches.delete_agent_branch("a1")
    branches.delete_agent_branch("a1", force=True)
    assert branches.list_branches() == []


# ---- empty repository -------------------------------------------------------------------


def test_empty_repository_gets_an_empty_root_commit_on_integration(
    tmp_path: Path, git: GitCLI, apply: Apply, author: tuple[str, str]) -> None:
    repo = tmp_path / "empty"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    branches = BranchManager(repo, author_name=author[0], author_email=author[1])

    name = branches.create_agent_branch("a1", "T1")

    root = git.rev(repo, "integration")
    assert git(repo, "log", "--format=%P|%s", "integration") == (
        "|ptyd: empty root commit for integration"
    )
    assert git(repo, "ls-tree", "-r", "integration") == ""
    assert git.rev(repo, name) == root
    assert git.run(repo, "rev-parse", "--verify", "-q", "main", check=False).returncode != 0
    apply(repo / "sandbox" / "a1", {"hello.txt": "first file\n"})
    branches.commit_changes("a1", "first file")
    assert branches.merge_to_integration("a1").outcome == "fast-forward"
    assert git(repo, "ls-tree", "-r", "--name-only", "integration") == "hello.txt"
    # The default sandbox lives inside the checkout and is excluded there.
    assert git(repo, "status", "--porcelain") == ""
    git.fsck(repo)


# ---- concurrency ------------------------------------------------------------------------


def test_ten_threads_create_commit_and_merge_for_ten_agents(
    branches: BranchManager, project: Path, git: GitCLI, apply: Apply) -> None:
    agents = [f"agent{i}" for i in range(10)]
    rounds = 3
    barrier = threading.Barrier(len(agents), timeout=20 * load_factor())

    def run(agent: str) -> list[str]:
        barrier.wait()
        branches.create_agent_branch(agent, "T1")
        sandbox = branches.workspace.get_sandbox(agent)
        commits = []
        for n in range(rounds):
            apply(sandbox, {f"{agent}/file{n}.txt": f"{agent} round {n}\n" * 50})
            commits.append(branches.commit_changes(agent, f"{agent} round {n}"))
        barrier.wait()
        branches.merge_to_integration(agent)
        return commits

    with ThreadPoolExecutor(len(agents)) as pool:
        results = dict(zip(agents, pool.map(run, agents), strict=True))

    for agent, commits in results.items():
        name = f"agent/{agent}-T1"
        log = git(project, "log", "--format=%H", f"integration..{name}")
        assert log == ""  # merged
        assert git(project, "rev-list", "--reverse", f"main..{name}").split() == commits
        files = git(project, "ls-tree", "-r", "--name-only", name, f"{agent}/").splitlines()
        assert files == [f"{agent}/file{n}.txt" for n in range(rounds)]
    merged = git(project, "ls-tree", "-r", "--name-only", "integration").splitlines()
    assert len([f for f in merged if f.startswith("agent")]) == len(agents) * rounds
    assert all(not info.dirty and info.merged for info in branches.list_branches())
    git.fsck(project)


# ---- the seed's example -----------------------------------------------------------------


def test_seed_example_runs_as_written(
    project: Path, origin: Path, git: GitCLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)

    # --- the runtime seed's example, import path changed -----------------------------------
    from pathlib import Path

    from ptyd.runtime.branches import BranchManager

    branches = BranchManager(
        repo_dir=Path("."),
        integration_branch="integration",
    )

    # Create agent branch
    branch_name = branches.create_agent_branch(
        agent_id="architect-T001",
        task_id="T001",
    )
    # Returns: "agent/architect-T001-T001"
    # ----------------------------------------------------------------------------------------
    # The agent works in its checkout, <repo>/sandbox/architect-T001 by default.
    sandbox = branches.workspace.get_sandbox("architect-T001")
    assert sandbox.resolve() == (project / "sandbox" / "architect-T001").resolve()
    (sandbox / "api.md").write_text("# API\n")
    # ----------------------------------------------------------------------------------------

    # Commit changes
    branches.commit_changes(
        agent_id="architect-T001",
        message="Completed API design",
    )

    # Push branch
    branches.push_branch("architect-T001")

    # Merge to integration
    branches.merge_to_integration("architect-T001")

    # Get diff from base
    diff = branches.get_diff_from_base("architect-T001")
    # ----------------------------------------------------------------------------------------
    assert branch_name == "agent/architect-T001-T001"
    assert git.rev(origin, branch_name) == git.rev(project, branch_name)
    assert git.rev(project, "integration") == git.rev(project, branch_name)
    assert diff.patch == ""  # merged: integration...branch has nothing left
    assert git(project, "status", "--porcelain") == ""  # sandbox/ is excluded in the checkout
    git.fsck(project)


def test_a_branch_deleted_behind_our_back_frees_the_agent_id(
    branches: BranchManager, project: Path, git: GitCLI
) -> None:
    branches.create_agent_branch("a1", "T1")
    branches.workspace.cleanup("a1")
    git(project, "branch", "-D", "agent/a1-T1")
    assert branches.list_branches() == []
    with pytest.raises(UnknownAgent):
        branches.get_branch_info("a1")
    assert branches.create_agent_branch("a1", "T2") == "agent/a1-T2"


def test_bare_repository_works_with_an_explicit_workspace(
    tmp_path: Path, project: Path, git: GitCLI, apply: Apply
) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(project), str(bare))
    with pytest.raises(GitWorkspaceError, match="bare repository"):
        BranchManager(bare)
    branches = BranchManager(bare, workspace=WorkspaceManager(tmp_path / "wt", repo=bare))
    branches.create_agent_branch("a1", "T1")
    branches.workspace.inject_claude_md("a1", "ctx\n")
    apply(tmp_path / "wt" / "a1", {"x.txt": "x\n"})
    branches.commit_changes("a1", "work")  # CLAUDE.md kept out without worktree config
    assert branches.merge_to_integration("a1").outcome == "fast-forward"
    assert git(bare, "ls-tree", "--name-only", "integration", "x.txt", "CLAUDE.md") == "x.txt"
    assert git(bare, "config", "--get", "core.bare") == "true"  # layout left alone
    git.fsck(bare)


def test_a_lock_file_of_another_git_process_is_reported_as_such(
    branches: BranchManager, project: Path, sandbox_dir: Path, work: Work
) -> None:
    name = branches.create_agent_branch("a1", "T1")
    lock = project / ".git" / "refs" / "heads" / f"{name}.lock"
    lock.write_text("")  # what a concurrent `git commit` on that branch leaves while it runs
    (sandbox_dir / "a1" / "x.txt").write_text("x\n")

    with pytest.raises(RepositoryLocked, match="another git process"):
        branches.commit_changes("a1", "msg")

    lock.unlink()
    assert branches.commit_changes("a1", "msg")


def test_readers_never_trip_over_agents_finishing_in_other_threads(
    branches: BranchManager, project: Path, git: GitCLI
) -> None:
    agents = [f"agent{i}" for i in range(10)]
    barrier = threading.Barrier(len(agents) + 1, timeout=20 * load_factor())
    done = threading.Event()
    listings: list[int] = []

    def agent_life(agent: str) -> None:
        branches.create_agent_branch(agent, "T1")
        barrier.wait()
        (branches.workspace.get_sandbox(agent) / f"{agent}.txt").write_text(f"{agent}\n")
        branches.commit_changes(agent, "work")
        branches.merge_to_integration(agent)
        branches.get_branch_info(agent)
        branches.delete_agent_branch(agent)

    def reader() -> None:
        barrier.wait()
        while not done.is_set():
            listings.append(len(branches.list_branches()))
            branches.workspace.sandboxes()

    with ThreadPoolExecutor(len(agents) + 1) as pool:
        read = pool.submit(reader)
        lives = [pool.submit(agent_life, agent) for agent in agents]
        try:
            for life in lives:
                life.result()
        finally:
            done.set()  # also when an agent failed: the reader must stop for the pool to exit
        read.result()

    assert listings and branches.list_branches() == []
    merged = git(project, "ls-tree", "--name-only", "integration").splitlines()
    assert {f"{agent}.txt" for agent in agents} <= set(merged)
    assert git(project, "worktree", "list").count("\n") == 0  # only the main checkout
    git.fsck(project)
