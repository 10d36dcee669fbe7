"""The agent-per-branch workflow from the command line: `ptyd new --repo` in one step, then
ls, diff, commit, merge and push by session name, with a bare repository as the remote."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import DaemonProcess, wait_until
from tests.gitrepos import GIT_ENV, add_origin, git, make_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A repository on `main` with a README, and a bare repository on disk as `origin`."""
    path = make_project(tmp_path / "project")
    add_origin(path, tmp_path / "origin.git")
    return path


def ok(daemon: DaemonProcess, *args: str) -> str:
    result = daemon.cli(*args)
    assert result.returncode == 0, f"ptyd {' '.join(args)}: {result.stderr}"
    return result.stdout


def fails(daemon: DaemonProcess, code: int, *args: str) -> str:
    """Run a verb that must fail with `code`; returns its one-line message."""
    result = daemon.cli(*args)
    assert result.returncode == code, (result.stdout, result.stderr)
    if code == 1:  # a refused request: one line, the daemon's message
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


def agent_row(daemon: DaemonProcess, name: str) -> dict[str, str]:
    header, *rows = ok(daemon, "ls").splitlines()
    columns = header.split()[:5]
    for row in rows:
        cells = row.split()
        if cells[0] == name:
            return dict(zip(columns, cells[:5], strict=True))
    raise AssertionError(f"no row for {name} in ptyd ls")


def test_one_step_agent_workflow_end_to_end(daemon: DaemonProcess, project: Path) -> None:
    work = "echo '# API' > api.md; echo edited >> README.md; exec sleep 60"
    assert ok(daemon, "new", "--repo", str(project), "--task", "T001", "-s", "architect",
              "-d", "--", "sh", "-c", work).strip() == "architect"
    sandbox = project / "sandbox" / "architect"
    wait_until(lambda: (sandbox / "api.md").exists(), message="the agent's work")
    wait_until(lambda: "edited" in (sandbox / "README.md").read_text(), message="its edit")
    assert git(sandbox, "symbolic-ref", "--short", "HEAD") == "agent/architect-T001"
    assert git(project, "status", "--porcelain") == ""  # the sandbox is ignored there
    ok(daemon, "new", "-s", "plain", "-d", "--", "sleep", "60")

    row = agent_row(daemon, "architect")
    assert (row["BRANCH"], row["CHANGES"]) == ("agent/architect-T001", "yes")
    assert agent_row(daemon, "plain")["BRANCH"] == "-"
    assert "0 file(s) changed" in ok(daemon, "diff", "architect", "--stat")

    commit = ok(daemon, "commit", "architect", "-m", "API design").strip()

    assert commit == git(project, "rev-parse", "agent/architect-T001")
    assert agent_row(daemon, "architect")["CHANGES"] == "no"
    patch = subprocess.run(["git", "diff", "integration...agent/architect-T001"], cwd=project,
                           env=GIT_ENV, capture_output=True, check=True).stdout
    assert ok(daemon, "diff", "architect") == patch.decode()
    stat = ok(daemon, "diff", "architect", "--stat")
    assert "README.md |    1 +" in stat and "api.md    |    1 +" in stat
    assert "2 file(s) changed, 2 insertion(s)(+), 0 deletion(s)(-)" in stat
    assert ok(daemon, "merge", "architect").startswith("fast-forward: ")
    assert git(project, "rev-parse", "integration") == commit
    assert ok(daemon, "push", "architect").strip() == f"pushed {commit} to origin"
    assert git(project.parent / "origin.git", "rev-parse", "agent/architect-T001") == commit
    # The branch is reachable without its session too, against any integration branch.
    assert "0 file(s) changed" in ok(daemon, "diff", "architect", "--repo", str(project),
                                     "--stat")
    assert "2 file(s) changed" in ok(daemon, "diff", "architect", "--repo", str(project),
                                     "--integration", "main", "--stat")


def test_git_failures_are_one_line_errors_and_misuse_exits_2(
        daemon: DaemonProcess, project: Path, tmp_path: Path) -> None:
    for name, line in (("a1", "second line by a1"), ("a2", "second line by a2")):
        ok(daemon, "new", "--repo", str(project), "--task", "T1", "-s", name, "-d", "--",
           "sh", "-c", f"printf '# demo\\n\\nfirst line\\n{line}\\n' > README.md; exec sleep 60")
        readme = project / "sandbox" / name / "README.md"
        wait_until(lambda r=readme, t=line: t in r.read_text(), message=f"{name}'s edit")
        ok(daemon, "commit", name, "-m", f"{name} work")
    ok(daemon, "merge", "a1")

    assert "conflicts in README.md" in fails(daemon, 1, "merge", "a2")
    assert "nothing to commit" in fails(daemon, 1, "commit", "a1", "-m", "again")
    assert "no remote named 'nope'" in fails(daemon, 1, "push", "a1", "--remote", "nope")
    # A rejected push: someone else moved the remote branch.
    ok(daemon, "push", "a1")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "agent/a1-T1", str(project.parent / "origin.git"),
        str(other))
    git(other, "commit", "-q", "--allow-empty", "-m", "theirs")
    git(other, "push", "-q", "origin", "agent/a1-T1")
    (project / "sandbox" / "a1" / "more.txt").write_text("more\n")
    ok(daemon, "commit", "a1", "-m", "more")
    assert "rejected" in fails(daemon, 1, "push", "a1")
    ok(daemon, "push", "a1", "--force")
    ok(daemon, "new", "-s", "plain", "-d", "--", "sleep", "60")
    assert "works on no branch" in fails(daemon, 1, "diff", "plain")
    assert "no session named 'ghost'" in fails(daemon, 1, "commit", "ghost", "-m", "x")
    assert "has no branch" in fails(daemon, 1, "diff", "ghost", "--repo", str(project))
    assert "not inside a git repository" in fails(
        daemon, 1, "new", "--repo", str(tmp_path), "--task", "T1", "-s", "x", "-d", "--", "true")

    fails(daemon, 2, "new", "--task", "T1", "-d", "--", "true")
    fails(daemon, 2, "new", "--repo", str(project), "-s", "x", "-d", "--", "true")
    fails(daemon, 2, "new", "--repo", str(project), "--task", "T1", "-c", "/", "-d", "--", "true")
    fails(daemon, 2, "commit", "a1")  # no message
    fails(daemon, 2, "commit", "a1", "-m", "x", "--author", "nobody")
    fails(daemon, 2, "merge", "a1", "--integration", "main")  # a session knows its own
