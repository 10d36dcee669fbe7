"""The `ptyd` command: verbs, JSON output, exit codes, autostart, errors on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import PYTHON, DaemonProcess, agent, run_cli, wait_until


def test_new_autostarts_daemon_and_prints_name(rundir: Path) -> None:
    result = run_cli("--dir", str(rundir), "new", "-s", "first", "--", "sh", "-c", "echo hi")
    try:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "first"
        assert (rundir / "ctl.sock").exists()
        waited = run_cli("--dir", str(rundir), "wait", "first")
        assert waited.returncode == 0
    finally:
        assert run_cli("--dir", str(rundir), "shutdown", "-q").returncode == 0


def test_concurrent_autostarts_share_one_daemon(rundir: Path) -> None:
    results: list[subprocess.CompletedProcess[str]] = []
    threads = [threading.Thread(target=lambda i=i: results.append(
        run_cli("--dir", str(rundir), "new", "-s", f"c{i}", "--", "sleep", "30")))
        for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
        listed = json.loads(run_cli("--dir", str(rundir), "ls", "--json").stdout)
        assert sorted(s["name"] for s in listed) == ["c0", "c1", "c2", "c3"]
    finally:
        run_cli("--dir", str(rundir), "shutdown", "-q", "--grace", "1")


def test_ls_without_daemon_is_a_clear_error(rundir: Path) -> None:
    result = run_cli("--dir", str(rundir), "ls")
    assert result.returncode == 1
    assert "no ptyd daemon is running" in result.stderr and "ptyd new" in result.stderr


def test_ls_table_and_json(daemon: DaemonProcess) -> None:
    assert daemon.cli("new", "-s", "a1", "--size", "100x30", "--", "sleep", "30").returncode == 0
    table = daemon.cli("ls").stdout.splitlines()
    assert table[0].split()[:7] == ["NAME", "STATUS", "STATE", "VIEWERS", "PID", "SIZE", "AGE"]
    assert table[1].split()[:2] == ["a1", "running"] and "100x30" in table[1]
    listed = json.loads(daemon.cli("ls", "--json").stdout)
    assert listed[0]["name"] == "a1" and listed[0]["argv"] == ["sleep", "30"]
    info = json.loads(daemon.cli("info", "a1", "--json").stdout)
    assert info["cols"] == 100 and info["status"] == "running"
    assert "argv" in daemon.cli("info", "a1").stdout


def test_new_passes_caller_environment_and_overrides(daemon: DaemonProcess,
                                                     tmp_path: Path) -> None:
    env = {**os.environ, "FROM_CALLER": "yes", "TMUX": "x"}
    result = daemon.cli("new", "-s", "envy", "-c", str(tmp_path), "-e", "EXTRA=1", "--",
                        "sh", "-c", "echo $FROM_CALLER-$EXTRA-${TMUX:-none}; pwd", env=env)
    assert result.returncode == 0, result.stderr
    daemon.cli("wait", "envy")
    logs = daemon.cli("logs", "envy").stdout
    assert "yes-1-none" in logs and str(tmp_path) in logs


def test_send_text_and_keys_in_order(daemon: DaemonProcess) -> None:
    daemon.cli("new", "-s", "p", "--", *agent("prompt"))
    wait_until(lambda: "ready> " in daemon.cli("logs", "p").stdout)
    assert daemon.cli("send", "p", "hello", "-k", "Enter").returncode == 0
    wait_until(lambda: "echo: hello" in daemon.cli("logs", "p").stdout)
    daemon.cli("send", "p", "exit 6", "--key", "Enter")
    assert daemon.cli("wait", "p").returncode == 6


def test_send_rejects_unknown_key(daemon: DaemonProcess) -> None:
    daemon.cli("new", "-s", "k", "--", "cat")
    result = daemon.cli("send", "k", "-k", "Hyper-Q")
    assert result.returncode == 2 and "unknown key 'Hyper-Q'" in result.stderr


def test_wait_exit_codes(daemon: DaemonProcess) -> None:
    daemon.cli("new", "-s", "sig", "--", *agent("exit_with", "-TERM"))
    assert daemon.cli("wait", "sig").returncode == 128 + 15
    daemon.cli("new", "-s", "slow", "--", "sleep", "30")
    timed_out = daemon.cli("wait", "slow", "--timeout", "0.1")
    assert timed_out.returncode == 124 and "still running" in timed_out.stderr


def test_logs_follow_prints_scrollback_then_live_then_ends(daemon: DaemonProcess) -> None:
    daemon.cli("new", "-s", "f", "--", "sh", "-c", "echo before; read x; echo after; exit 0")
    wait_until(lambda: "before" in daemon.cli("logs", "f").stdout)
    follower = subprocess.Popen([PYTHON, "-m", "ptyd", "--dir", str(daemon.dir), "logs", "-f",
                                 "f"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Wait until the follower is live (its subscription shows in nothing we can see, so
    # wait for the scrollback to have been printed), then make more output.
    first = follower.stdout.read(len(b"before\r\n"))  # type: ignore[union-attr]
    assert first == b"before\r\n"
    daemon.cli("send", "f", "go", "-k", "Enter")
    out, err = follower.communicate(timeout=20)
    assert follower.returncode == 0, err
    rest = first + out
    assert rest.count(b"before") == 1 and rest.count(b"after") == 1
    assert rest.index(b"before") < rest.index(b"after")


def test_kill_and_rm(daemon: DaemonProcess) -> None:
    daemon.cli("new", "-s", "stub", "--", *agent("ignore_term"))
    # Until it says it is ready, the agent may not ignore SIGHUP yet (Python still starting).
    wait_until(lambda: "ready" in daemon.cli("logs", "stub").stdout)
    assert daemon.cli("kill", "stub", "--grace", "0.3").returncode == 0
    info = json.loads(daemon.cli("info", "stub", "--json").stdout)
    assert info["status"] == "exited" and info["exit_signal"] == 9
    assert daemon.cli("rm", "stub").returncode == 0
    missing = daemon.cli("info", "stub")
    assert missing.returncode == 1 and "no session named 'stub'" in missing.stderr


def test_rm_running_needs_force(daemon: DaemonProcess) -> None:
    daemon.cli("new", "-s", "run", "--", "sleep", "30")
    refused = daemon.cli("rm", "run")
    assert refused.returncode == 1 and "still running" in refused.stderr
    assert daemon.cli("rm", "-f", "run").returncode == 0


@pytest.mark.parametrize(("args", "words"), [
    (["new", "--size", "wide", "--", "sh"], "COLSxROWS"),
    (["new", "-e", "NOEQUALS", "--", "sh"], "NAME=VALUE"),
    (["send", "x"], "nothing to send"),
])
def test_usage_errors_exit_2(daemon: DaemonProcess, args: list[str], words: str) -> None:
    result = daemon.cli(*args)
    assert result.returncode == 2 and words in result.stderr


def test_spawn_failure_is_one_line_on_stderr(daemon: DaemonProcess) -> None:
    result = daemon.cli("new", "--", "definitely-not-a-program")
    assert result.returncode == 1
    assert result.stderr.strip() == "ptyd: program 'definitely-not-a-program' not found in PATH"


def test_shutdown_stops_the_daemon(daemon: DaemonProcess) -> None:
    daemon.cli("new", "--", "sleep", "30")
    result = daemon.cli("shutdown", "--grace", "1")
    assert result.returncode == 0 and "ending 1 running session" in result.stdout
    assert daemon.proc.wait(15) == 0


def test_upgrade_returns_once_the_successor_serves(daemon: DaemonProcess) -> None:
    """Like shutdown, upgrade waits: the command after it reaches the successor, never the old
    daemon that refuses new work (shutting_down) until it re-executes. No retry here."""
    with daemon.client() as c:
        pid = c.hello()["pid"]
        for round in range(3):
            seq = c.events(0)["last"]
            result = daemon.cli("upgrade")
            assert result.returncode == 0, result.stderr
            assert f"daemon {pid} now runs version" in result.stdout
            events = c.events(seq)["events"]
            assert "daemon.upgraded" in [e["type"] for e in events], "returned before it served"
            made = daemon.cli("new", "-s", f"after-{round}", "--", "sleep", "60")
            assert made.returncode == 0, made.stderr
    assert daemon.cli("ls").stdout.count("after-") == 3


def test_dir_option_after_the_verb(daemon: DaemonProcess) -> None:
    result = run_cli("ls", "--dir", str(daemon.dir), "--json")
    assert result.returncode == 0 and json.loads(result.stdout) == []
