"""Persistent sessions come back after a reboot: the daemon and every agent gone, the state
directory kept. Claude Code agents come back with --resume <their session id>."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import (
    DaemonProcess,
    agent,
    screen_text,
    start_daemon,
    stop_daemon,
    wait_for_output,
    wait_until,
)


@pytest.fixture
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))  # the daemon inherits it
    return home


def claude_home(tmp_path: Path, work: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True,
        "projects": {str(work): {"hasTrustDialogAccepted": True}}}))
    return {"HOME": str(home), "PATH": os.environ["PATH"]}


def test_persistent_sessions_are_relaunched_after_a_reboot(rundir: Path, state_home: Path,
                                                           tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    first: DaemonProcess = start_daemon(rundir)
    with first.client() as c:
        c.request("spawn", {"argv": agent("prompt"), "name": "keep", "cwd": str(work),
                            "cols": 100, "rows": 30, "persistent": True})
        c.request("spawn", {"argv": ["sleep", "60"], "name": "forget"})
        c.request("spawn", {"argv": ["sh", "-c", "exit 0"], "name": "done", "persistent": True})
        c.wait("done", 10)
        env = claude_home(tmp_path, work)
        c.request("spawn", {"argv": [str(Path(__file__).parents[1] / "agents" / "fake_claude")],
                            "name": "claude", "cwd": str(work), "env": env, "agent": "claude",
                            "persistent": True})
        c.request("wait", {"session": "claude", "until": "idle", "timeout": 20}, timeout=30)
        agent_id = c.info("claude")["agent_session_id"]
        assert agent_id
        c.input("claude", "remember this")  # a conversation, so there is one to resume
        wait_for_output(c, "claude", "remember this")
        c.input("claude", "\r")
        wait_for_output(c, "claude", "Fake reply to: remember this")
        c.request("wait", {"session": "claude", "until": "idle", "timeout": 20}, timeout=30)
        first_started = c.info("keep")["created"]
    # The reboot: the daemon stops and every agent with it; the runtime directory (tmpfs) goes.
    assert stop_daemon(first) == 0
    for path in rundir.iterdir():
        path.unlink() if path.is_file() or path.is_socket() else None
    second = start_daemon(rundir)
    try:
        with second.client() as c:
            names = {s["name"]: s for s in c.list()}
            assert set(names) == {"keep", "claude"}, "persistent and running at the reboot"
            keep = names["keep"]
            assert keep["status"] == "running" and keep["resumed_from"] == first_started
            assert (keep["cols"], keep["rows"], keep["cwd"]) == (100, 30, str(work))
            wait_for_output(c, "keep", "ready> ")
            claude = names["claude"]
            assert claude["argv"][-1] == f"--resume={agent_id}"  # never an option of its own
            c.request("wait", {"session": "claude", "until": "idle", "timeout": 20}, timeout=30)
            assert c.info("claude")["agent_session_id"] == agent_id, "the same conversation"
            # `ptyd rm` forgets a persistent session for good.
            c.remove("keep", force=True)
            assert "remember this" in screen_text(c, "claude"), "the history came back"
    finally:
        assert stop_daemon(second) == 0
    third = start_daemon(rundir)
    try:
        with third.client() as c:
            wait_until(lambda: {s["name"] for s in c.list()} == {"claude"})
    finally:
        assert stop_daemon(third) == 0


def test_the_registry_stores_only_the_environment_a_relaunch_needs(
        rundir: Path, state_home: Path) -> None:
    import msgpack

    inherited = dict(os.environ)  # what the daemon started with
    sent = {k: v for k, v in inherited.items() if k != "HOME"}
    sent["PTYD_TEST_EXPLICIT"] = "set by the caller"
    first = start_daemon(rundir)
    try:
        with first.client() as c:
            c.request("spawn", {"argv": agent("prompt"), "name": "keep", "env": sent,
                                "persistent": True})
            wait_for_output(c, "keep", "ready> ")
    finally:
        assert stop_daemon(first) == 0
    registry = next((state_home / "ptyd").glob("persistent-*.msgpack"))
    stored = msgpack.unpackb(registry.read_bytes(), raw=False)["sessions"]["keep"]["request"]
    assert "env" not in stored, "not the whole environment in clear"
    assert stored["env_set"] == {"PTYD_TEST_EXPLICIT": "set by the caller"}
    assert "HOME" in stored["env_unset"]
    assert inherited["PATH"] not in str(stored), "inherited values are not stored"
    second = start_daemon(rundir)
    try:
        with second.client() as c:
            wait_for_output(c, "keep", "ready> ")
            c.input("keep", "env PTYD_TEST_EXPLICIT\r")
            wait_for_output(c, "keep", "PTYD_TEST_EXPLICIT=set by the caller")
            c.input("keep", "env HOME\r")
            wait_for_output(c, "keep", "HOME unset")
            c.input("keep", "env PATH\r")
            wait_for_output(c, "keep", f"PATH={inherited['PATH']}")
    finally:
        assert stop_daemon(second) == 0
