"""One-request `ptyd` commands start lean: no pyzmq, asyncio or pyte is imported (they would cost
more than Python's own start-up), yet every verb still works, through the full client when it
needs more than requests, and across a daemon upgrade."""

from __future__ import annotations

import subprocess

from ptyd.client import Client
from ptyd.client._lean import LeanClient
from tests.conftest import PYTHON, DaemonProcess, wait_until

HEAVY = ("zmq", "asyncio", "pyte", "msgpack")


def imported_modules(*args: str) -> set[str]:
    proc = subprocess.run([PYTHON, "-X", "importtime", "-m", "ptyd", *args],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {line.split("|")[-1].strip() for line in proc.stderr.splitlines()
            if line.startswith("import time:")}


def test_one_request_commands_import_no_zmq_no_asyncio(daemon: DaemonProcess,
                                                        client: Client) -> None:
    client.spawn(["cat"], name="c")
    for args in (("ls",), ("send", "c", "hello"), ("info", "c")):
        modules = imported_modules("--dir", str(daemon.dir), *args)
        assert not {"zmq", "asyncio", "pyte"} & modules, f"ptyd {args[0]} imported them"
    version = imported_modules("--version")
    assert not set(HEAVY) & version, "ptyd --version imported more than argparse needs"
    wait_until(lambda: b"hello" in bytes(client.read("c", 0)["data"]))


def test_verbs_beyond_requests_still_work_through_the_full_client(daemon: DaemonProcess,
                                                                  client: Client) -> None:
    client.spawn(["sh", "-c", "echo streamed; sleep 60"], name="s")
    wait_until(lambda: b"streamed" in bytes(client.read("s", 0)["data"]))
    with LeanClient(daemon.dir) as lean:
        assert [s["name"] for s in lean.list()] == ["s"]
        first = next(iter(lean.output("s", 0, follow=False)))  # delegated: a stream
        assert b"streamed" in first.data
    result = daemon.cli("logs", "s")
    assert result.returncode == 0 and "streamed" in result.stdout


def test_no_daemon_is_a_clear_message(rundir: object) -> None:
    result = subprocess.run([PYTHON, "-m", "ptyd", "--dir", str(rundir), "ls"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "no ptyd daemon is running" in result.stderr


def test_lean_client_carries_on_across_an_upgrade(daemon: DaemonProcess, client: Client) -> None:
    client.spawn(["cat"], name="u")
    with LeanClient(daemon.dir) as lean:
        before = lean.hello()["pid"]
        seq = client.events(0)["last"]
        lean.request("upgrade")

        daemon.wait_upgraded(seq)
        assert lean.hello()["pid"] == before  # re-executed in place: the same process
        lean.input("u", "after\r")  # the old connection is gone: a new one, sent once
        assert [s["name"] for s in lean.list()] == ["u"]
    wait_until(lambda: bytes(client.read("u", 0)["data"]).count(b"after") == 2)  # echo + cat


def test_lean_client_carries_long_frames_both_ways(daemon: DaemonProcess, client: Client) -> None:
    """ZMTP frames over 255 bytes use the long size form, in requests and in replies."""
    client.spawn(["cat"], name="long")
    lines = "".join(f"line {i:04d} " + "x" * 60 + "\n" for i in range(300))
    with LeanClient(daemon.dir) as lean:
        assert lean.input("long", lines)["bytes"] == len(lines)
        # The tty's echo and cat's copy, each line ending in CR LF (ONLCR): wait for the last
        # line twice (the byte count alone is reached before cat's copy is whole).
        def both_copies() -> bytes | None:
            data = bytes(lean.read("long", 0, max_bytes=1 << 20)["data"])
            return data if data.count(b"line 0299 ") == 2 else None
        data = wait_until(both_copies)
    assert data.count(b"line 0000 ") == 2 and len(data) == 2 * (len(lines) + 300)
