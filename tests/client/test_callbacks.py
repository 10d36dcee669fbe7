"""Output callbacks (raw chunks and lines) and wait_until_quiet()."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from ptyd.client import AsyncClient, Client, ClientClosed, ExpectTimeout, Lost, PtydError
from ptyd.proto import pubsub
from tests.agents.printer import payload
from tests.conftest import PYTHON, DaemonProcess, agent, load_factor, slack, wait_until


def test_output_callbacks_get_every_byte_once_in_order(client: Client) -> None:
    s = client.spawn(agent("printer", "300000", "--then-wait"), name="p")
    chunks: list[pubsub.OutputChunk | Lost] = []
    s.on_output(chunks.append)
    s.expect("done", timeout=30)
    wait_until(lambda: len(b"".join(c.data for c in chunks if not isinstance(c, Lost)))
               >= s.info()["end"])
    data = b"".join(c.data for c in chunks if not isinstance(c, Lost))
    assert data == bytes(s.read(0, max_bytes=4 << 20)["data"])
    assert data.startswith(payload(300000).replace(b"\n", b"\r\n")[:100000])
    offsets = [c.offset for c in chunks if not isinstance(c, Lost)]
    assert offsets == sorted(offsets) and offsets[0] == 0


def test_line_callbacks_get_every_line_once_in_order_in_their_own_thread(
        client: Client) -> None:
    s = client.spawn(agent("printer", "200000", "--then-wait"), name="p")
    lines: list[str] = []
    threads: set[str] = set()

    def on_line(line: str) -> None:
        lines.append(line)
        threads.add(threading.current_thread().name)

    s.on_line(on_line)
    expected = payload(200000).decode().split("\n")[:-1]  # the last one is cut off by "done"
    wait_until(lambda: len(lines) > len(expected), timeout=30)
    assert lines[:len(expected)] == expected
    assert lines[len(expected)].endswith("done")
    assert threads == {"ptyd-callbacks-p"}


def test_a_blocking_callback_may_use_the_blocking_api(client: Client) -> None:
    s = client.spawn(agent("prompt"), name="a1")
    answered = threading.Event()

    def on_line(line: str) -> None:
        if line == "echo: ping":
            s.send_line("exit 9")  # answer a prompt from the callback
            answered.set()

    s.on_line(on_line)
    s.expect("ready> ", timeout=10)
    s.send_line("ping")
    assert answered.wait(10) and s.wait(10)["exit_code"] == 9


def test_unregistered_and_failing_callbacks_do_not_stop_the_others(client: Client) -> None:
    s = client.spawn(agent("prompt"), name="a1")
    seen: list[str] = []
    removed: list[str] = []

    def broken(line: str) -> None:
        raise RuntimeError("a bug in a callback")

    s.on_line(broken)
    remove = s.on_line(removed.append)
    s.on_line(seen.append)
    remove()
    s.expect("ready> ", timeout=10)
    s.send_line("one")
    # The next line only once the prompt is back: typed earlier, the terminal's echo of it
    # would land in the middle of the agent's answer.
    s.expect_exact("echo: one\r\nready> ", timeout=10)
    s.send_line("exit 0")
    assert s.wait(10)["exit_code"] == 0
    wait_until(lambda: "bye" in seen)
    assert seen[-3:] == ["echo: one", "ready> exit 0", "bye"]
    assert "bye" not in removed


def test_async_callbacks_may_be_coroutines(daemon: DaemonProcess) -> None:
    async def main() -> list[str]:
        async with AsyncClient(daemon.dir) as c:
            s = await c.spawn(agent("exit_with", "0"), name="a1")
            lines: list[str] = []

            async def on_line(line: str) -> None:
                await asyncio.sleep(0)
                lines.append(line)

            s.on_line(on_line)
            await s.wait(10)
            await s.expect(EOF_PATTERN, timeout=10)
            return lines

    from ptyd.client import EOF as EOF_PATTERN
    assert asyncio.run(main()) == ["exiting with 0"]


def test_wait_until_quiet(client: Client) -> None:
    s = client.spawn(agent("prompt"), name="a1")
    started = time.monotonic()
    assert s.wait_until_quiet(0.3, timeout=10) is True
    assert time.monotonic() - started >= 0.3
    s.send_line("exit 0")
    assert s.wait_until_quiet(30, timeout=10) is False  # the output ended first


def test_wait_until_quiet_times_out_on_a_chatty_program(client: Client) -> None:
    script = "import time\nwhile True:\n    print('tick', flush=True)\n    time.sleep(0.05)"
    s = client.spawn([PYTHON, "-c", script], name="chatty")
    s.expect_exact("tick", timeout=10)  # the quiet clock starts now, not at Python's start-up
    quiet = 1.0 * load_factor()  # ticks come every 50 ms, but a loaded machine may pause one
    started = time.monotonic()
    with pytest.raises(ExpectTimeout):
        s.wait_until_quiet(quiet, timeout=2 * quiet)
    assert 2 * quiet - 0.1 <= time.monotonic() - started < slack(8)
    s.kill()


def test_stderr_callbacks_and_the_end_come_in_order_in_one_thread(client: Client) -> None:
    script = ("import sys\nfor i in range(3):\n    print(f'out {i}', flush=True)\n"
              "    print(f'err {i}', file=sys.stderr, flush=True)\n")
    s = client.spawn([PYTHON, "-c", script], name="e", stderr="pipe")
    events: list[tuple[str, bytes]] = []
    ended = threading.Event()
    s.on_output(lambda c: events.append(("out", getattr(c, "data", b""))),
                on_end=lambda: events.append(("out", b"END")))
    s.on_output(lambda c: events.append(("err", getattr(c, "data", b""))), stream="stderr",
                on_end=lambda: (events.append(("err", b"END")), ended.set()))
    assert ended.wait(20)
    wait_until(lambda: ("out", b"END") in events)
    out = b"".join(d for k, d in events if k == "out")
    err = b"".join(d for k, d in events if k == "err")
    assert out == b"out 0\r\nout 1\r\nout 2\r\nEND" and err == b"err 0\nerr 1\nerr 2\nEND"
    wait_until(lambda: not any(t.name == "ptyd-callbacks-e" for t in threading.enumerate()))


def test_a_call_from_a_callback_thread_ends_when_its_client_closes(daemon: DaemonProcess
                                                                    ) -> None:
    """A callback blocked in a Client call (here a wait for an exit that never comes) must not
    strand its thread when the Client closes: the call fails with ClientClosed."""
    client = Client(daemon.dir)
    s = client.spawn(agent("printer", "10", "--then-wait"), name="p")
    calling, outcome = threading.Event(), []

    def on_chunk(item: pubsub.OutputChunk | Lost) -> None:
        if calling.is_set():
            return
        calling.set()
        try:
            client.wait("p", None)
            outcome.append("returned")
        except PtydError as e:
            outcome.append(type(e).__name__)

    s.on_output(on_chunk)
    wait_until(calling.is_set)
    callback_thread = next(t for t in threading.enumerate() if t.name == "ptyd-callbacks-p")
    client.close()
    wait_until(lambda: not callback_thread.is_alive())
    assert outcome and outcome[0] != "returned"
    with pytest.raises(ClientClosed):
        client.info("p")
    with Client(daemon.dir) as c:
        c.kill("p")
