"""Real git repositories for the tests, with the git CLI as the referee.

One set-up for every test that needs a project: the CLI's git verbs, worktree set-up, the
daemon's git ops and pause/resume. Hermetic: the git CLI reads none of the developer's
configuration (identity, hooks, aliases) and speaks C.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

GIT_ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": "CLI", "GIT_AUTHOR_EMAIL": "cli@tests.invalid",
           "GIT_COMMITTER_NAME": "CLI", "GIT_COMMITTER_EMAIL": "cli@tests.invalid",
           "LC_ALL": "C"}
DEMO_README = "# demo\n\nfirst line\nsecond line\n"


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd`; its stdout, stripped. A failure fails the test with git's stderr."""
    proc = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


def make_project(path: Path, files: dict[str, str] | None = None) -> Path:
    """A repository at `path` on `main` with one commit, "initial", of `files` (relative path
    -> text; default a README.md)."""
    git(path.parent, "init", "-q", "-b", "main", str(path))
    for rel, text in (files or {"README.md": DEMO_README}).items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def add_origin(project: Path, bare: Path) -> Path:
    """A bare repository at `bare` on `main`, added as the project's `origin` (nothing pushed)."""
    git(bare.parent, "init", "-q", "--bare", "-b", "main", str(bare))
    git(project, "remote", "add", "origin", str(bare))
    return bare
