"""Fixtures for the client library tests: the fake Claude Code CLI and its HOME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.agents.fake_claude_support import claude_home, fake_claude_command


@pytest.fixture
def fake_claude(tmp_path: Path) -> Path:
    """The fake `claude` executable."""
    return fake_claude_command(tmp_path / "bin")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An agent's working directory, trusted in `claude_env`'s HOME."""
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
def claude_env(tmp_path: Path, project: Path) -> dict[str, str]:
    """An environment for the fake: its own HOME, onboarded, the project trusted, and a log of
    the hooks it fires."""
    home = claude_home(tmp_path / "home", trusted=[project])
    return {**os.environ, "HOME": str(home), "FAKE_CLAUDE_LOG": str(tmp_path / "hooks.jsonl")}
