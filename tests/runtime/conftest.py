"""Real repositories in tmp_path, a bare repository as the remote, the git CLI as referee, and
a real daemon doing the git work (BranchManager and WorkspaceManager are its clients)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pygit2
import pytest
from pygit2.enums import ConfigLevel

from ptyd.runtime.branches import BranchManager
from ptyd.runtime.workspace import WorkspaceManager
from tests.conftest import DaemonProcess, short_tempdir, start_daemon, stop_daemon

AUTHOR = ("Agent Tester", "agent@tests.invalid")

# The git CLI must not read the developer's ~/.gitconfig (identity, hooks, aliases, ...).
GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "CLI User",
    "GIT_AUTHOR_EMAIL": "cli@tests.invalid",
    "GIT_COMMITTER_NAME": "CLI User",
    "GIT_COMMITTER_EMAIL": "cli@tests.invalid",
    "LC_ALL": "C",
}


@pytest.fixture(autouse=True, scope="session")
def _hermetic_libgit2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Nor may libgit2: point its global/XDG/system config search paths at an empty dir."""
    empty = str(tmp_path_factory.mktemp("no-git-config"))
    levels = (ConfigLevel.GLOBAL, ConfigLevel.XDG, ConfigLevel.SYSTEM)
    saved = {level: pygit2.settings.search_path[level] for level in levels}
    for level in levels:
        pygit2.settings.search_path[level] = empty
    yield
    for level, value in saved.items():
        pygit2.settings.search_path[level] = value


@pytest.fixture(scope="session")
def git_daemon() -> Iterator[DaemonProcess]:
    """One daemon for the git tests (it keeps no state between them: the repositories are the
    state). Hermetic like the rest: its libgit2 finds no global or XDG git config (HOME and
    XDG_CONFIG_HOME point at an empty directory). Asserts it shut down cleanly."""
    base = short_tempdir()
    home = base / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HOME", str(home))
        env.setenv("XDG_CONFIG_HOME", str(home / ".config"))
        env.setenv("GIT_CONFIG_NOSYSTEM", "1")
        daemon = start_daemon(base / "run")
    yield daemon
    code = stop_daemon(daemon)
    log = daemon.log()
    shutil.rmtree(base, ignore_errors=True)
    assert code == 0, f"daemon exited with {code}:\n{log}"
    assert "Traceback" not in log, log


@pytest.fixture
def ptyd_daemon(git_daemon: DaemonProcess, monkeypatch: pytest.MonkeyPatch) -> DaemonProcess:
    """The git daemon as this test's default daemon ($PTYD_DIR), as the managers find it."""
    monkeypatch.setenv("PTYD_DIR", str(git_daemon.dir))
    return git_daemon


class GitCLI:
    """The reference implementation: `git` itself."""

    def run(self, cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, timeout=30
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode()}")
        return proc

    def __call__(self, cwd: Path, *args: str) -> str:
        return self.run(cwd, *args).stdout.decode().strip()

    def bytes(self, cwd: Path, *args: str) -> bytes:
        return self.run(cwd, *args).stdout

    def rev(self, cwd: Path, rev: str) -> str:
        return self(cwd, "rev-parse", "--verify", "--end-of-options", rev)

    def fsck(self, cwd: Path) -> None:
        proc = self.run(cwd, "fsck", "--strict", "--no-dangling", check=False)
        problems = [
            line for line in proc.stderr.decode().splitlines() if not line.startswith("notice:")
        ]
        assert proc.returncode == 0 and not problems, proc.stderr.decode()


@pytest.fixture
def git() -> GitCLI:
    return GitCLI()


def _seed_project(git: GitCLI, path: Path) -> Path:
    git(path.parent, "init", "-q", "-b", "main", path.name)
    (path / "src").mkdir()
    (path / "README.md").write_text("# demo\n\nfirst line\nsecond line\n")
    (path / "src" / "app.py").write_text("def main():\n    return 1\n")
    (path / ".gitignore").write_text("*.log\nbuild/\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


@pytest.fixture
def project(tmp_path: Path, git: GitCLI) -> Path:
    """A repository on `main` with three files and one commit."""
    return _seed_project(git, tmp_path / "project")


@pytest.fixture
def origin(tmp_path: Path, project: Path, git: GitCLI) -> Path:
    """A bare repository on disk, the project's `origin`."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(project, "remote", "add", "origin", str(bare))
    git(project, "push", "-q", "origin", "main")
    return bare


@pytest.fixture
def sandbox_dir(tmp_path: Path) -> Path:
    return tmp_path / "sandbox"


@pytest.fixture
def branches(project: Path, sandbox_dir: Path) -> BranchManager:
    """A manager with checkouts in tmp_path/sandbox (outside the project)."""
    return BranchManager(
        project,
        workspace=WorkspaceManager(sandbox_dir, repo=project),
        author_name=AUTHOR[0],
        author_email=AUTHOR[1],
    )


Change = dict[str, str | bytes | None]  # path -> new content, None deletes
Apply = Callable[[Path, Change], None]
"""The `apply` fixture's type."""
Work = Callable[..., str]
"""The `work` fixture's type."""


def apply_change(root: Path, change: Change) -> None:
    for rel, content in change.items():
        path = root / rel
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


@pytest.fixture
def apply() -> Apply:
    """apply(root, {path: content or None}) writes (str as UTF-8, bytes as is) or deletes."""
    return apply_change


@pytest.fixture
def author() -> tuple[str, str]:
    """The identity the `branches` fixture commits as."""
    return AUTHOR


@pytest.fixture
def work(branches: BranchManager) -> Work:
    """work(agent_id, {path: content}, message=...) edits the agent's sandbox and commits."""

    def _work(agent_id: str, change: Change, message: str = "work") -> str:
        apply_change(branches.workspace.get_sandbox(agent_id), change)
        return branches.commit_changes(agent_id, message)

    return _work
