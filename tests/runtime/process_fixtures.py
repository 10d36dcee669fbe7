"""Fixtures for tests/runtime/test_process*.py (imported there: tests/runtime/conftest.py
belongs to the git workspace tests): a real daemon, the fake Claude CLI, a private HOME."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ptyd.runtime.process import TerminalManager
from tests.agents.fake_claude_support import claude_home, fake_claude_command
from tests.conftest import DaemonProcess

__all__ = ["agent_home", "fake_claude", "manager", "seed_env"]


@pytest.fixture
def fake_claude(tmp_path: Path) -> Path:
    return fake_claude_command(tmp_path / "bin")


@pytest.fixture
def agent_home(tmp_path: Path) -> Path:
    """The agents' HOME: onboarded, nothing trusted yet (the manager records the trust)."""
    return claude_home(tmp_path / "home")


@pytest.fixture
def seed_env(monkeypatch: pytest.MonkeyPatch, daemon: DaemonProcess, fake_claude: Path,
             agent_home: Path, tmp_path: Path) -> Path:
    """The environment the seed's example code runs in, unchanged: the default daemon is the
    test's (PTYD_DIR), `claude` is the fake (PTYD_CLAUDE), HOME is private, and the current
    directory is a fresh one. Returns that directory."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.setenv("PTYD_DIR", str(daemon.dir))
    monkeypatch.setenv("PTYD_CLAUDE", str(fake_claude))
    monkeypatch.setenv("HOME", str(agent_home))
    monkeypatch.chdir(workdir)
    return workdir


@pytest.fixture
def manager(daemon: DaemonProcess, fake_claude: Path, agent_home: Path, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[TerminalManager]:
    monkeypatch.setenv("HOME", str(agent_home))  # print mode keeps transcripts in HOME too
    with TerminalManager(tmp_path / "base", daemon_dir=daemon.dir, claude=str(fake_claude),
                         claude_home=agent_home, rows=30) as m:
        yield m
        m.terminate_all(grace=2)
