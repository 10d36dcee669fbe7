"""Agent state from Claude Code's own hooks, run by the fake CLI through the daemon's settings."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from ptyd.client import EOF, Client
from tests.agents.fake_claude_support import hook_log
from tests.conftest import slack

HOOK_TIMEOUT_S = 30  # each hook is a `python -m ptyd hook` process: slow on a loaded machine


def states_of(client: Client, name: str, since: int) -> list[str]:
    return [e["state"] for e in client.events(since)["events"]
            if e["type"] == "session.state" and e["session"] == name]


def test_the_state_machine_of_a_claude_session(client: Client, fake_claude: Path,
                                               project: Path, claude_env: dict[str, str],
                                               tmp_path: Path) -> None:
    since = client.events(0)["last"] + 1
    s = client.spawn([str(fake_claude)], name="c", cwd=str(project), env=claude_env,
                     agent="claude")
    assert s["state"] == "starting" and s["agent"] == "claude"
    assert s.wait(HOOK_TIMEOUT_S, until="idle")["state"] == "idle"  # SessionStart
    s.send_line("please ask for permission")
    waiting = s.wait(HOOK_TIMEOUT_S, until="waiting")  # Notification: permission_prompt
    assert waiting["state"] == "waiting"
    session_id = waiting["agent_session_id"]
    assert str(uuid.UUID(session_id)) == session_id
    s.send_keys("1")
    assert s.wait(HOOK_TIMEOUT_S, until="idle")["state"] == "idle"  # Stop
    s.send_line("/exit")
    done = s.wait(HOOK_TIMEOUT_S)
    assert done["exited"] and done["exit_code"] == 0 and done["state"] == "exited"
    assert s.expect([r"claude --resume ([0-9a-f-]+)", EOF], timeout=10).group(1) == session_id
    assert states_of(client, "c", since) == ["idle", "working", "waiting", "working", "idle",
                                             "exited"]
    fired = hook_log(tmp_path / "hooks.jsonl")
    assert [e["event"] for e in fired] == [
        "SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest", "Notification",
        "PostToolUse", "Stop", "SessionEnd"]
    assert all(e["codes"] and set(e["codes"]) == {0} for e in fired)  # ptyd's hook ran, fine
    assert fired[1]["payload"]["prompt"] == "please ask for permission"
    assert fired[4]["payload"]["notification_type"] == "permission_prompt"
    assert fired[-1]["payload"]["reason"] == "prompt_input_exit"


def test_agent_settings_reach_claude_through_the_session_settings_file(
        client: Client, fake_claude: Path, project: Path, claude_env: dict[str, str]) -> None:
    # Permission bypass shows a dialog that defaults to "No, exit" unless the settings say so.
    env = {**claude_env, "IS_SANDBOX": "1"}
    refused = client.spawn([str(fake_claude), "--dangerously-skip-permissions"], name="r",
                           cwd=str(project), env=env, agent="claude")
    refused.expect("Bypass Permissions mode", timeout=10)
    at_dialog = refused.wait(HOOK_TIMEOUT_S, until="waiting")  # read from the screen
    assert (at_dialog["state_reason"], at_dialog["state_text"]) == (
        "bypass", "WARNING: Claude Code running in Bypass Permissions mode")
    refused.send_keys("Enter")
    assert refused.wait(HOOK_TIMEOUT_S)["exit_code"] == 1
    s = client.spawn([str(fake_claude), "--dangerously-skip-permissions"], name="ok",
                     cwd=str(project), env=env, agent="claude",
                     agent_settings={"skipDangerousModePermissionPrompt": True})
    assert s.wait(HOOK_TIMEOUT_S, until="idle")["state"] == "idle"
    s.send_line("ask permission")  # bypassed: no question, no waiting
    s.expect_exact("Done: permission granted.", timeout=HOOK_TIMEOUT_S)
    assert s.wait(HOOK_TIMEOUT_S, until="idle")["state"] == "idle"
    s.kill()


def test_a_session_timeout_is_enforced_by_the_daemon(client: Client, fake_claude: Path,
                                                     project: Path,
                                                     claude_env: dict[str, str]) -> None:
    started = time.monotonic()
    s = client.spawn([str(fake_claude), "-p", "sleep 60"], name="slow", cwd=str(project),
                     env=claude_env, agent="claude", timeout=1.0)
    done = s.wait(30)
    assert done["exited"] and done["stop_reason"] == "timeout"
    assert 1.0 <= time.monotonic() - started < slack(15)


def test_a_wait_after_held_input_is_typed_waits_for_its_turn(client: Client, fake_claude: Path,
                                                              project: Path,
                                                              claude_env: dict[str, str]
                                                              ) -> None:
    """A task typed while the agent starts is held, then typed once it is idle. Between that
    moment and the agent's UserPromptSubmit, the agent is still idle: a `wait` for idle or
    error asked then must wait for the task's turn, not take the idle before it (seen with the
    real CLI on a loaded machine: `ptyd wait --until idle,error` said idle)."""
    env = {**claude_env, "FAKE_CLAUDE_SUBMIT_DELAY": "1"}
    s = client.spawn([str(fake_claude)], name="held", cwd=str(project), env=env,
                     agent="claude")
    client.input("held", "fail")  # while it starts: held, then typed in two writes
    client.input("held", "\r")
    s.expect_exact("> fail", timeout=HOOK_TIMEOUT_S)  # typed; its turn not begun for 1 s
    done = client.request("wait", {"session": "held", "until": ["idle", "error"],
                                   "timeout": HOOK_TIMEOUT_S}, timeout=HOOK_TIMEOUT_S + 10)
    assert (done["state"], done["state_reason"], done["turn"]) == (
        "error", "authentication_failed", 1)
