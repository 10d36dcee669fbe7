"""Session handles: what spawn() returns, session(name), writing text and keys, control."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

import ptyd.client
from ptyd.client import (
    AsyncClient,
    AsyncSession,
    Client,
    NoSuchSession,
    Session,
    SessionExited,
)
from tests.conftest import DaemonProcess, agent, wait_until


def test_spawn_returns_a_handle_that_is_also_the_spawn_info(client: Client) -> None:
    s = client.spawn(agent("prompt"), name="a1")
    assert isinstance(s, Session) and isinstance(s, dict)
    assert s.name == "a1" and s["name"] == "a1" and s["pid"] > 0 and "epoch" in s
    assert s == dict(s)  # compares as the info dict spawn() used to return
    assert json.loads(json.dumps(s))["name"] == "a1"
    assert {s: 1}[s] == 1 and s != client.session("a1")  # handles are objects with identity
    assert repr(s) == f"<Session 'a1' pid={s['pid']}>"
    s.expect("ready> ", timeout=10)
    s.kill()


def test_info_is_fresh_while_the_handle_keeps_its_spawn_info(client: Client) -> None:
    s = client.spawn(agent("prompt"), name="a1")
    s.expect("ready> ", timeout=10)
    assert s["end"] == 0 and s.info()["end"] > 0


def test_session_by_name_reads_from_now_on_unless_told_otherwise(client: Client) -> None:
    client.spawn(agent("prompt"), name="a1").expect("ready> ", timeout=10)
    later = client.session("a1")
    assert later.start == later.info()["end"] > 0
    later.send_line("one")
    match = later.expect(r"echo: (\w+)", timeout=10)
    assert match.group(1) == "one" and "ready>" not in match.before  # not the old prompt
    everything = client.session("a1", start=0)
    assert everything.expect("ready> ", timeout=10).before == ""


def test_session_of_an_unknown_name_is_no_such_session(client: Client) -> None:
    with pytest.raises(NoSuchSession):
        client.session("nope")


def test_send_line_sends_text_and_enter_apart_so_claude_does_not_take_a_paste(
        client: Client, fake_claude: Path, project: Path, claude_env: dict[str, str]) -> None:
    # The fake, like the real CLI, absorbs an Enter that arrives in one read with > 40 chars.
    s = client.spawn([str(fake_claude)], name="c", cwd=str(project), env=claude_env,
                     cols=120, rows=30)
    s.expect("for shortcuts", timeout=10)
    prompt = "a prompt long enough to be read as a paste if sent with its Enter"
    s.send_line(prompt)
    s.expect("Fake reply to: " + prompt, timeout=10)
    s.send(prompt + "\r")  # the mistake: one write
    s.expect(prompt, timeout=10)
    assert "Fake reply" not in "".join(s.screen()[-6:])
    s.send_keys("C-u", "C-c", "C-c")
    assert s.wait(10)["exit_code"] == 0


def test_send_keys_names_keys_and_refuses_unknown_ones_before_sending_anything(
        client: Client) -> None:
    s = client.spawn(agent("prompt"), name="a1")
    s.expect("ready> ", timeout=10)
    with pytest.raises(ValueError, match="unknown key 'Entre'"):
        s.send_keys("x", "Entre")
    s.send("exit 5")
    s.send_keys("BSpace", "7", "Enter")  # the tty's line editing: "exit 5" -> "exit 7"
    assert s.wait(10)["exit_code"] == 7


def test_control_through_the_handle(client: Client) -> None:
    s = client.spawn(agent("prompt"), name="a1", cols=80, rows=24)
    s.expect("ready> ", timeout=10)
    s.resize(100, 30)
    s.expect("winch 100x30", timeout=10)
    s.signal("INT")
    result = s.wait(10)
    assert result["exited"] and result["exit_code"] != 0
    with pytest.raises(SessionExited):
        s.send("late")
    assert s.read(0)["data"].startswith(b"ready> ")
    s.remove()
    with pytest.raises(NoSuchSession):
        s.info()


def test_wait_until_a_state_answers_when_the_session_gets_there(client: Client) -> None:
    # A program without hooks: working while it prints, idle after `idle_after` of silence.
    s = client.spawn(agent("prompt"), name="a1", idle_after=0.2)
    reached = s.wait(10, until="idle")
    assert reached["reached"] and reached["state"] == "idle" and not reached["exited"]
    s.send_line("hello")
    assert s.wait(10, until=["working", "waiting"])["state"] == "working"
    assert s.wait(10, until="idle")["state"] == "idle"
    s.send_line("exit 0")
    gone = s.wait(10, until="waiting")  # never waiting: the exit answers
    assert gone["exited"] and gone["state"] == "exited"


def test_a_separate_stderr_is_read_and_streamed_apart(client: Client) -> None:
    script = "import sys; print('to out'); print('to err', file=sys.stderr); input()"
    s = client.spawn([agent("prompt")[0], "-c", script], name="e", stderr="pipe")
    s.expect("to out", timeout=10)
    assert wait_until(lambda: s.read(0, stream="stderr")["data"] == b"to err\n")
    chunks: list[bytes] = []
    for chunk in s.output(0, stream="stderr"):
        assert not isinstance(chunk, ptyd.client.Lost)
        chunks.append(chunk.data)
        if b"".join(chunks) == b"to err\n":
            s.send_line("")
    assert b"".join(chunks) == b"to err\n" and s.wait(10)["exited"]
    assert b"to err" not in s.read(0)["data"]


def test_blocking_handles_are_safe_from_many_threads(client: Client) -> None:
    names = [f"t{i}" for i in range(8)]
    errors: list[BaseException] = []

    def drive(name: str) -> None:
        try:
            s = client.spawn(agent("prompt"), name=name)
            s.expect("ready> ", timeout=20)
            s.send_line(f"hi {name}")
            s.expect(f"echo: hi {name}", timeout=20)
            s.send_line("exit 0")
            assert s.wait(20)["exit_code"] == 0
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=drive, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and not any(t.is_alive() for t in threads)


def test_the_async_handle_is_the_same_api_as_coroutines(daemon: DaemonProcess) -> None:
    async def main() -> None:
        async with AsyncClient(daemon.dir) as c:
            s = await c.spawn(agent("prompt"), name="a1")
            assert isinstance(s, AsyncSession) and s["name"] == "a1"
            await s.expect("ready> ", timeout=10)
            await s.send_line("exit 3")
            await s.expect(ptyd.client.EOF, timeout=10)
            assert (await s.wait(10))["exit_code"] == 3
            again = await c.session("a1", start=0)
            assert (await again.expect(r"exit \d", timeout=10)).after == "exit 3"

    asyncio.run(main())


def test_public_names_are_all_exported_and_sorted() -> None:
    exported = set(ptyd.client.__all__)
    public = {name for name, value in vars(ptyd.client).items()
              if not name.startswith("_") and getattr(value, "__module__", "").startswith(
                  "ptyd.client")}
    assert public <= exported
    assert all(hasattr(ptyd.client, name) for name in exported)
    constants = [n for n in ptyd.client.__all__ if n.isupper()]
    rest = [n for n in ptyd.client.__all__ if not n.isupper()]
    assert ptyd.client.__all__ == sorted(constants) + sorted(rest, key=lambda n: (n[0].islower(), n))
