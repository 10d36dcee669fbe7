"""A person attached to an agent decides for themselves: what they type is never held or
refused, even text at a dialog (the rule that keeps an orchestrator's text from being eaten)."""

from __future__ import annotations

import os
from pathlib import Path

from ptyd.client import Client
from tests.agents.fake_claude_support import claude_home, fake_claude_command
from tests.attach.conftest import Tmux, attach_command
from tests.conftest import DaemonProcess, wait_for_output

HOOK_TIMEOUT_S = 30


def test_text_typed_by_a_person_attached_reaches_an_agent_at_its_dialog(
        client: Client, daemon: DaemonProcess, tmux: Tmux, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    home = claude_home(tmp_path / "home", trusted=[project])
    s = client.spawn([str(fake_claude_command(tmp_path / "bin"))], name="c", cwd=str(project),
                     env={**os.environ, "HOME": str(home)}, agent="claude", cols=80, rows=24)
    s.wait(HOOK_TIMEOUT_S, until="idle")
    s.send_line("please ask for permission")
    assert s.wait(HOOK_TIMEOUT_S, until="waiting")["state_reason"] == "permission"
    pane = tmux.start(attach_command(daemon, "c"), 80, 24)
    tmux.wait_for(pane, "Do you want to proceed?")
    tmux.text(pane, "ok yes")  # text, from a viewer: typed (the fake takes the 'y' as yes)
    wait_for_output(client, "c", "Done: permission granted.", timeout=HOOK_TIMEOUT_S)
    assert s.wait(HOOK_TIMEOUT_S, until="idle")["state"] == "idle"
    s.kill()
