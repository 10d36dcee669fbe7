"""Many clients at once, and clients noticing a daemon that went away."""

from __future__ import annotations

import signal
import threading

import pytest

from ptyd.client import Client, DaemonNotRunning
from tests.conftest import DaemonProcess, agent, start_daemon, wait_for_output


def test_many_concurrent_clients(daemon: DaemonProcess) -> None:
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            with daemon.client() as c:
                name = f"w{i}"
                c.spawn(agent("prompt"), name=name)
                wait_for_output(c, name, "ready> ")
                c.input(name, f"from {i}\r")
                wait_for_output(c, name, f"echo: from {i}")
                c.input(name, f"exit {i % 50}\r")
                assert c.wait(name, 20)["exit_code"] == i % 50
        except BaseException as e:  # collected and re-raised in the test thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with daemon.client() as c:
        assert len(c.list()) == 24


def test_one_client_shared_by_threads(client: Client) -> None:
    results: list[int] = []

    def worker(i: int) -> None:
        results.append(client.spawn(["sh", "-c", f"exit {i}"], name=f"s{i}")["pid"])
        client.wait(f"s{i}", 20)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(set(results)) == 16
    assert sorted(s["exit_code"] for s in client.list()) == sorted(range(16))


def test_pending_wait_fails_fast_when_daemon_dies(rundir) -> None:  # type: ignore[no-untyped-def]
    d = start_daemon(rundir)
    with d.client() as c:
        c.spawn(["sleep", "60"], name="long")
        failure: list[BaseException] = []

        def waiter() -> None:
            try:
                c.wait("long", None)
            except BaseException as e:
                failure.append(e)

        t = threading.Thread(target=waiter)
        t.start()
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(10)
        t.join(10)
        assert not t.is_alive()
        assert failure and isinstance(failure[0], DaemonNotRunning)
        with pytest.raises(DaemonNotRunning):
            c.hello()
