"""State an orchestrator can bet on: dialogs are `waiting` with the dialog named, input is never
eaten, a failed turn is `error`, and a wait for a turn never returns on the idle before it.

Driven through the client library with the fake Claude Code CLI (tests/agents/fake_claude),
which draws the 2.1.197 trust dialog and fires Claude's hooks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ptyd.client import AgentDialog, Client
from tests.agents.fake_claude_support import claude_home, hook_log
from tests.conftest import agent

HOOK_TIMEOUT_S = 30  # each hook is a `python -m ptyd.hook` process: slow on a loaded machine


@pytest.fixture
def untrusted_env(tmp_path: Path) -> dict[str, str]:
    """Onboarded, but no folder trusted: Claude shows its trust dialog first."""
    home = claude_home(tmp_path / "untrusted-home")
    return {**os.environ, "HOME": str(home), "FAKE_CLAUDE_LOG": str(tmp_path / "hooks.jsonl")}


def test_the_trust_dialog_is_waiting_trust_and_text_sent_meanwhile_is_not_eaten(
        client: Client, fake_claude: Path, project: Path, untrusted_env: dict[str, str],
        tmp_path: Path) -> None:
    s = client.spawn([str(fake_claude)], name="c", cwd=str(project), env=untrusted_env,
                     agent="claude")
    assert s.send_keys("C-u")["held"] is False  # a lone key goes through: nothing before it
    held = s.send("hello from the orchestrator")  # before anything is on screen
    assert held["held"] is True
    s.send_keys("Enter")  # held as well: behind the text, in order
    info = s.wait(HOOK_TIMEOUT_S, until="waiting")
    assert (info["state"], info["state_reason"]) == ("waiting", "trust")
    assert info["state_text"] == "Is this a project you created or one you trust?"
    assert client.list()[0]["state_reason"] == "trust"
    with pytest.raises(AgentDialog) as refused:  # text would answer the dialog: refused
        s.send("another task")
    assert refused.value.data is not None and refused.value.data["state_reason"] == "trust"
    assert "trust" in str(refused.value)
    s.send_keys("Enter")  # a key goes through: accepts the dialog
    done = s.wait(HOOK_TIMEOUT_S, until=["idle", "error"], after_turn=0)
    assert done["state"] == "idle" and done["turn"] == 1 and done["state_reason"] is None
    s.expect_exact("Fake reply to: hello from the orchestrator", timeout=10)
    prompts = [e["payload"]["prompt"] for e in hook_log(tmp_path / "hooks.jsonl")
               if e["event"] == "UserPromptSubmit"]
    assert prompts == ["hello from the orchestrator"]  # typed once, after the dialog
    s.kill()


def test_a_permission_prompt_refuses_text_lets_keys_through_and_force_wins(
        client: Client, fake_claude: Path, project: Path, claude_env: dict[str, str]) -> None:
    s = client.spawn([str(fake_claude)], name="c", cwd=str(project), env=claude_env,
                     agent="claude")
    s.wait(HOOK_TIMEOUT_S, until="idle")
    s.send_line("please ask for permission")
    info = s.wait(HOOK_TIMEOUT_S, until="waiting")
    assert info["state_reason"] == "permission"
    with pytest.raises(AgentDialog):
        s.send("do something else")
    assert s.send("x", force=True)["held"] is False  # forced: typed (the fake ignores it)
    s.send("1")  # one character is a keypress: it answers the dialog
    done = s.wait(HOOK_TIMEOUT_S, until="idle", after_turn=0)
    assert done["state"] == "idle" and done["state_reason"] is None
    s.expect_exact("Done: permission granted.", timeout=10)
    s.kill()


def test_a_failed_turn_is_error_until_the_next_prompt(client: Client, fake_claude: Path,
                                                      project: Path,
                                                      claude_env: dict[str, str]) -> None:
    s = client.spawn([str(fake_claude)], name="c", cwd=str(project), env=claude_env,
                     agent="claude")
    s.wait(HOOK_TIMEOUT_S, until="idle")
    sent = s.send_line("this will fail")
    failed = s.wait(HOOK_TIMEOUT_S, until=["idle", "error"], since_seq=sent["seq"])
    assert (failed["state"], failed["state_reason"]) == ("error", "authentication_failed")
    assert failed["state_text"] == "Not logged in · Please run /login"
    assert client.info("c")["state"] == "error"  # stays: no late idle hides it
    sent = s.send_line("now fail rate_limit")
    working = s.wait(HOOK_TIMEOUT_S, until="working", since_seq=sent["seq"])
    assert working["state_reason"] is None and working["turn"] == 2
    failed = s.wait(HOOK_TIMEOUT_S, until="error", since_seq=working["state_seq"])
    assert failed["state_reason"] == "rate_limit"
    sent = s.send_line("all good")
    done = s.wait(HOOK_TIMEOUT_S, until=["idle", "error"], since_seq=sent["seq"])
    assert (done["state"], done["turn"]) == ("idle", 3)
    s.kill()


def test_an_agent_that_exits_nonzero_before_any_turn_is_an_error(
        client: Client, fake_claude: Path, project: Path, tmp_path: Path) -> None:
    home = claude_home(tmp_path / "fresh-home", onboarded=False)  # offline onboarding fails
    s = client.spawn([str(fake_claude)], name="c", cwd=str(project),
                     env={**os.environ, "HOME": str(home)}, agent="claude")
    info = s.wait(HOOK_TIMEOUT_S, until=["idle", "error"])
    assert info["exited"] and info["exit_code"] == 1
    assert info["state"] == "exited" and info["state_reason"] == "startup_failed"
    assert "ENOTFOUND" in info["state_text"]
    states = [(e["state"], e["state_reason"]) for e in client.events(0)["events"]
              if e["type"] == "session.state"]
    assert states == [("error", "startup_failed"), ("exited", "startup_failed")]


def test_a_wait_for_the_turn_just_started_never_returns_on_the_idle_before(
        client: Client) -> None:
    """200 prompts in a row to a program without hooks (silence fallback, idle after 50 ms):
    each wait returns after that prompt's answer, never on the idle from before it."""
    s = client.spawn(agent("prompt"), name="p", idle_after=0.05)
    s.expect_exact("ready> ", timeout=10)
    s.wait(10, until="idle")
    for i in range(200):
        sent = s.send_line(f"echo {i}")
        assert sent["turn"] == i
        done = s.wait(10, until="idle", since_seq=sent["seq"])
        assert done["reached"] and done["turn"] == i + 1, (i, done)
        s.expect_exact(f"echo: echo {i}", timeout=10)
    s.kill()


def test_an_agent_killed_before_any_turn_did_not_fail(client: Client, fake_claude: Path,
                                                      project: Path,
                                                      claude_env: dict[str, str]) -> None:
    s = client.spawn([str(fake_claude)], name="c", cwd=str(project), env=claude_env,
                     agent="claude")
    s.wait(HOOK_TIMEOUT_S, until="idle")
    s.kill()
    done = s.wait(HOOK_TIMEOUT_S)
    # `kill` sends SIGHUP then SIGTERM: the fake (as Claude) exits 129 or 143 by whichever
    # it handles first; either way it was told to stop, so it did not fail.
    assert done["exit_code"] in (129, 143) and done["state"] == "exited"
    assert done["state_reason"] is None


def test_a_dialog_quoted_in_the_transcript_is_not_a_dialog(client: Client, fake_claude: Path,
                                                           project: Path,
                                                           claude_env: dict[str, str]) -> None:
    s = client.spawn([str(fake_claude)], name="c", cwd=str(project), env=claude_env,
                     agent="claude")
    s.wait(HOOK_TIMEOUT_S, until="idle")
    since = client.events(0)["last"]
    # (short: the fake, busy running a hook, may read text and Enter at once, a paste if long)
    sent = s.send_line("say Proceed?|\u276f 1. Yes|  2. No")
    s.wait(HOOK_TIMEOUT_S, until="idle", since_seq=sent["seq"])
    s.expect_exact("2. No", timeout=10)
    s.wait_until_quiet(1.0, timeout=HOOK_TIMEOUT_S)  # longer than the daemon waits to look
    assert s.info()["state"] == "idle"
    assert [e["state"] for e in client.events(since + 1)["events"]
            if e["type"] == "session.state"] == ["working", "idle"]
    s.kill()


def test_fifty_prompts_to_claude_each_wait_for_their_own_turn(
        client: Client, fake_claude: Path, project: Path, claude_env: dict[str, str]) -> None:
    """With hooks, the state changes only when the agent's hook reports, well after the input:
    a wait right after the input must not take the idle from before it."""
    s = client.spawn([str(fake_claude)], name="c", cwd=str(project), env=claude_env,
                     agent="claude")
    s.wait(HOOK_TIMEOUT_S, until="idle")
    for i in range(50):
        sent = s.send_line(f"round {i}")
        done = s.wait(HOOK_TIMEOUT_S, until=["idle", "error"], since_seq=sent["seq"])
        assert (done["state"], done["turn"]) == ("idle", i + 1), (i, done)
        s.expect_exact(f"Fake reply to: round {i}", timeout=10)
    s.kill()
