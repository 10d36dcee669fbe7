"""The README runs as written: every code block marked `<!-- test: ... -->` is run here.

A marked block runs in a scratch directory with its own daemon (PTYD_DIR), HOME and git
repository, with `ptyd` and a `claude` (the fake, tests/agents/fake_claude) on PATH:

- `<!-- test: python -->`: the block is a Python program; it must exit 0.
- `<!-- test: console -->`: each `$ ` line runs in bash, in order; what the README shows after
  it must be what the command printed, compared line by line with runs of spaces folded, and
  with numbers, ages, pids and the scratch paths (as `/home/me`) counting as equal. A line
  `...` in the README stands for any number of lines.

So the README cannot drift from what ptyd does: change one, and this test says so.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.agents.fake_claude_support import claude_home, fake_claude_command
from tests.conftest import PYTHON

README = Path(__file__).resolve().parent.parent / "README.md"
_MARK_RE = re.compile(r"^<!-- test: (python|console) -->\n```\w*\n(.*?)^```", re.S | re.M)
_NUMBER_RE = re.compile(r"\d+(\.\d+)?[a-z]*")
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Me", "GIT_AUTHOR_EMAIL": "me@x.invalid",
           "GIT_COMMITTER_NAME": "Me", "GIT_COMMITTER_EMAIL": "me@x.invalid"}


@dataclass(frozen=True)
class Block:
    kind: str
    code: str
    line: int

    def __str__(self) -> str:
        return f"README.md:{self.line} ({self.kind})"


def readme_blocks() -> list[Block]:
    text = README.read_text()
    return [Block(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1)
            for m in _MARK_RE.finditer(text)]


@dataclass
class Scratch:
    root: Path
    env: dict[str, str]

    def replace_paths(self, text: str) -> str:
        return text.replace(str(self.root / "home"), "/home/me").replace(str(self.root), "/tmp")


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Scratch]:
    """A directory to run README code in: work/ is a git repository (the `.` of the examples)
    with an `origin` remote, home/ is HOME, run/ the daemon's directory."""
    bin_dir = tmp_path / "bin"
    fake_claude_command(bin_dir)
    home = claude_home(tmp_path / "home")
    work = tmp_path / "work"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PTYD_", "XDG_", "TMUX", "GIT_"))}
    env.update(GIT_ENV, HOME=str(home), PTYD_DIR=str(tmp_path / "run"), LANG="C.UTF-8",
               PATH=f"{bin_dir}:{Path(PYTHON).parent}:{env.get('PATH', '/usr/bin:/bin')}",
               GIT_CONFIG_GLOBAL=os.devnull)
    git = ["git", "-C", str(work)]
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True, env=env)
    (work / "README").write_text("an app\n")
    subprocess.run([*git, "add", "."], check=True, env=env)
    subprocess.run([*git, "commit", "-qm", "start"], check=True, env=env)
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "origin.git")], check=True,
                   env=env)
    subprocess.run([*git, "remote", "add", "origin", str(tmp_path / "origin.git")], check=True,
                   env=env)
    (work / "tests").symlink_to(Path(__file__).resolve().parent)  # tests/agents/prompt.py
    yield Scratch(tmp_path, env)
    subprocess.run([PYTHON, "-m", "ptyd", "shutdown", "--grace", "2"], env=env,
                   capture_output=True, timeout=60)


def _normal(line: str) -> str:
    return " ".join(_NUMBER_RE.sub("N", line).split())


def _matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line, a `...` line standing for any number of lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(_matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and _normal(expected[0]) == _normal(actual[0]) and \
        _matches(expected[1:], actual[1:])


def _console_steps(code: str) -> list[tuple[str, list[str]]]:
    steps: list[tuple[str, list[str]]] = []
    for line in code.splitlines():
        if line.startswith("$ "):
            command = re.sub(r"\s+#[^'\"]*$", "", line[2:])  # a trailing comment explains
            steps.append((command, []))
        elif steps:
            steps[-1][1].append(line)
    return steps


@pytest.mark.timeout(180)
@pytest.mark.parametrize("block", readme_blocks(), ids=str)
def test_readme_block_runs_as_written(block: Block, scratch: Scratch) -> None:
    work = scratch.root / "work"
    if block.kind == "python":
        program = scratch.root / "example.py"
        program.write_text(block.code)
        done = subprocess.run([sys.executable, str(program)], cwd=work, env=scratch.env,
                              capture_output=True, text=True, timeout=150)
        assert done.returncode == 0, f"{block} failed:\n{done.stdout}\n{done.stderr}"
        return
    for command, expected in _console_steps(block.code):
        done = subprocess.run(["bash", "-c", command], cwd=work, env=scratch.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)
        actual = scratch.replace_paths(done.stdout).rstrip("\n").splitlines()
        assert _matches(expected, actual), (
            f"{block}: `{command}` printed\n" + "\n".join(actual) +
            "\nwhere the README shows\n" + "\n".join(expected))


def test_the_readme_has_runnable_blocks() -> None:
    kinds = [b.kind for b in readme_blocks()]
    assert kinds.count("python") >= 3 and kinds.count("console") >= 3, kinds
