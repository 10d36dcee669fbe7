"""`ptyd ls`, `send` and `wait` with an agent: dialogs named, input never eaten, failures shown,
and a wait after a send that waits for that send's turn."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.agents.fake_claude_support import claude_home, fake_claude_command
from tests.conftest import DaemonProcess, agent

HOOK_TIMEOUT_S = 30


def spawn_claude(daemon: DaemonProcess, tmp_path: Path, trusted: bool) -> None:
    project = tmp_path / "project"
    project.mkdir()
    home = claude_home(tmp_path / "home", trusted=[project] if trusted else [])
    env = {**os.environ, "HOME": str(home)}
    with daemon.client() as c:
        c.spawn([str(fake_claude_command(tmp_path / "bin"))], name="c", cwd=str(project),
                env=env, agent="claude")


def test_ls_names_the_dialog_send_refuses_text_there_and_keys_pass(
        daemon: DaemonProcess, tmp_path: Path) -> None:
    spawn_claude(daemon, tmp_path, trusted=False)
    waited = daemon.cli("wait", "c", "--until", "waiting", "--timeout", str(HOOK_TIMEOUT_S))
    assert waited.stdout.splitlines() == ["waiting: trust",
                                          "  Is this a project you created or one you trust?"]
    assert "waiting: trust" in daemon.cli("ls").stdout
    listed = json.loads(daemon.cli("ls", "--json").stdout)[0]
    assert (listed["state"], listed["state_reason"]) == ("waiting", "trust")
    refused = daemon.cli("send", "c", "fix the bug", "-k", "Enter")
    assert refused.returncode == 1
    assert "waiting at a dialog (trust" in refused.stderr and "-k Enter" in refused.stderr
    assert daemon.cli("send", "c", "-k", "Enter").returncode == 0  # accepts the dialog
    ready = daemon.cli("wait", "c", "--until", "idle", "--timeout", str(HOOK_TIMEOUT_S))
    assert ready.stdout.strip() == "idle", ready.stderr


def test_send_wait_reports_a_failed_turn_and_the_next_prompt_clears_it(
        daemon: DaemonProcess, tmp_path: Path) -> None:
    spawn_claude(daemon, tmp_path, trusted=True)
    failed = daemon.cli("send", "c", "this will fail", "-k", "Enter", "--wait", "--timeout",
                        str(HOOK_TIMEOUT_S))
    assert failed.returncode == 1, failed.stderr
    assert failed.stdout.splitlines() == ["error: authentication_failed",
                                          "  Not logged in · Please run /login"]
    assert "error: authentication_failed" in daemon.cli("ls").stdout
    # A plain `ptyd wait` right after a send from this shell waits for that send's turn: it
    # does not return on the error from before.
    assert daemon.cli("send", "c", "all good", "-k", "Enter").returncode == 0
    waited = daemon.cli("wait", "c", "--until", "idle,error", "--timeout", str(HOOK_TIMEOUT_S))
    assert waited.stdout.strip() == "idle", (waited.stdout, waited.stderr)
    now = daemon.cli("wait", "c", "--until", "idle", "--now", "--timeout", "0")
    assert now.stdout.strip() == "idle"


def test_send_then_wait_never_races_with_a_program_without_hooks(
        daemon: DaemonProcess) -> None:
    with daemon.client() as c:
        c.spawn(agent("prompt"), name="p", idle_after=0.05)
        c.wait("p", 10, until="idle")
    for i in range(5):
        assert daemon.cli("send", "p", f"round {i}", "-k", "Enter").returncode == 0
        waited = daemon.cli("wait", "p", "--until", "idle", "--timeout", "20")
        assert waited.stdout.strip() == "idle"
        with daemon.client() as c:
            info = c.info("p")
            out = bytes(c.read("p", 0)["data"]).decode()
        assert info["turn"] == i + 1 and f"echo: round {i}" in out
