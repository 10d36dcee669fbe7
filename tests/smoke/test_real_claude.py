"""Smoke test with the real Claude Code CLI, where it is installed (it is not, in CI).

Point PTYD_REAL_CLAUDE at a `claude` binary (e.g. after `npm install --prefix DIR
@anthropic-ai/claude-code`: DIR/node_modules/.bin/claude) or put `claude` on PATH. It runs
offline, without a login, with a throw-away HOME seeded so that no onboarding dialog appears.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ptyd.client import Client
from tests.conftest import DaemonProcess, wait_for_output, wait_until

CLAUDE = os.environ.get("PTYD_REAL_CLAUDE") or shutil.which("claude")
pytestmark = pytest.mark.skipif(not CLAUDE, reason="the real claude CLI is not installed "
                                "(set PTYD_REAL_CLAUDE to run this smoke test)")


def test_real_claude_states_from_hooks_and_resume_id(client: Client, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "theme": "dark",
        "projects": {str(work): {"hasTrustDialogAccepted": True}}}))
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "LANG": "C.UTF-8"}
    client.request("spawn", {"argv": [CLAUDE], "name": "real", "cwd": str(work), "env": env,
                             "cols": 120, "rows": 40, "agent": "claude"})
    assert client.request("wait", {"session": "real", "until": "idle", "timeout": 30},
                          timeout=40)["state"] == "idle"
    info = client.info("real")
    assert info["agent_session_id"]
    sent = client.input("real", "hello there")
    wait_for_output(client, "real", "hello")  # the echo may use cursor moves for spaces
    client.input("real", "\r")  # a separate write: text and Enter together read as a paste
    # The turn this prompt started (never the idle from before it): it fails, not logged in.
    failed = client.request("wait", {"session": "real", "until": ["idle", "error"],
                                     "since_seq": sent["seq"], "timeout": 30}, timeout=40)
    assert (failed["state"], failed["state_reason"]) == ("error", "authentication_failed")
    wait_for_output(client, "real", "Please run /login")
    # The CLI prints `claude --resume ID` at exit only once the conversation is on disk, which
    # it writes after drawing the failure (on a loaded machine, after two quick Ctrl-C too).
    wait_until(lambda: any(home.glob(f".claude/projects/*/{info['agent_session_id']}.jsonl")),
               30, message="the conversation's transcript under HOME/.claude/projects")
    client.resize("real", 100, 30)  # repaints at the new size
    client.input("real", b"\x03")
    client.input("real", b"\x03")
    assert client.wait("real", 20)["exit_code"] == 0
    assert info["agent_session_id"] in bytes(client.read("real", 0, max_bytes=4 << 20)["data"]
                                             ).decode(errors="replace").replace("\r\n", "")


def test_real_claude_trust_dialog_held_prompt_and_failed_turn_through_the_cli(
        daemon: DaemonProcess, tmp_path: Path) -> None:
    """A fresh, untrusted folder: `waiting: trust` in `ptyd ls`; the task sent meanwhile is
    held, not eaten; Enter accepts the dialog; the task's turn fails without a login:
    `error: authentication_failed`, which `ptyd wait --until idle,error` reports."""
    home, work = tmp_path / "home", tmp_path / "untrusted"
    home.mkdir()
    work.mkdir()
    (home / ".claude.json").write_text(json.dumps({"hasCompletedOnboarding": True,
                                                   "theme": "dark"}))
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "LANG": "C.UTF-8"}
    with daemon.client() as c:
        c.request("spawn", {"argv": [CLAUDE], "name": "real", "cwd": str(work), "env": env,
                            "cols": 120, "rows": 40, "agent": "claude"})
        # While it starts: through the connection already open, so it reaches the daemon before
        # the CLI draws its dialog (a `ptyd send` process can start after that on a loaded
        # machine, and is then rightly refused: the refusal is checked below).
        c.input("real", b"hello there")
        c.input("real", b"\r")
        info = c.request("wait", {"session": "real", "until": "waiting", "timeout": 30},
                         timeout=40)
        assert (info["state"], info["state_reason"]) == ("waiting", "trust")
        assert "trust" in (info["state_text"] or "")
        listed = daemon.cli("ls")
        assert "waiting: trust" in listed.stdout, listed.stdout
        refused = daemon.cli("send", "real", "eaten?")
        assert refused.returncode == 1 and "trust" in refused.stderr
        assert daemon.cli("send", "real", "-k", "Enter").returncode == 0  # keys go through
        waited = daemon.cli("wait", "real", "--until", "idle,error", "--timeout", "60",
                            timeout=90)
        assert waited.returncode == 0, waited.stderr
        assert waited.stdout.splitlines()[0] == "error: authentication_failed"
        assert "Not logged in" in waited.stdout
        listed = daemon.cli("ls")
        assert "error: authentication_failed" in listed.stdout, listed.stdout
        info = c.info("real")
        assert info["turn"] == 1 and info["state_text"] == "Not logged in · Please run /login"
        states = [(e["state"], e["state_reason"]) for e in c.events(0)["events"]
                  if e["type"] == "session.state"]
        # Enter: idle, then the task. The screen may show the dialog gone (back to `starting`,
        # the state before it) before the SessionStart hook says idle: on a loaded machine the
        # hook's process is the slower of the two. Both orders are right.
        if states[1:2] == [("starting", None)]:
            del states[1]
        assert states == [("waiting", "trust"), ("idle", None), ("working", None),
                          ("error", "authentication_failed")]
        c.kill("real")


def test_real_claude_that_cannot_start_is_an_error(client: Client, tmp_path: Path) -> None:
    """A fresh HOME offline: the onboarding's connectivity check fails and the CLI exits 1
    before any turn: `startup_failed`, with its last words."""
    home, work = tmp_path / "fresh-home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "LANG": "C.UTF-8"}
    client.request("spawn", {"argv": [CLAUDE], "name": "fresh", "cwd": str(work), "env": env,
                             "cols": 120, "rows": 40, "agent": "claude"})
    done = client.request("wait", {"session": "fresh", "until": ["idle", "error"],
                                   "timeout": 30}, timeout=40)
    assert done["exit_code"] == 1 and done["state_reason"] == "startup_failed", done
    assert done["state_text"].startswith("exit code 1: ")


def test_real_claude_bypass_warning_is_waiting_bypass(client: Client, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "theme": "dark",
        "projects": {str(work): {"hasTrustDialogAccepted": True}}}))
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "LANG": "C.UTF-8", "IS_SANDBOX": "1"}
    s = client.spawn([CLAUDE, "--dangerously-skip-permissions"], name="bypass", cwd=str(work),
                     env=env, cols=120, rows=40, agent="claude")
    info = s.wait(30, until=["waiting", "idle", "error"])
    assert (info["state"], info["state_reason"]) == ("waiting", "bypass")
    assert info["state_text"] == "WARNING: Claude Code running in Bypass Permissions mode"
    s.send_keys("Down")
    s.send_keys("Enter")  # 2. Yes, I accept
    assert s.wait(30, until=["idle", "error"])["state"] == "idle"
    s.kill()
