"""A request in flight in a process stopped (SIGSTOP) for longer than its timeout, whose reply
came meanwhile: resumed, it gets the reply, not a Timeout (every asyncio timer has expired at
once by then, and runs before the reply that waits in the socket is read)."""

from __future__ import annotations

import subprocess
import textwrap
import time

from ptyd.client import Client
from tests.conftest import PYTHON, DaemonProcess, stopped, wait_until

TIMEOUT_S = 1.0

REQUESTER = textwrap.dedent(f"""
    import asyncio, sys
    from ptyd.client import AsyncClient

    async def main():
        async with AsyncClient(sys.argv[1]) as client:
            call = asyncio.ensure_future(client.request(
                "wait", {{"session": "w", "timeout": 60.0}}, timeout={TIMEOUT_S}))
            await client.hello()  # sent after the wait on one socket: the daemon holds the wait
            print("SENT", flush=True)
            try:
                reply = await call
            except Exception as e:
                print("FAILED", type(e).__name__, e, flush=True)
            else:
                print("REPLY", reply["status"], flush=True)

    asyncio.run(main())
""")


def test_a_reply_that_came_while_stopped_beats_the_expired_timeout(
        client: Client, daemon: DaemonProcess) -> None:
    client.spawn(["sleep", "600"], name="w")
    requester = subprocess.Popen([PYTHON, "-c", REQUESTER, str(daemon.dir)],
                                 stdout=subprocess.PIPE, text=True)
    try:
        assert requester.stdout is not None
        assert requester.stdout.readline().strip() == "SENT"
        with stopped(requester.pid):
            stopped_at = time.monotonic()
            client.kill("w")
            client.wait("w", timeout=30)  # answered with the requester's wait, in one turn
            # The reply is on its way to a stopped process; now let its deadline pass.
            wait_until(lambda: time.monotonic() > stopped_at + TIMEOUT_S + 0.5,
                       message="the requester's timeout to expire while it is stopped")
        out, _ = requester.communicate(timeout=30)
    finally:
        if requester.poll() is None:
            requester.kill()
            requester.wait()
    assert out.strip() == "REPLY exited"
