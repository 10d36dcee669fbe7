"""The CLI as a person in a shell expects it: shutdown that returns once the daemon is gone,
Ctrl-C that exits 130 without a traceback, usage errors in the CLI's own words."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from ptyd.main import CONNECT_TIMEOUT_S, build_parser
from tests.conftest import (
    PYTHON,
    DaemonProcess,
    agent,
    connected_and_asleep,
    free_tcp_ports,
    load_factor,
    run_cli,
    wait_until,
)
from tests.daemon.test_remote import remote  # noqa: F401 (a fixture)


def test_shutdown_returns_once_the_daemon_stopped_so_new_starts_a_fresh_one(
        rundir: Path) -> None:
    cli = ("--dir", str(rundir))
    assert run_cli(*cli, "new", "-s", "stubborn", "--", *agent("ignore_term")).returncode == 0
    first = json.loads(run_cli(*cli, "info", "stubborn", "--json").stdout)
    wait_until(lambda: "ready" in run_cli(*cli, "logs", "stubborn").stdout)
    # The agent ignores SIGHUP: the daemon takes the whole grace to end it.
    stopped = run_cli(*cli, "shutdown", "--grace", "2")
    assert stopped.returncode == 0, stopped.stderr
    fresh = run_cli(*cli, "new", "-s", "next", "--", "sleep", "30")
    try:
        assert fresh.returncode == 0, fresh.stderr  # old code: "the daemon is shutting down"
        listed = json.loads(run_cli(*cli, "ls", "--json").stdout)
        assert [s["name"] for s in listed] == ["next"]
        assert listed[0]["pid"] != first["pid"]
    finally:
        run_cli(*cli, "shutdown", "-q", "--grace", "1")


def test_shutdown_no_wait_returns_while_the_daemon_is_still_stopping(
        daemon: DaemonProcess) -> None:
    daemon.cli("new", "-s", "stubborn", "--", *agent("ignore_term"))
    wait_until(lambda: "ready" in daemon.cli("logs", "stubborn").stdout)
    stubborn = json.loads(daemon.cli("info", "stubborn", "--json").stdout)
    # The grace keeps the daemon stopping while we check, however loaded the machine is.
    result = daemon.cli("shutdown", "--no-wait", "--grace", f"{5 * load_factor():.0f}")
    assert result.returncode == 0 and "ending 1 running session" in result.stdout
    refused = daemon.cli("new", "--", "sleep", "1")  # the stopping daemon takes no new work
    assert refused.returncode == 1 and "shutting down" in refused.stderr
    os.kill(stubborn["pid"], signal.SIGKILL)  # checked: no need to wait out the grace
    assert daemon.proc.wait(30) == 0


def interrupt_when_waiting(daemon: DaemonProcess, *args: str, first_output: bytes = b""
                           ) -> subprocess.CompletedProcess[bytes]:
    """Run `ptyd ARGS`, wait until it is blocked waiting, then SIGINT it as Ctrl-C would."""
    proc = subprocess.Popen([PYTHON, "-m", "ptyd", "--dir", str(daemon.dir), *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    shown = proc.stdout.read(len(first_output))
    assert shown == first_output
    wait_until(lambda: connected_and_asleep(proc.pid), message="the CLI to wait on the daemon")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    return subprocess.CompletedProcess(proc.args, proc.returncode, shown + out, err)


@pytest.mark.parametrize("args", [["logs", "-f", "s"], ["wait", "s"],
                                  ["wait", "s", "--until", "exited"], ["kill", "s", "-s", "CONT"]])
def test_ctrl_c_on_a_waiting_command_exits_130_without_traceback(
        daemon: DaemonProcess, args: list[str]) -> None:
    daemon.cli("new", "-s", "s", "--", "sh", "-c", "echo started; exec sleep 60")
    wait_until(lambda: "started" in daemon.cli("logs", "s").stdout)
    first = b"started\r\n" if args[0] == "logs" else b""
    result = interrupt_when_waiting(daemon, *args, first_output=first)
    assert result.returncode == 130
    assert b"Traceback" not in result.stderr, result.stderr.decode()


@pytest.mark.parametrize(("args", "said"), [
    (["new", "-s", "bad name", "--", "true"], "ptyd new: -s/--name must be a session name"),
    (["new", "--timeout", "-3", "--", "true"], "ptyd new: --timeout must be a number"),
    (["new", "--scrollback", "5", "--", "true"], "ptyd new: --scrollback must be an integer"),
    (["info", "b d"], "ptyd info: NAME must be a session name"),
    (["wait", "x", "--until", "soon"], "ptyd wait: --until must be a state"),
    (["kill", "x", "-s", "FOO"], "ptyd kill: unknown signal 'FOO'"),
])
def test_refused_parameters_are_usage_errors_in_the_cli_words(
        daemon: DaemonProcess, args: list[str], said: str) -> None:
    daemon.cli("new", "-s", "x", "--", "sleep", "30")
    result = daemon.cli(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(said), result.stderr
    assert "parameter '" not in result.stderr and "spawn:" not in result.stderr


def test_rm_removes_every_name_it_can_and_reports_each_it_cannot(daemon: DaemonProcess) -> None:
    for name in ("done1", "done2"):
        daemon.cli("new", "-s", name, "--", "true")
        daemon.cli("wait", name)
    daemon.cli("new", "-s", "busy", "--", "sleep", "30")
    result = daemon.cli("rm", "done1", "nope", "busy", "done2")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "ptyd rm: no session named 'nope' (ptyd ls lists sessions)",
        "ptyd rm: session 'busy' is still running; kill it first (ptyd kill) or use "
        "ptyd rm --force"]
    assert [s["name"] for s in json.loads(daemon.cli("ls", "--json").stdout)] == ["busy"]


def test_every_option_and_argument_has_help() -> None:
    missing = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    if sub.prog.endswith(f" {name}"):  # each verb once, not per alias
                        walk(sub, f"{path} {name}")
            elif action.help is None:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "ptyd")
    assert missing == []


def test_serve_help_names_no_source_files() -> None:
    shown = run_cli("serve", "--help")
    assert shown.returncode == 0 and "--kill-grace" in shown.stdout
    assert ".py" not in shown.stdout


def test_info_shows_local_dates_and_durations_and_no_nones(daemon: DaemonProcess) -> None:
    daemon.cli("new", "-s", "i", "--", "true")
    daemon.cli("wait", "i")
    shown = dict(line.split(None, 1) for line in daemon.cli("info", "i").stdout.splitlines())
    assert "None" not in shown.values()
    raw = json.loads(daemon.cli("info", "i", "--json").stdout)
    assert raw["exit_signal"] is None and "exit_signal" not in shown  # --json keeps raw values
    date = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+s ago\)"
    assert re.fullmatch(date, shown["created"]) and re.fullmatch(date, shown["exited_at"])
    assert re.fullmatch(r"\d+\.\ds", shown["duration"])
    assert isinstance(raw["created"], float)


def test_connect_to_nothing_fails_with_a_clear_message(daemon: DaemonProcess,
                                                      tmp_path: Path) -> None:
    assert CONNECT_TIMEOUT_S == 2.0
    keys = tmp_path / "keys"
    for name in ("server", "client"):
        assert run_cli("keys", "generate", "--name", name, "--keys-dir", str(keys)).returncode == 0
    port = free_tcp_ports(1)[0]  # a port nothing listens on
    result = run_cli("--connect", f"tcp://127.0.0.1:{port}", "--server-key",
                     str(keys / "server.key"), "--client-key", str(keys / "client.key_secret"),
                     "ls")
    assert result.returncode == 1
    assert result.stderr.strip() == (f"ptyd: no ptyd daemon answered at tcp://127.0.0.1:{port} "
                                     "within 2s (is it running, and listening there?)")


def test_logs_text_is_what_a_person_reads(daemon: DaemonProcess) -> None:
    script = (r'printf "\033[1mbuild\033[0m \033[32mok\033[0m\r\n";'
              r'for i in 10 50 100; do printf "\rprogress %d%%" $i; done;'
              r'printf "\r\nabcX\bdef\r\n"; read x; printf "after %s\r\n" "$x"')
    daemon.cli("new", "-s", "t", "--", "sh", "-c", script)
    wait_until(lambda: "abc" in daemon.cli("logs", "t").stdout)
    text = daemon.cli("logs", "--text", "t").stdout
    assert text.split("\n")[:3] == ["build ok", "progress 100%", "abcdef"]
    assert "\x1b" not in text and "\r" not in text
    assert "\rprogress 10%" in daemon.cli("logs", "t").stdout  # plain logs stay byte-exact
    follower = subprocess.Popen([PYTHON, "-m", "ptyd", "--dir", str(daemon.dir), "logs", "-f",
                                 "--text", "t"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert follower.stdout is not None
    first = [follower.stdout.readline() for _ in range(3)]  # the scrollback, then live
    assert first == [b"build ok\n", b"progress 100%\n", b"abcdef\n"]
    daemon.cli("send", "t", "go", "-k", "Enter")
    rest = follower.stdout.read()
    assert follower.wait(20) == 0
    assert rest.decode().split("\n") == ["go", "after go", ""]


def test_shutdown_over_tcp_returns_once_the_daemon_no_longer_answers(
        remote) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    d, keys, endpoints = remote
    args = ["--connect", endpoints.control, "--server-key", str(keys / "server.key"),
            "--client-key", str(keys / "client.key_secret")]
    assert run_cli(*args, "new", "-s", "stubborn", "--", *agent("ignore_term")).returncode == 0
    wait_until(lambda: "ready" in run_cli(*args, "logs", "stubborn").stdout)
    assert run_cli(*args, "shutdown", "--grace", "2").returncode == 0
    after = run_cli(*args, "ls")  # old code: the stopping daemon still answered
    assert after.returncode == 1 and "no ptyd daemon answered" in after.stderr
    assert d.proc.wait(20) == 0
