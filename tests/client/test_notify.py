"""Notifications: [[notify]] rules run a real command or POST to a real loopback HTTP server when
a session enters a state, driven by the fake Claude's hooks (daemon/notify.py)."""

from __future__ import annotations

import http.server
import json
import math
import os
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.conftest import (
    DaemonProcess,
    load_factor,
    run_cli,
    start_daemon,
    stop_daemon,
    wait_until,
)

HOOK_TIMEOUT_S = 30
RECORDER = ("import json, os, sys; "
            "open(sys.argv[1], 'a').write(json.dumps({'argv': sys.argv[2:], 'env': dict("
            "os.environ)}) + '\\n')")
"""A notification command: appends its arguments and its environment to a file."""


def recorder(path: Path, *args: str) -> str:
    return json.dumps([sys.executable, "-c", RECORDER, str(path), *args])


def shell_recorder(path: Path, *args: str) -> str:
    """`recorder` as one shell command line, as `ptyd new --notify STATES=COMMAND` takes it."""
    return " ".join(shlex.quote(a) for a in json.loads(recorder(path, *args)))


def notes(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def serve(rundir: Path) -> Iterator[Any]:
    """Starts a daemon with a given configuration file; asserts it stops cleanly."""
    started: list[DaemonProcess] = []

    def start(config: str) -> DaemonProcess:
        path = rundir.parent / "config.toml"
        path.write_text(config)
        started.append(start_daemon(rundir, "--config", str(path)))
        return started[-1]

    yield start
    for d in started:
        assert stop_daemon(d) == 0, d.log()
        assert "Traceback" not in d.log(), d.log()


def test_a_command_is_told_when_claude_waits_fails_and_exits(
        serve: Any, tmp_path: Path, fake_claude: Path, project: Path,
        claude_env: dict[str, str]) -> None:
    out = tmp_path / "notes.jsonl"
    d = serve(f"""
[[notify]]
states = ["waiting", "error", "exited"]
sessions = ["agent-*"]
command = {recorder(out, "{session}: {state} {reason}")}
delay = 0.2
""")
    with d.client() as c:
        s = c.spawn([str(fake_claude)], name="agent-1", cwd=str(project), agent="claude",
                    env={**claude_env, "AGENT_SECRET": "s3cret"})
        c.spawn([sys.executable, "-c", "pass"], name="other")  # no rule for it: no note
        s.wait(HOOK_TIMEOUT_S, until="idle")
        s.send_line("please ask for permission")
        s.wait(HOOK_TIMEOUT_S, until="waiting")
        wait_until(lambda: len(notes(out)) == 1, HOOK_TIMEOUT_S, message="the waiting note")
        s.send_keys("1")
        s.wait(HOOK_TIMEOUT_S, until="idle")
        s.send_line("fail")
        s.wait(HOOK_TIMEOUT_S, until="error")
        wait_until(lambda: len(notes(out)) == 2, HOOK_TIMEOUT_S, message="the error note")
        s.send_line("/exit")
        s.wait(HOOK_TIMEOUT_S)
        wait_until(lambda: len(notes(out)) == 3, HOOK_TIMEOUT_S, message="the exit note")
    got = notes(out)
    assert [n["argv"] for n in got] == [
        ["agent-1: waiting permission"], ["agent-1: error authentication_failed"],
        ["agent-1: exited authentication_failed"]]
    for note, state in zip(got, ["waiting", "error", "exited"], strict=True):
        env = note["env"]
        assert (env["PTYD_SESSION"], env["PTYD_STATE"]) == ("agent-1", state)
        assert "AGENT_SECRET" not in env and "FAKE_CLAUDE_LOG" not in env  # not the agent's
    assert got[2]["env"]["PTYD_EXIT_CODE"] == "0"
    assert got[1]["env"]["PTYD_TEXT"] == "Not logged in · Please run /login"


def test_a_state_shorter_than_the_delay_pages_nobody(
        serve: Any, tmp_path: Path, fake_claude: Path, project: Path,
        claude_env: dict[str, str]) -> None:
    out = tmp_path / "notes.jsonl"
    # The waiting state lasts as long as three hook processes take to start: the delay grows
    # with the machine's load. The idle rule's longer delay makes its note the proof that the
    # waiting timer has fired.
    delay = max(3, math.ceil(2 * load_factor()))
    d = serve(f"""
[[notify]]
states = ["waiting"]
command = {recorder(out, "{state}")}
delay = {delay}
[[notify]]
states = ["idle"]
command = {recorder(out, "{state}", "{turn}")}
delay = {delay + 0.5}
""")
    with d.client() as c:
        s = c.spawn([str(fake_claude)], name="c", cwd=str(project), env=claude_env,
                    agent="claude")
        s.wait(HOOK_TIMEOUT_S, until="idle")  # turn 0, ready: that pages nobody
        s.send_line("please ask for permission")
        s.wait(HOOK_TIMEOUT_S, until="waiting")
        s.send_keys("1")  # answered at once, as a script would
        wait_until(lambda: len(notes(out)) == 1, HOOK_TIMEOUT_S, message="the idle note")
        s.kill()
    assert [n["argv"] for n in notes(out)] == [["idle", "1"]]
    assert f"notify skipped: waiting lasted less than {delay}s" in d.log()


def test_a_hanging_command_is_killed_at_its_timeout_and_the_daemon_goes_on(
        serve: Any, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    # Long enough for all four to start before the first is killed, however loaded the
    # machine: then exactly 4 run at once.
    timeout = max(3, math.ceil(2 * load_factor()))
    d = serve(f"""
[[notify]]
states = ["exited"]
command = ["sh", "-c", "sleep 300 & echo $! > {pids}/$PTYD_SESSION; wait"]
delay = 0
timeout = {timeout}
""")
    def started() -> list[int]:
        """The sleepers' pids, of the commands that got as far as writing theirs (the shell
        creates the file before it writes to it)."""
        return [int(text) for p in pids.iterdir() if (text := p.read_text().strip())]

    with d.client() as c:
        for i in range(6):
            c.spawn(["true"], name=f"s{i}")
        wait_until(lambda: len(started()) >= 4, 20, message="4 commands running")
        assert len(list(pids.iterdir())) == 4  # never more than 4 at once
        assert len(c.list()) == 6  # the daemon answers while they hang
        wait_until(lambda: len(started()) == 6, 30, message="the other two")
        sleepers = started()
        wait_until(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in sleepers), 30,
                   message="the hung commands killed, their whole group, and reaped")
        wait_until(lambda: d.log().count("failed (sh -c") == 6, 10, message="6 failures logged")
    assert f"timed out after {timeout}s" in d.log()


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_webhook_receives_the_state_as_json(serve: Any) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Hook.received = []
    try:
        d = serve(f"""
[[notify]]
states = ["exited"]
webhook = "http://127.0.0.1:{server.server_address[1]}/hook"
delay = 0
""")
        with d.client() as c:
            c.spawn(["sh", "-c", "exit 3"], name="build")
            wait_until(lambda: len(_Hook.received) == 1, 20, message="the webhook POST")
    finally:
        server.shutdown()
        server.server_close()
    body = _Hook.received[0]
    assert (body["session"], body["state"], body["exit_code"]) == ("build", "exited", 3)
    assert body["text"] == "build: exited"


def test_config_show_lists_notify_rules_and_refuses_a_clear_text_webhook(
        tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[[notify]]\nstates = ["waiting"]\ncommand = ["notify-send", "{session}"]\n')
    shown = run_cli("config", "show", "--config", str(good))
    assert shown.returncode == 0, shown.stderr
    assert f"[[notify]]                               # {good}:1" in shown.stdout
    assert 'command = ["notify-send", "{session}"]' in shown.stdout
    as_json = json.loads(run_cli("config", "show", "--json", "--config", str(good)).stdout)
    assert as_json["notify"][0]["states"] == ["waiting"] and as_json["notify"][0]["line"] == 1
    bad = tmp_path / "bad.toml"
    bad.write_text('[[notify]]\nstates = ["waiting"]\nwebhook = "http://chat.example.com/x"\n')
    refused = run_cli("config", "show", "--config", str(bad))
    assert refused.returncode == 1
    assert "must be https, or http to a loopback address" in refused.stderr
    assert f"{bad}:" in refused.stderr


def test_ptyd_new_notify_is_a_rule_of_that_session_only(daemon: DaemonProcess,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "notes.jsonl"
    command = shell_recorder(out, "{session} {exit_code}")
    made = daemon.cli("new", "-d", "-s", "job", "--notify", f"exited={command}", "--",
                      "sh", "-c", "exit 7")
    assert made.returncode == 0, made.stderr
    daemon.cli("new", "-d", "-s", "other", "--", "true")
    wait_until(lambda: notes(out), 20, message="the note of job")
    with daemon.client() as c:
        wait_until(lambda: all(s["state"] == "exited" for s in c.list()), 10)
    assert [n["argv"] for n in notes(out)] == [["job 7"]]  # delay 2 s default: it held


def test_a_bad_notify_rule_is_refused_before_anything_starts(daemon: DaemonProcess) -> None:
    usage = daemon.cli("new", "-d", "--notify", "waiting", "--", "true")
    assert usage.returncode == 2 and "--notify wants STATES=COMMAND" in usage.stderr
    refused = daemon.cli("new", "-d", "-s", "x", "--notify", "sleeping=true", "--", "true")
    assert refused.returncode != 0 and "states: expected some of waiting" in refused.stderr
    clear = daemon.cli("new", "-d", "-s", "y", "--notify", "exited=http://10.0.0.1/h", "--",
                       "true")
    assert clear.returncode != 0 and "must be https" in clear.stderr
    with daemon.client() as c:
        assert c.list() == []


def test_the_readme_notify_example_is_a_valid_configuration(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## Being told when an agent needs you")[1].split("\n## ")[0]
    example = section.split("```toml\n")[1].split("```")[0]
    path = tmp_path / "config.toml"
    path.write_text(example)
    shown = run_cli("config", "show", "--json", "--config", str(path))
    assert shown.returncode == 0, shown.stderr
    rules = json.loads(shown.stdout)["notify"]
    assert [r["states"] for r in rules] == [["waiting", "error"], ["idle", "exited"]]
    assert rules[0]["command"][0] == "notify-send" and rules[1]["webhook"].startswith("https:")


def test_a_reload_applies_new_notify_rules(serve: Any, rundir: Path, tmp_path: Path) -> None:
    out = tmp_path / "notes.jsonl"
    d = serve("# no rules yet\n")
    (rundir.parent / "config.toml").write_text(f"""
[[notify]]
states = ["exited"]
command = {recorder(out, "{session}")}
delay = 0
""")
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "config reloaded: notify=" in d.log(), 20, message="the reload")
    with d.client() as c:
        c.spawn(["true"], name="after-reload")
        wait_until(lambda: notes(out), 20, message="the note")
    assert [n["argv"] for n in notes(out)] == [["after-reload"]]


def test_a_sessions_own_notify_rule_outlives_an_upgrade(daemon: DaemonProcess,
                                                        tmp_path: Path) -> None:
    """Left running with `--notify exited=...`, upgraded meanwhile: the page still comes."""
    out = tmp_path / "notes.jsonl"
    command = shell_recorder(out, "{session} {exit_code}")
    made = daemon.cli("new", "-d", "-s", "job", "--notify", f"exited={command}", "--",
                      "sh", "-c", "read line; exit 5")
    assert made.returncode == 0, made.stderr
    with daemon.client() as c:
        seq = c.events(0)["last"]
        c.request("upgrade")
    daemon.wait_upgraded(seq)
    with daemon.client() as c:
        c.input("job", "go\r")
        assert c.wait("job", 10)["exit_code"] == 5
    wait_until(lambda: notes(out), 20, message="the note of job, from the successor")
    assert [n["argv"] for n in notes(out)] == [["job 5"]]
