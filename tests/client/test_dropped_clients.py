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

import pytest

from tests.conftest import PYTHON, DaemonProcess, load_factor

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
