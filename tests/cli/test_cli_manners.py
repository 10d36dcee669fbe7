"""The CLI as a person in a shell expects it: shutdown that returns once the daemon is gone,
Ctrl-C that exits 130 without a traceback, usage errors in the CLI's own words."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PYTHON, DaemonProcess, agent, run_cli, wait_until


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
    result = daemon.cli("shutdown", "--no-wait", "--grace", "5")
    assert result.returncode == 0 and "ending 1 running session" in result.stdout
    refused = daemon.cli("new", "--", "sleep", "1")  # the stopping daemon takes no new work
    assert refused.returncode == 1 and "shutting down" in refused.stderr
    assert daemon.proc.wait(30) == 0


def _waiting(pid: int) -> bool:
    """The CLI has connected (libzmq started its I/O thread: the SIGINT handler is in place)
    and its main thread sleeps, blocked on the daemon's answer."""
    tasks = Path(f"/proc/{pid}/task")
    names = [(t / "comm").read_text().strip() for t in tasks.iterdir()]
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return any(n.startswith("ZMQbg") for n in names) and state == "S"


def interrupt_when_waiting(daemon: DaemonProcess, *args: str, first_output: bytes = b""
                           ) -> subprocess.CompletedProcess[bytes]:
    """Run `ptyd ARGS`, wait until it is blocked waiting, then SIGINT it as Ctrl-C would."""
    proc = subprocess.Popen([PYTHON, "-m", "ptyd", "--dir", str(daemon.dir), *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    shown = proc.stdout.read(len(first_output))
    assert shown == first_output
    wait_until(lambda: _waiting(proc.pid), message="the CLI to wait on the daemon")
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
