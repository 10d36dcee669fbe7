"""An agent kind is one module (daemon/agentkinds/): `claude` and a `generic` one with no hooks
prove the seam. A generic agent gets its state from silence, like a plain program, and its
input is held until it is first ready, like an agent's."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from ptyd.client import BadRequest, Client
from ptyd.daemon import agentkinds
from ptyd.daemon.agentkinds.base import Launch
from ptyd.proto.ops import AGENT_KINDS

from ..conftest import DaemonProcess, agent


def test_every_agent_kind_on_the_wire_has_its_module() -> None:
    assert set(AGENT_KINDS) == set(agentkinds.KINDS)
    for name, kind in agentkinds.KINDS.items():
        assert kind.name == name


def test_the_generic_kind_changes_nothing_of_the_launch(tmp_path: Path) -> None:
    kind = agentkinds.KINDS["generic"]
    env = {"A": "1"}
    launch = Launch(tmp_path, "g", ["prog", "-x"], env, str(tmp_path), None, False, None)
    assert kind.prepare(launch) == ["prog", "-x"] and env == {"A": "1"}
    assert kind.on_hook("Stop", {}) is None and kind.find_dialog(["\u276f 1. Yes"]) is None
    assert kind.resume_argv(["prog"], "0" * 8 + "-0000-0000-0000-" + "0" * 12) == ["prog"]
    assert agentkinds.by_silence("generic") and not agentkinds.by_silence("claude")


def test_a_generic_agent_refuses_what_it_cannot_honour(client: Client) -> None:
    for option in ({"trust": True}, {"agent_settings": {"model": "x"}}):
        with pytest.raises(BadRequest) as refused:
            client.spawn(["true"], agent="generic", **option)
        assert refused.value.data == {"param": next(iter(option))}
    assert client.list() == []


def test_claude_resumes_by_its_session_id() -> None:
    uuid = "12345678-1234-1234-1234-123456789abc"
    claude = agentkinds.KINDS["claude"]
    assert claude.resume_argv(["claude"], uuid) == ["claude", f"--resume={uuid}"]
    assert claude.resume_argv(["claude", "-c"], uuid) == ["claude", "-c"]
    assert claude.resume_argv(["claude"], "--evil") == ["claude"]


def test_a_generic_agent_holds_a_prompt_until_it_is_ready(client: Client,
                                                           tmp_path: Path) -> None:
    go = tmp_path / "go"
    # The program prints nothing until the test says so: it is `starting` until then.
    script = (f"while [ ! -e {shlex.quote(str(go))} ]; do sleep 0.02; done; "
              f"exec {shlex.join(agent('prompt'))}")
    s = client.spawn(["sh", "-c", script], name="g", agent="generic", idle_after=3)
    assert s["agent"] == "generic"
    sent = s.send_line("hello")
    assert sent["held"], sent  # text for an agent still starting waits for it
    go.touch()
    done = s.wait(30, until="idle")  # silence after its prompt: ready
    assert done["reached"], done
    s.expect_exact("echo: hello", timeout=15)  # the held text was typed then
    s.kill()


def test_a_held_line_is_typed_whole_and_starts_a_turn(client: Client, tmp_path: Path) -> None:
    """`send_line` is two writes (text, then Enter). Held for a generic agent, the Enter follows
    the text at once, though the text's echo made the agent `working` (it used to wait for the
    next silence); and the line typed starts a turn, as a line typed directly does."""
    go = tmp_path / "go"
    script = (f"while [ ! -e {shlex.quote(str(go))} ]; do sleep 0.02; done; "
              f"exec {shlex.join(agent('prompt'))}")
    s = client.spawn(["sh", "-c", script], name="g", agent="generic", idle_after=1)
    seq = client.events(0)["last"]
    sent = s.send_line("hello")
    assert sent["held"] and sent["turn"] == 0, sent
    go.touch()
    done = s.wait(60, until="idle", after_turn=0)  # the turn of the held line, ended
    assert done["reached"] and s.info()["turn"] == 1, done
    s.expect_exact("echo: hello", timeout=15)
    states = [(e["state"], e["turn"]) for e in client.events(seq)["events"]
              if e["type"] == "session.state" and e["session"] == "g"]
    # One idle (the prompt) before the line's turn: no second silence between text and Enter.
    assert states[:states.index(("working", 1))].count(("idle", 0)) == 1, states
    s.kill()


def test_the_cli_starts_a_generic_agent_and_a_line_sent_at_once_is_not_lost(
        daemon: DaemonProcess) -> None:
    """`ptyd new --agent generic`, then `ptyd send` at once: the line waits for the prompt,
    whatever the program's start-up time, and `--wait` waits for its turn."""
    assert daemon.cli("new", "-d", "-s", "g", "--agent", "generic", "--",
                      *agent("prompt")).returncode == 0
    sent = daemon.cli("send", "g", "hello", "-k", "Enter", "--wait")
    assert (sent.returncode, sent.stdout) == (0, "idle\n"), sent
    assert daemon.cli("logs", "g").stdout.startswith("ready> hello\r\necho: hello\r\nready> ")
    assert json.loads(daemon.cli("info", "g", "--json").stdout)["agent"] == "generic"
