"""WorkspaceManager: plain directories as in the seed, git worktrees with a repository."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pygit2
import pytest

from ptyd.runtime.branches import BranchManager
from ptyd.runtime.workspace import (
    InvalidArgument,
    NotARepository,
    NothingToCommit,
    SandboxExists,
    UncommittedChanges,
    UnknownAgent,
    WorkspaceManager,
)

if TYPE_CHECKING:
    from tests.runtime.conftest import Apply, GitCLI, Work

pytestmark = pytest.mark.usefixtures("ptyd_daemon")  # the daemon does the git work


# ---- plain directories ------------------------------------------------------------------


def test_seed_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    claude_md_content = "# Task T001\nDesign the API.\n"

    # --- the runtime seed's example, import path changed -----------------------------------
    from ptyd.runtime.workspace import WorkspaceManager

    workspace = WorkspaceManager(Path("sandbox"))

    # Create sandbox for agent
    sandbox_path = workspace.create_sandbox("architect-T001")
    # Returns: Path("sandbox/architect-T001")

    # Get sandbox path
    path = workspace.get_sandbox("architect-T001")

    # Inject .claude.md context
    workspace.inject_claude_md("architect-T001", claude_md_content)
    # ----------------------------------------------------------------------------------------
    assert sandbox_path == path == Path("sandbox/architect-T001")
    assert (path / "CLAUDE.md").read_text() == claude_md_content
    assert not (path / ".claude.md").exists()
    workspace.create_sandbox("implementer-T002")
    assert list(workspace.sandboxes()) == ["architect-T001", "implementer-T002"]

    # Clean up
    workspace.cleanup("architect-T001")
    workspace.cleanup_all()
    # ----------------------------------------------------------------------------------------
    assert workspace.sandboxes() == {}
    assert not path.exists()


def test_plain_sandbox_can_get_the_legacy_context_name_too(tmp_path: Path) -> None:
    workspace = WorkspaceManager(tmp_path / "sandbox")
    workspace.create_sandbox("a1")
    written = workspace.inject_claude_md("a1", "ctx\n", also_legacy_name=True)
    assert [p.name for p in written] == ["CLAUDE.md", ".claude.md"]
    assert all(p.read_text() == "ctx\n" for p in written)
    assert workspace.uncommitted_changes("a1") == []  # no git, no notion of uncommitted


def test_plain_unknown_and_invalid_agents(tmp_path: Path) -> None:
    workspace = WorkspaceManager(tmp_path / "sandbox")
    with pytest.raises(UnknownAgent, match=r"create_sandbox\('ghost'\)"):
        workspace.get_sandbox("ghost")
    with pytest.raises(UnknownAgent):
        workspace.cleanup("ghost")
    with pytest.raises(UnknownAgent):
        workspace.inject_claude_md("ghost", "x")
    for bad in ("../escape", "a/b", "", "."):
        with pytest.raises(InvalidArgument):
            workspace.create_sandbox(bad)
    assert not (tmp_path / "escape").exists()


def test_repository_that_is_not_one_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(NotARepository):
        WorkspaceManager(tmp_path / "sandbox", repo=tmp_path / "plain")


# ---- git worktrees ----------------------------------------------------------------------


def test_sandbox_needs_a_branch_and_is_a_worktree_of_it(
    project: Path, sandbox_dir: Path, git: GitCLI
) -> None:
    workspace = WorkspaceManager(sandbox_dir, repo=project)
    with pytest.raises(UnknownAgent, match="create_agent_branch"):
        workspace.create_sandbox("a1")
    git(project, "branch", "feature")

    path = workspace.create_sandbox("a1", branch="feature")

    assert path == sandbox_dir / "a1"
    assert git(path, "symbolic-ref", "HEAD") == "refs/heads/feature"
    assert workspace.create_sandbox("a1", branch="feature") == path  # idempotent
    assert workspace.get_sandbox("a1") == path
    assert workspace.sandboxes() == {"a1": path}
    assert (project / ".git" / "worktrees" / "a1").is_dir()  # '/'-free worktree name


def test_create_sandbox_alone_reuses_the_agents_registered_branch(
    branches: BranchManager, sandbox_dir: Path, git: GitCLI
) -> None:
    name = branches.create_agent_branch("a1", "T1")
    assert branches.workspace.create_sandbox("a1") == sandbox_dir / "a1"
    branches.workspace.cleanup("a1")
    path = branches.workspace.create_sandbox("a1")
    assert git(path, "symbolic-ref", "HEAD") == f"refs/heads/{name}"


def test_sandbox_path_taken_by_something_else_is_refused(
    branches: BranchManager, sandbox_dir: Path
) -> None:
    (sandbox_dir / "a1").mkdir(parents=True)
    (sandbox_dir / "a1" / "precious.txt").write_text("not ours\n")
    with pytest.raises(SandboxExists, match="move it away"):
        branches.create_agent_branch("a1", "T1")
    assert (sandbox_dir / "a1" / "precious.txt").exists()
    assert branches.list_branches() == []  # the branch was rolled back


def test_injected_context_is_ignored_in_that_worktree_only(
    branches: BranchManager, project: Path, sandbox_dir: Path, git: GitCLI, work: Work
) -> None:
    name = branches.create_agent_branch("a1", "T1")
    branches.create_agent_branch("a2", "T2")
    written = branches.workspace.inject_claude_md("a1", "# ctx\n", also_legacy_name=True)
    a1, a2 = sandbox_dir / "a1", sandbox_dir / "a2"
    assert written == [a1 / "CLAUDE.md", a1 / ".claude.md"]

    # git and libgit2 both see the files as ignored, through the worktree's own exclude file.
    assert git(a1, "status", "--porcelain") == ""
    source = git(a1, "check-ignore", "-v", "CLAUDE.md")
    assert source.startswith(f"{project / '.git' / 'worktrees' / 'a1' / 'info' / 'exclude'}:")
    assert pygit2.Repository(str(a1)).status() == {}
    assert not branches.get_branch_info("a1").dirty
    with pytest.raises(NothingToCommit):
        branches.commit_changes("a1", "only context")
    # ... and nowhere else.
    for other in (a2, project):
        (other / "CLAUDE.md").write_text("someone's own\n")
        assert git(other, "status", "--porcelain") == "?? CLAUDE.md"

    work("a1", {"api.md": "# API\n"})
    assert git(project, "ls-tree", "--name-only", name).splitlines() == [
        ".gitignore", "README.md", "api.md", "src",
    ]
    assert [f.path for f in branches.get_diff_from_base("a1").files] == ["api.md"]


def test_a_tracked_claude_md_keeps_the_branchs_version_in_commits(
    project: Path, sandbox_dir: Path, git: GitCLI, apply: Apply
) -> None:
    (project / "CLAUDE.md").write_text("the project's own\n")
    git(project, "add", "CLAUDE.md")
    git(project, "commit", "-q", "-m", "project context")
    branches = BranchManager(project, workspace=WorkspaceManager(sandbox_dir, repo=project))
    name = branches.create_agent_branch("a1", "T1")
    branches.workspace.inject_claude_md("a1", "injected\n")

    assert not branches.get_branch_info("a1").dirty
    with pytest.raises(NothingToCommit):
        branches.commit_changes("a1", "only context")
    apply(sandbox_dir / "a1", {"work.txt": "w\n"})
    branches.commit_changes("a1", "work")

    assert git(project, "show", f"{name}:CLAUDE.md") == "the project's own"
    assert (sandbox_dir / "a1" / "CLAUDE.md").read_text() == "injected\n"


def test_cleanup_removes_worktree_and_metadata_but_keeps_the_branch(
    branches: BranchManager, project: Path, sandbox_dir: Path, git: GitCLI, work: Work
) -> None:
    name = branches.create_agent_branch("a1", "T1")
    commit = work("a1", {"x.txt": "x\n"})
    branches.workspace.inject_claude_md("a1", "ctx\n")  # context is not work: no refusal

    branches.workspace.cleanup("a1")

    assert not (sandbox_dir / "a1").exists()
    assert not (project / ".git" / "worktrees" / "a1").exists()
    assert str(sandbox_dir / "a1") not in git(project, "worktree", "list")
    assert git.rev(project, name) == commit
    info = branches.get_branch_info("a1")
    assert (info.sandbox, info.dirty) == (None, False)
    with pytest.raises(UnknownAgent):
        branches.workspace.get_sandbox("a1")
    git.fsck(project)


def test_cleanup_refuses_uncommitted_work_unless_forced(
    branches: BranchManager, sandbox_dir: Path, apply: Apply
) -> None:
    branches.create_agent_branch("a1", "T1")
    sandbox = sandbox_dir / "a1"
    apply(sandbox, {"new.txt": "n\n", "README.md": "edited\n", "src/app.py": None})

    with pytest.raises(UncommittedChanges, match="force=True") as info:
        branches.workspace.cleanup("a1")

    assert info.value.paths == ["README.md", "new.txt", "src/app.py"]
    assert (sandbox / "new.txt").exists()
    branches.workspace.cleanup("a1", force=True)
    assert not sandbox.exists()
    assert branches.workspace.sandboxes() == {}


def test_cleanup_all_removes_clean_sandboxes_and_reports_the_rest(
    branches: BranchManager, sandbox_dir: Path, apply: Apply
) -> None:
    for agent in ("a1", "a2", "a3"):
        branches.create_agent_branch(agent, "T1")
    apply(sandbox_dir / "a2", {"wip.txt": "wip\n"})

    with pytest.raises(UncommittedChanges, match="a2") as info:
        branches.workspace.cleanup_all()

    assert info.value.paths == ["a2/wip.txt"]
    assert list(branches.workspace.sandboxes()) == ["a2"]
    branches.workspace.cleanup_all(force=True)
    assert branches.workspace.sandboxes() == {}
    assert not any(sandbox_dir.iterdir())


def test_a_sandbox_deleted_by_hand_is_pruned_and_can_be_recreated(
    branches: BranchManager, sandbox_dir: Path, project: Path, git: GitCLI
) -> None:
    import shutil

    branches.create_agent_branch("a1", "T1")
    shutil.rmtree(sandbox_dir / "a1")
    assert branches.workspace.sandboxes() == {}
    with pytest.raises(UnknownAgent):
        branches.workspace.cleanup("a1")

    path = branches.workspace.create_sandbox("a1")

    assert (path / "README.md").exists()
    assert git(project, "worktree", "list", "--porcelain").count("worktree ") == 2
    git.fsck(project)


def test_sandbox_dir_inside_the_checkout_is_excluded_there(
    project: Path, git: GitCLI
) -> None:
    branches = BranchManager(project, workspace=WorkspaceManager(project / "agents", repo=project))
    branches.create_agent_branch("a1", "T1")
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "check-ignore", "agents/a1") == "agents/a1"
    # Twice is once: the exclude line is not repeated.
    branches.create_agent_branch("a2", "T2")
    exclude = (project / ".git" / "info" / "exclude").read_text().splitlines()
    assert exclude.count("/agents/") == 1


def test_a_worktree_made_by_hand_on_another_branch_is_not_taken_for_the_agents(
    project: Path, sandbox_dir: Path, git: GitCLI
) -> None:
    git(project, "worktree", "add", "-q", "-b", "mine", str(sandbox_dir / "a1"))
    branches = BranchManager(project, workspace=WorkspaceManager(sandbox_dir, repo=project))
    with pytest.raises(SandboxExists, match="refs/heads/mine"):
        branches.create_agent_branch("a1", "T1")
    assert branches.list_branches() == []
    assert git(project, "branch", "--list", "agent/*") == ""


def test_seed_workspace_next_to_seed_branches_keeps_context_out_of_commits(
    project: Path, git: GitCLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed's two examples, run as printed in one repository: WorkspaceManager(Path("sandbox"))
    has no repo=, yet its sandbox is the agent's worktree, so CLAUDE.md must stay out of it."""
    monkeypatch.chdir(project)
    claude_md_content = "# Task T001\nDesign the API.\n"

    # --- the runtime seed's examples, import paths changed ----------------------------------
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

    from ptyd.runtime.workspace import WorkspaceManager

    workspace = WorkspaceManager(Path("sandbox"))

    # Create sandbox for agent
    sandbox_path = workspace.create_sandbox("architect-T001")
    # Returns: Path("sandbox/architect-T001")

    # Get sandbox path
    path = workspace.get_sandbox("architect-T001")

    # Inject .claude.md context
    workspace.inject_claude_md("architect-T001", claude_md_content)
    # ----------------------------------------------------------------------------------------
    assert branch_name == "agent/architect-T001-T001"
    assert sandbox_path == path == Path("sandbox/architect-T001")
    (path / "api.md").write_text("GET /tasks\n")
    assert workspace.injected_files("architect-T001") == {"CLAUDE.md"}
    assert workspace.uncommitted_changes("architect-T001") == ["api.md"]
    assert git(path, "status", "--porcelain") == "?? api.md"  # git itself ignores CLAUDE.md

    # Commit changes
    branches.commit_changes(
        agent_id="architect-T001",
        message="Completed API design",
    )

    # Get diff from base
    diff = branches.get_diff_from_base("architect-T001")
    # ----------------------------------------------------------------------------------------
    assert [f.path for f in diff.files] == ["api.md"]
    assert "CLAUDE.md" not in git(project, "ls-tree", "-r", "--name-only", branch_name)

    # Clean up
    workspace.cleanup("architect-T001")
    workspace.cleanup_all()
    # ----------------------------------------------------------------------------------------
    assert not path.exists()
    assert "architect-T001" not in git(project, "worktree", "list")  # metadata pruned too


def test_plain_sandboxes_inside_a_repository_stay_plain(
    project: Path, git: GitCLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent without a branch in the surrounding repository gets a plain directory, as the
    seed's WorkspaceManager always did: no branch is required of it."""
    monkeypatch.chdir(project)
    workspace = WorkspaceManager(Path("sandbox"))
    path = workspace.create_sandbox("helper")
    workspace.inject_claude_md("helper", "ctx\n")
    assert (path / "CLAUDE.md").read_text() == "ctx\n"
    assert workspace.injected_files("helper") == set()
    assert "helper" not in git(project, "worktree", "list")
    workspace.cleanup("helper")
    assert not path.exists()
