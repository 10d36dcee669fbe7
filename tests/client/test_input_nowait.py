"""AsyncClient.input(wait=False): typed at once without waiting for the reply (the daemon
answers only a failure); the failure is raised by the next input call."""

from __future__ import annotations

import asyncio

import pytest

from ptyd.client import AsyncClient, Client, NoSuchSession
from tests.conftest import DaemonProcess, wait_for_output


def test_input_without_waiting_is_typed_in_order(client: Client, daemon: DaemonProcess) -> None:
    client.spawn(["cat"], name="c")

    async def main() -> None:
        async with AsyncClient(daemon.dir) as c:
            for word in (b"one ", b"two ", b"three\r"):
                assert await c.input("c", word, wait=False) is None
            reply = await c.input("c", b"four\r")  # waiting again, as before
            assert reply["bytes"] == 5

    asyncio.run(main())
    wait_for_output(client, "c", "one two three\r\nfour")


def test_a_failure_is_raised_by_the_next_input(client: Client, daemon: DaemonProcess) -> None:
    client.spawn(["cat"], name="c")

    async def main() -> None:
        async with AsyncClient(daemon.dir) as c:
            assert await c.input("gone", b"x", wait=False) is None
            await c.hello()  # answered after the input's error: that error is in by now
            with pytest.raises(NoSuchSession):
                await c.input("c", b"never\r")
            await c.input("c", b"typed\r")  # raised once, then input goes on

    asyncio.run(main())
    text = wait_for_output(client, "c", "typed")
    assert "never" not in text
