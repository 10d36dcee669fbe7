"""The library's gap-free stream (AsyncClient.output) in a process frozen (SIGSTOP) while a flood
of messages overflows its queue, then resumed: it ends at the session's last byte, every offset
accounted for (delivered or one Lost marker), the bytes it delivered exactly the session's."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptyd.client import Client
from tests.conftest import (
    AGENTS,
    PYTHON,
    DaemonProcess,
    start_daemon,
    stop_daemon,
    stopped,
    wait_for_output,
    wait_until,
)

RING_BYTES = 64 << 10
FLOOD_LINES = 4000

FOLLOWER = textwrap.dedent("""
    import asyncio, json, sys
    from ptyd.client import AsyncClient, Lost

    async def main():
        async with AsyncClient(sys.argv[1]) as client:
            delivered, lost, start, tail = 0, 0, None, b""
            async for item in client.output("fl", 0):
                if start is None:
                    start = item.offset
                    print("FOLLOWING", flush=True)
                if isinstance(item, Lost):
                    lost += item.end - item.offset
                    continue
                delivered += len(item.data)
                tail = (tail + item.data)[-4096:]
                if tail.endswith(b"done\\r\\n"):
                    end = item.offset + len(item.data)
                    print(json.dumps({"start": start, "end": end, "delivered": delivered,
                                      "lost": lost, "tail": tail.hex()}), flush=True)
                    return

    asyncio.run(main())
""")


@pytest.fixture
def daemon(rundir: Path) -> Iterator[DaemonProcess]:
    """A daemon with a short publish queue: however large the chunks a loaded daemon reads,
    the flood overflows the frozen subscriber's queue, and the ring turns over before it
    resumes (the Lost marker is what this test is about)."""
    d = start_daemon(rundir, "--publish-hwm", "16")
    yield d
    assert stop_daemon(d) == 0, d.log()


def test_frozen_library_stream_catches_up_after_a_flood(client: Client,
                                                        daemon: DaemonProcess) -> None:
    client.spawn(["sh", "-c", f"echo armed; read go; exec {PYTHON} "
                              f"{AGENTS / 'trickle.py'} {FLOOD_LINES}"],
                 name="fl", cols=80, rows=24, scrollback_bytes=RING_BYTES)
    wait_for_output(client, "fl", "armed")
    follower = subprocess.Popen([PYTHON, "-c", FOLLOWER, str(daemon.dir)],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline().strip() == "FOLLOWING"
        with stopped(follower.pid):
            client.input("fl", "\r")
            wait_until(lambda: bytes(client.read("fl", client.info("fl")["end"] - 6,
                                                 clamp=True)["data"]) == b"done\r\n",
                       timeout=120, message="the flood to end")
        stdout = follower.stdout
        line = wait_until(lambda: select.select([stdout], [], [], 0)[0] and stdout.readline(),
                          timeout=30, message="the resumed stream to reach the session's end")
        result = json.loads(line)
        assert follower.wait(timeout=30) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    end = client.info("fl")["end"]
    assert result["end"] == end
    assert result["delivered"] + result["lost"] == end - result["start"]
    assert result["lost"] > 0  # the ring turned over while it was stopped
    tail = bytes.fromhex(result["tail"])
    assert tail == bytes(client.read("fl", end - len(tail), clamp=True)["data"])
    os.kill(client.info("fl")["pid"], signal.SIGTERM)
