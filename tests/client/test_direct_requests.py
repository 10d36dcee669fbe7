"""The blocking Client's requests go straight over its socket on the caller's thread (no event
loop, no thread hop); it stays safe to share between threads and to close under a call."""

from __future__ import annotations

import threading

import pytest

from ptyd.client import Client, ClientClosed, DaemonNotRunning, PtydError
from tests.conftest import PYTHON, DaemonProcess, agent, wait_until


def loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ptyd-client"]


def test_requests_need_no_loop_thread(daemon: DaemonProcess) -> None:
    before = loop_threads()
    with Client(daemon.dir) as c:
        assert c.server["pid"] > 0
        assert c.list() == []
        c.request("spawn", {"argv": ["sleep", "60"], "name": "s"})
        assert c.info("s")["status"] == "running"
        c.input("s", "x")
        c.kill("s")
        assert c.wait("s", 10)["exited"]
        assert loop_threads() == before, "a plain request started the asyncio core"
        c.spawn(["sleep", "60"], name="h")  # a session handle needs it: started on first use
        assert len(loop_threads()) == len(before) + 1
        c.kill("h")
    wait_until(lambda: loop_threads() == before)


def test_a_call_while_another_thread_waits_is_not_queued_behind_it(client: Client) -> None:
    client.spawn(agent("prompt"), name="w")
    outcome: list[dict[str, object]] = []
    waiter = threading.Thread(target=lambda: outcome.append(client.wait("w", 60)))
    waiter.start()
    wait_until(lambda: client.info("w")["status"] == "running")  # answered meanwhile
    client.input("w", "exit 7\r")
    waiter.join(30)
    assert outcome and outcome[0]["exit_code"] == 7


def test_closing_ends_a_direct_call_in_flight(daemon: DaemonProcess) -> None:
    client = Client(daemon.dir)
    client.request("spawn", {"argv": ["sleep", "60"], "name": "z"})
    outcome: list[str] = []
    started = threading.Event()

    def wait_forever() -> None:
        started.set()
        try:
            client.wait("z", None)
            outcome.append("returned")
        except PtydError as e:
            outcome.append(type(e).__name__)

    caller = threading.Thread(target=wait_forever)
    caller.start()
    started.wait(10)
    wait_until(lambda: client._wire_lock.locked(), message="the wait to be in flight")
    client.close()
    caller.join(10)
    assert outcome == ["ClientClosed"]
    with pytest.raises(ClientClosed):
        client.info("z")
    with Client(daemon.dir) as c:
        c.kill("z")


def test_daemon_gone_under_a_direct_call(daemon: DaemonProcess) -> None:
    with Client(daemon.dir) as c:
        c.request("spawn", {"argv": ["sleep", "60"], "name": "g"})
        outcome: list[BaseException] = []

        def call() -> None:
            try:
                c.wait("g", None)
            except PtydError as e:
                outcome.append(e)

        caller = threading.Thread(target=call)
        caller.start()
        wait_until(lambda: c._wire_lock.locked())
        daemon.proc.kill()
        daemon.proc.wait(10)
        caller.join(10)
        assert outcome and isinstance(outcome[0], DaemonNotRunning)
    from tests.conftest import start_daemon
    daemon.proc = start_daemon(daemon.dir).proc


def test_the_client_module_needs_neither_asyncio_nor_pyte_for_requests(
        daemon: DaemonProcess) -> None:
    import subprocess

    code = ("import sys\nfrom ptyd.client import Client\n"
            f"with Client({str(daemon.dir)!r}) as c:\n    c.list()\n"
            "print(sorted(m for m in ('asyncio', 'pyte', 'zmq.asyncio') if m in sys.modules))")
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    assert out.strip() == "[]", out
