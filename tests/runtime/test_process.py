"""The seed's process API (TerminalManager, AgentProcess) on a real daemon with the fake claude."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ptyd.client import Client
from ptyd.runtime.process import (
    TURN_FAILED,
    TerminalManager,
    prepare_claude_config,
    session_name,
)
from tests.conftest import DaemonProcess, slack, wait_until
from tests.runtime.process_fixtures import *  # noqa: F403  (fixtures; see that module)

SEED_EXAMPLE = '''
from ptyd.runtime.process import TerminalManager
from pathlib import Path

manager = TerminalManager(Path("."))

# Spawn Claude CLI agent
process = manager.spawn_claude_agent(
    agent_id="architect-T001",
    prompt="Complete task T001: Design the API",
    working_dir=Path("sandbox"),
    timeout=300,
    dangerously_skip_permissions=True,
)

# Check if running
if process.is_running:
    print(f"Agent running with PID: {process.pid}")

# Get output
output = manager.get_output("architect-T001")
errors = manager.get_errors("architect-T001")

# Wait for completion
return_code = manager.wait_for_completion("architect-T001", timeout=300)

# Terminate
manager.terminate("architect-T001")

# Terminate all
manager.terminate_all()
'''

SEED_CALLBACKS = '''
def on_output(stream: str, line: str):
    if stream == "stdout":
        print(f"[OUT] {line}")
    else:
        print(f"[ERR] {line}")

manager.register_output_callback("architect-T001", on_output)
'''

REPLY = "Fake reply to: Complete task T001: Design the API"


def test_the_seed_example_runs_as_written(seed_env: Path, daemon: DaemonProcess,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    scope: dict[str, object] = {}
    exec(SEED_EXAMPLE, scope)
    exec(SEED_CALLBACKS, scope)
    printed = capsys.readouterr().out
    assert scope["return_code"] == 0
    assert f"[OUT] {REPLY}" in printed.splitlines()
    manager = scope["manager"]
    assert isinstance(manager, TerminalManager)
    assert manager.get_output("architect-T001") == REPLY
    assert manager.get_errors("architect-T001") == ""
    process = manager.processes["architect-T001"]
    assert not process.is_running and process.return_code == 0 and process.done
    assert (seed_env / "sandbox").is_dir() and process.working_dir == seed_env / "sandbox"
    with Client(daemon.dir) as c:  # a person can find it: the session is named after the agent
        assert c.info("architect-T001")["exit_code"] == 0
    manager.close()


def test_print_mode_separates_output_and_errors(manager: TerminalManager) -> None:
    process = manager.spawn_claude_agent("a1", "stderr something went wrong", "w1")
    assert manager.wait_for_completion("a1", timeout=30) == 0
    assert process.output_lines == ["Fake reply to: stderr something went wrong"]
    assert process.error_lines == ["something went wrong"]
    assert manager.get_errors("a1") == "something went wrong"


def test_wait_for_completion_returns_the_exit_code(manager: TerminalManager) -> None:
    process = manager.spawn_claude_agent("a1", "exit 3", "w1")
    assert manager.wait_for_completion("a1", timeout=30) == 3
    assert process.return_code == 3 and not process.is_running and process.stop_reason is None
    assert manager.terminate("a1") is False  # nothing left to stop


def test_wait_for_completion_gives_none_while_still_working(manager: TerminalManager) -> None:
    process = manager.spawn_claude_agent("a1", "sleep 30", "w1")
    started = time.monotonic()
    assert manager.wait_for_completion("a1", timeout=0.5) is None
    assert 0.5 <= time.monotonic() - started < slack(5)
    assert process.is_running and not process.done
    assert manager.terminate("a1", grace=2) is True
    assert process.return_code is not None and process.return_code != 0
    assert not process.is_running


def test_the_timeout_is_enforced_by_the_daemon(manager: TerminalManager) -> None:
    process = manager.spawn_claude_agent("slow", "sleep 60", "w1", timeout=1)
    code = manager.wait_for_completion("slow", timeout=30)
    assert code is not None and code != 0
    assert process.stop_reason == "timeout"


def test_the_timeout_holds_when_the_program_that_asked_is_gone(
        daemon: DaemonProcess, fake_claude: Path, agent_home: Path, tmp_path: Path) -> None:
    script = (
        "import sys; from ptyd.runtime.process import TerminalManager\n"
        f"m = TerminalManager({str(tmp_path)!r}, daemon_dir={str(daemon.dir)!r}, "
        f"claude={str(fake_claude)!r}, claude_home={str(agent_home)!r})\n"
        "m.spawn_claude_agent('orphan', 'sleep 60', 'w', timeout=1.5)\n"
        "m.close(); sys.exit(0)\n")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60,
                   env={**os.environ, "HOME": str(agent_home)})
    with Client(daemon.dir) as c:
        done = c.wait("orphan", 30)
    assert done["exited"] and done["stop_reason"] == "timeout"


def test_an_interactive_agent_finishes_its_turn_and_takes_the_next(
        manager: TerminalManager, agent_home: Path, tmp_path: Path) -> None:
    process = manager.spawn_claude_agent("i1", "lines 3", "w1", interactive=True)
    assert manager.wait_for_completion("i1", timeout=60) is None
    assert process.done and process.is_running and process.state == "idle"
    assert process.error is None
    output = manager.get_output("i1")
    assert "> lines 3" in output and "line 3 of 3" in output
    manager.send_prompt("i1", "a second\nline of work")  # with a newline: a bracketed paste
    assert not process.done
    assert manager.wait_for_completion("i1", timeout=60) is None and process.done
    assert "⏺ Fake reply to: a second line of work" in process.output_lines
    assert manager.terminate("i1") is True
    # kill sends SIGHUP first: Claude Code (and fake_claude) exit 129 on it, as on a closed
    # terminal; SIGTERM would follow only if it had not.
    assert process.return_code == 129 and process.stop_reason == "killed"
    assert "claude --resume" in manager.get_output("i1")
    # The agent started unattended: its folder trusted in its HOME's config, nothing else lost.
    config = json.loads((agent_home / ".claude.json").read_text())
    assert config["theme"] == "dark" and config["hasCompletedOnboarding"] is True
    assert config["projects"][str(process.working_dir)]["hasTrustDialogAccepted"] is True


def test_an_interactive_agent_waiting_for_a_person_is_not_done(
        manager: TerminalManager) -> None:
    process = manager.spawn_claude_agent("i1", "ask permission to touch a file", "w1",
                                         interactive=True)
    wait_until(lambda: process.state == "waiting", timeout=60)
    assert manager.wait_for_completion("i1", timeout=0.5) is None and not process.done
    process.session.send_keys("1")  # a person (here: the test) answers the question
    assert manager.wait_for_completion("i1", timeout=60) is None and process.done
    assert (process.working_dir / "approved.txt").exists()


def test_interactive_bypass_starts_unattended_even_as_root(manager: TerminalManager) -> None:
    process = manager.spawn_claude_agent("i1", "ask permission", "w1", interactive=True,
                                         dangerously_skip_permissions=True)
    assert manager.wait_for_completion("i1", timeout=60) is None and process.done
    assert "Done: permission granted." in process.output_lines


def test_callbacks_get_every_line_exactly_once_in_order(manager: TerminalManager) -> None:
    seen: list[tuple[str, str]] = []
    process = manager.spawn_claude_agent("a1", "lines 300", "w1")
    manager.register_output_callback("a1", lambda stream, line: seen.append((stream, line)))
    assert manager.wait_for_completion("a1", timeout=60) == 0
    expected = [f"line {i} of 300" for i in range(1, 301)]
    assert seen == [("stdout", line) for line in expected]
    assert process.output_lines == expected
    late: list[tuple[str, str]] = []  # registered after the end: the lines, once, in order
    manager.register_output_callback("a1", lambda stream, line: late.append((stream, line)))
    assert late == seen


def test_many_threads_spawn_and_read_at_once(manager: TerminalManager) -> None:
    errors: list[BaseException] = []
    lines: dict[str, list[str]] = {}
    lock = threading.Lock()

    def work(worker: int) -> None:
        try:
            for n in range(2):
                agent_id = f"w{worker}-{n}"
                got: list[str] = []
                with lock:
                    lines[agent_id] = got
                manager.spawn_claude_agent(agent_id, f"lines {10 + n}", f"ws/{agent_id}")
                manager.register_output_callback(agent_id, lambda _s, line, g=got: g.append(line))
                manager.get_output(agent_id)  # reading while it runs
                assert manager.wait_for_completion(agent_id, timeout=120) == 0
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert not errors and not any(t.is_alive() for t in threads)
    assert len(manager.processes) == 16
    for agent_id, got in lines.items():
        n = int(agent_id.split("-")[1])
        expected = [f"line {i} of {10 + n}" for i in range(1, 11 + n)]
        assert got == expected and manager.processes[agent_id].output_lines == expected


def test_an_agent_id_runs_once_at_a_time(manager: TerminalManager) -> None:
    manager.spawn_claude_agent("a1", "sleep 30", "w1")
    with pytest.raises(RuntimeError, match="already running"):
        manager.spawn_claude_agent("a1", "hello", "w1")
    manager.terminate("a1", grace=2)
    again = manager.spawn_claude_agent("a1", "hello", "w1")  # replaces the exited session
    assert manager.wait_for_completion("a1", timeout=30) == 0
    assert again.output_lines == ["Fake reply to: hello"]
    with pytest.raises(KeyError, match="no agent 'nobody'"):
        manager.get_output("nobody")
    manager.remove("a1")
    assert "a1" not in manager.processes


def test_session_names_are_agent_ids_made_acceptable() -> None:
    assert session_name("architect-T001") == "architect-T001"
    assert session_name("team/lead 1") == "team-lead-1"
    assert session_name(".hidden") == "agent-.hidden"
    assert len(session_name("x" * 100)) == 64


def test_claude_config_gets_only_what_is_missing(tmp_path: Path) -> None:
    config = tmp_path / "home" / ".claude.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"theme": "light", "oauthAccount": {"id": 7},
                                  "projects": {"/elsewhere": {"allowedTools": ["Bash"]}}}))
    config.chmod(0o600)
    work = tmp_path / "work"
    work.mkdir()
    assert prepare_claude_config(config, [str(work)], tmp_path / "run") is True
    data = json.loads(config.read_text())
    assert data["theme"] == "light" and data["oauthAccount"] == {"id": 7}
    assert data["projects"]["/elsewhere"] == {"allowedTools": ["Bash"]}
    assert data["hasCompletedOnboarding"] is True
    assert data["projects"][str(work)] == {"hasTrustDialogAccepted": True}
    assert config.stat().st_mode & 0o777 == 0o600
    before = config.stat().st_mtime_ns
    assert prepare_claude_config(config, [str(work)], tmp_path / "run") is False
    assert config.stat().st_mtime_ns == before  # nothing missing: not even rewritten
    config.write_text("{ not json")
    assert prepare_claude_config(config, [str(work)], tmp_path / "run") is False
    assert config.read_text() == "{ not json"  # a file we cannot read is left alone


def test_a_symlinked_config_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "claude.json"
    real.parent.mkdir()
    real.write_text("{}")
    link = tmp_path / ".claude.json"
    link.symlink_to(real)
    prepare_claude_config(link, [str(tmp_path)], tmp_path / "run")
    assert link.is_symlink() and json.loads(real.read_text())["hasCompletedOnboarding"]


def test_the_agent_environment(manager: TerminalManager, monkeypatch: pytest.MonkeyPatch,
                               agent_home: Path) -> None:
    monkeypatch.setenv("CLAUDECODE", "1")  # as when this program runs inside Claude Code
    env = manager._agent_env(True, {"EXTRA": "x"})
    assert "CLAUDECODE" not in env and env["DISABLE_AUTOUPDATER"] == "1"
    assert env["HOME"] == str(agent_home) and env["EXTRA"] == "x"
    assert env.get("IS_SANDBOX") == ("1" if os.geteuid() == 0 else os.environ.get("IS_SANDBOX"))


def test_close_stops_reading_and_leaves_the_agents_running(
        daemon: DaemonProcess, fake_claude: Path, agent_home: Path, tmp_path: Path) -> None:
    manager = TerminalManager(tmp_path, daemon_dir=daemon.dir, claude=str(fake_claude),
                              claude_home=agent_home)
    earlier = set(threading.enumerate())  # another test's agent a1 may still be finishing
    process = manager.spawn_claude_agent("a1", "sleep 30", "w1")
    ours = wait_until(lambda: [t for t in threading.enumerate()
                               if t.name == "ptyd-callbacks-a1" and t not in earlier])
    manager.close()
    wait_until(lambda: not any(t.is_alive() for t in ours))
    with Client(daemon.dir) as c:  # the agent runs on in the daemon
        assert c.info(process.name)["status"] == "running"
        c.kill(process.name)
        assert c.wait(process.name, 20)["exited"]


def test_a_failed_interactive_turn_is_reported_as_a_failure(manager: TerminalManager) -> None:
    process = manager.spawn_claude_agent("i1", "this will fail", "w1", interactive=True)
    assert manager.wait_for_completion("i1", timeout=60) == TURN_FAILED
    assert process.done and process.state == "error"
    assert process.failure == "authentication_failed: Not logged in · Please run /login"
    assert manager.get_errors("i1").endswith(
        "turn failed: authentication_failed: Not logged in · Please run /login")
    manager.send_prompt("i1", "a good one")
    assert manager.wait_for_completion("i1", timeout=60) is None
    assert process.failure is None and process.state == "idle"
    assert "⏺ Fake reply to: a good one" in process.output_lines


def test_an_agent_stopped_at_the_trust_dialog_says_so(daemon: DaemonProcess, fake_claude: Path,
                                                      agent_home: Path, tmp_path: Path) -> None:
    """Without the trust recorded, the prompt is not typed into the dialog (it would be eaten):
    the agent is `waiting` at `trust`, and `error` says why the prompt was not given."""
    with TerminalManager(tmp_path / "base", daemon_dir=daemon.dir, claude=str(fake_claude),
                         claude_home=agent_home, seed_claude_config=False) as m:
        process = m.spawn_claude_agent("t1", "the task", "w1", interactive=True)
        assert m.wait_for_completion("t1", timeout=60) is None and not process.done
        assert process.state == "waiting"
        assert process.session.info()["state_reason"] == "trust"
        assert process.error is not None and "dialog (trust" in process.error
        process.session.send_keys("Enter")  # a person trusts the folder
        assert process.session.wait(60, until="idle")["state"] == "idle"
        m.send_prompt("t1", "the task")
        assert m.wait_for_completion("t1", timeout=60) is None and process.done
        assert "⏺ Fake reply to: the task" in process.output_lines
        m.terminate_all(grace=2)
