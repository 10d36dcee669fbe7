"""A client dropped without close() is collected without hanging the process.

pyzmq terminates a garbage context by waiting for its sockets, which it tracks by weak
references that the garbage collector clears first when context and sockets die together (a
client held in a cycle by its own tasks): the collection then hung forever, in whatever thread
it ran. Seen under load as a `Client.close()` that never returned: its loop thread was stuck
collecting another test's forgotten client. Each case runs in its own process, bounded.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.conftest import PYTHON, DaemonProcess, load_factor

REPO = Path(__file__).resolve().parents[2]

CASES = {
    "async client": """
        async def main():
            c = AsyncClient(DIR)
            await c.connect()
            await c.spawn(["sleep", "60"], name="s")
        asyncio.run(main())  # c never closed
    """,
    "async client with a stream": """
        async def main():
            c = AsyncClient(DIR)
            await c.connect()
            await c.spawn(["sleep", "60"], name="u")
            stream = c.output("u", 0)
            asyncio.ensure_future(anext(stream))
            await asyncio.sleep(0.1)
        asyncio.run(main())  # neither closed
    """,
    "blocking client with a session handle": """
        c = Client(DIR)
        s = c.spawn(["sleep", "60"], name="t")
        s.on_output(lambda chunk: None)
        del c, s
    """,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_forgotten_client_is_collected(daemon: DaemonProcess, case: str) -> None:
    script = textwrap.dedent("""
        import asyncio, gc, sys
        from ptyd.client import AsyncClient, Client
        DIR = sys.argv[1]
    """) + textwrap.dedent(CASES[case]) + textwrap.dedent("""
        gc.collect()
        gc.collect()
        print("collected", flush=True)
    """)
    done = subprocess.run([PYTHON, "-W", "ignore", "-c", script, str(daemon.dir)],
                          capture_output=True, text=True, timeout=30 * load_factor())
    assert done.returncode == 0 and "collected" in done.stdout, done.stderr[-2000:]


def test_a_dropped_session_handle_stops_following_when_its_client_closes(
        daemon: DaemonProcess) -> None:
    """A session handle dropped while it follows the output (expect, callbacks) leaves its
    follower running; close() ends it too, instead of stopping the loop under it (asyncio then
    printed 'Task was destroyed but it is pending' for the follower)."""
    script = textwrap.dedent("""
        import gc, sys
        from ptyd.client import Client
        from tests.conftest import agent
        c = Client(sys.argv[1])
        s = c.spawn(agent("prompt"), name="p")
        s.expect_exact("ready> ", timeout=30)
        del s
        gc.collect()
        c.close()
        gc.collect()
        print("closed", flush=True)
    """)
    done = subprocess.run([PYTHON, "-c", script, str(daemon.dir)], capture_output=True,
                          text=True, timeout=30 * load_factor(), cwd=REPO)
    assert done.returncode == 0 and "closed" in done.stdout, done.stderr[-2000:]
    assert "Task was destroyed" not in done.stderr, done.stderr[-2000:]
