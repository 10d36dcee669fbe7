"""Upgrade in place: the daemon re-executes itself and adopts every session; agents notice
nothing (same parent, same terminal, no signal), offsets and epochs hold."""

from __future__ import annotations

import os
import signal
import stat
import sys
from pathlib import Path

import pytest

from ptyd.client import Client, RemoteError
from tests.agents.printer import payload
from tests.conftest import DaemonProcess, agent, screen_text, wait_for_output, wait_until


def process_start_time(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


def test_upgrade_keeps_pid_sessions_offsets_and_agents(client: Client,
                                                       daemon: DaemonProcess) -> None:
    pid = client.hello()["pid"]
    a = client.spawn(agent("prompt"), name="a")
    client.spawn(["sh", "-c", "echo done; exit 4"], name="gone")
    client.wait("gone", 10)
    wait_for_output(client, "a", "ready> ")
    client.input("a", "before\r")
    wait_for_output(client, "a", "echo: before")
    started = process_start_time(a["pid"])
    info_before = client.info("a")
    seq = client.events(0)["last"]
    assert client.request("upgrade")["upgrading"] is True
    daemon.wait_upgraded(seq)
    with daemon.client() as c:
        assert c.hello()["pid"] == pid == daemon.proc.pid
        info = c.info("a")
        assert info["epoch"] == info_before["epoch"] and info["pid"] == a["pid"]
        assert info["end"] >= info_before["end"] and info["base"] == info_before["base"]
        assert process_start_time(a["pid"]) == started, "the agent was restarted"
        c.input("a", "after\r")
        out = wait_for_output(c, "a", "echo: after")
        assert out.count("echo: before") == 1
        gone = c.info("gone")
        assert gone["status"] == "exited" and gone["exit_code"] == 4
        assert "done" in screen_text(c, "gone")
        events = c.events(seq)["events"]
        assert [e["seq"] for e in events] == list(range(seq, seq + len(events)))
        assert {e["boot"] for e in events} == {c.hello()["boot"]}, "same daemon, same boot id"
        # An agent that ends after the upgrade is reaped by the successor, with its code.
        c.input("a", "exit 9\r")
        assert c.wait("a", 10)["exit_code"] == 9
    assert not (daemon.dir / "handover.msgpack").exists()


def test_upgrade_to_a_broken_installation_is_refused(client: Client, daemon: DaemonProcess,
                                                     tmp_path: Path) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'ModuleNotFoundError: No module named ptyd' >&2\nexit 1\n")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    client.spawn(["sleep", "60"], name="s")
    with pytest.raises(RemoteError) as e:
        client.request("upgrade", {"python": str(broken)})
    assert e.value.code == "upgrade_failed" and "cannot start" in e.value.message
    assert client.info("s")["status"] == "running"  # the running daemon goes on
    client.spawn(["true"], name="still-serving")


def test_sigusr2_upgrades(client: Client, daemon: DaemonProcess) -> None:
    client.spawn(["sleep", "60"], name="s")
    seq = client.events(0)["last"]
    os.kill(daemon.proc.pid, signal.SIGUSR2)
    daemon.wait_upgraded(seq)
    with daemon.client() as c:
        assert c.info("s")["status"] == "running"


def test_timeout_survives_upgrade(client: Client, daemon: DaemonProcess) -> None:
    client.request("spawn", {"argv": ["sleep", "60"], "name": "t", "timeout": 2.0})
    seq = client.events(0)["last"]
    client.request("upgrade")
    daemon.wait_upgraded(seq)
    with daemon.client() as c:
        info = c.wait("t", 15)
        assert info["exited"] and info["stop_reason"] == "timeout"


def test_containment_survives_upgrade(client: Client, daemon: DaemonProcess) -> None:
    """A session's cgroup (or tracking) and keep_processes come through the handover: its
    processes are still counted, and still ended with it."""
    client.request("spawn", {"argv": ["sh", "-c", "sleep 1000 & sleep 1000"], "name": "t",
                             "keep_processes": True})
    before = wait_until(lambda: (i := client.info("t"))["processes"] == 3 and i)
    seq = client.events(0)["last"]
    client.request("upgrade")
    daemon.wait_upgraded(seq)
    with daemon.client() as c:
        after = wait_until(lambda: (i := c.info("t"))["processes"] == 3 and i)
        assert after["containment"] == before["containment"]
        assert after["keep_processes"] is True
        c.kill("t", grace=1)
        wait_until(lambda: c.info("t")["status"] == "exited" and c.info("t")["processes"] == 0)


def test_clients_and_streams_carry_on_across_an_upgrade(client: Client,
                                                        daemon: DaemonProcess) -> None:
    client.spawn(agent("printer", "3000000", "--then-wait"), name="p", scrollback_bytes=8 << 20)
    received = bytearray()
    stream = client.output("p", 0)
    for item in stream:  # read a part, then upgrade under the open stream
        received += item.data
        if len(received) > 100_000:
            break
    waiter: dict[str, object] = {}
    import threading

    with daemon.client() as other:
        t = threading.Thread(target=lambda: waiter.update(other.wait("p", 60)))
        t.start()
        seq = client.events(0)["last"]
        client.request("upgrade")
        daemon.wait_upgraded(seq)
        for item in stream:  # the stream was opened on the predecessor
            received += item.data
            if received.endswith(b"done\r\n"):
                break
        expected = tty(payload(3000000) + b"done\n")
        assert bytes(received) == expected, "every byte once, in order, across the upgrade"
        client.input("p", "\r")  # the same client object still works
        t.join(30)
        assert waiter["exit_code"] == 0, "a wait in flight was resent to the successor"


def tty(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r\n")


def test_a_kill_in_its_grace_completes_across_an_upgrade(client: Client,
                                                          daemon: DaemonProcess) -> None:
    """The SIGKILL due at the end of a kill's grace is not lost in the handover."""
    client.spawn(agent("ignore_term"), name="deaf")
    wait_for_output(client, "deaf", "ready")
    client.kill("deaf", grace=3)
    seq = client.events(0)["last"]
    client.request("upgrade")
    daemon.wait_upgraded(seq)
    with daemon.client() as c:
        info = c.wait("deaf", 30)
        assert info["exited"] and info["exit_signal"] == signal.SIGKILL


def test_a_failed_exec_is_published_and_the_daemon_goes_on(daemon: DaemonProcess,
                                                            tmp_path: Path) -> None:
    """The interpreter passes the check, then is gone when the daemon re-executes: the daemon
    says so at once (`daemon.upgrade_failed`), `ptyd upgrade` exits 1 with the reason instead
    of waiting a minute for a successor, and the sessions and the service go on."""
    vanishing = tmp_path / "python"
    vanishing.write_text(f'#!/bin/sh\nrm -f -- "$0"\nexec {sys.executable} "$@"\n')
    vanishing.chmod(vanishing.stat().st_mode | stat.S_IXUSR)
    with daemon.client() as c:
        c.spawn(agent("prompt"), name="s")
        wait_for_output(c, "s", "ready> ")
        seq = c.events(0)["last"]
    result = daemon.cli("upgrade", "--python", str(vanishing))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "upgrade failed" in result.stderr and "No such file" in result.stderr
    with daemon.client() as c:
        types = [e["type"] for e in c.events(seq)["events"]]
        assert "daemon.upgrade_failed" in types and "daemon.upgraded" not in types
        c.input("s", "still\r")
        wait_for_output(c, "s", "echo: still")
        c.spawn(["true"], name="new-work")  # not refused with shutting_down
    assert not (daemon.dir / "handover.msgpack").exists()
