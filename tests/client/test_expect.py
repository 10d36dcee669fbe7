"""expect(): patterns on the live output, escapes removed, pexpect's EOF and TIMEOUT."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from ptyd.client import EOF, TIMEOUT, AsyncClient, Client, ExpectTimeout
from ptyd.client._expect import ExpectBuffer
from tests.conftest import PYTHON, DaemonProcess, agent, slack


def printf(text: str) -> list[str]:
    """argv of a program that writes `text` (Python escapes allowed) and waits for a line."""
    return [PYTHON, "-c", f"import sys; sys.stdout.write({text!r}); sys.stdout.flush(); input()"]


def test_returns_the_index_the_match_and_the_text_before(client: Client) -> None:
    s = client.spawn(agent("prompt"), name="a1")
    s.expect("ready> ", timeout=10)
    s.send_line("size")
    m = s.expect([r"winch", r"size=(\d+)x(\d+)"], timeout=10)
    assert m.index == 1 and m.group(1, 2) == ("80", "24") and m.after == "size=80x24"
    assert m.before == "size\r\n"  # the echo of what was typed, line endings as sent
    assert isinstance(m.match, re.Match) and m.pattern.pattern == r"size=(\d+)x(\d+)"


def test_what_a_match_consumed_is_not_matched_again(client: Client) -> None:
    s = client.spawn(agent("prompt"), name="a1")
    s.expect("ready> ", timeout=10)
    s.send_line("one")
    s.expect("echo: one", timeout=10)
    s.send_line("two")
    assert s.expect(r"echo: \w+", timeout=10).after == "echo: two"


def test_the_earliest_match_wins_and_a_tie_goes_to_the_first_pattern(client: Client) -> None:
    s = client.spawn(printf("alpha beta gamma\n"), name="a1")
    assert s.expect(["gamma", "beta", "alpha beta"], timeout=10).index == 2
    assert s.expect(["ga", "gam"], timeout=10).index == 0


def test_matching_sees_text_without_escape_sequences(client: Client) -> None:
    # Colour inside a word and a word split by a cursor-forward move, as Claude Code draws.
    s = client.spawn(printf("\x1b[1mNot\x1b[1Clo\x1b[32mgged\x1b[0m in\x1b]0;t\x07!\n"), name="a1")
    assert s.expect("Not logged in!", timeout=10).before == ""


def test_expect_exact_takes_literal_text(client: Client) -> None:
    s = client.spawn(printf("Continue? [y/n] (1+1)\n"), name="a1")
    assert s.expect_exact(["[y/n] (1+1)"], timeout=10).before == "Continue? "


def test_eof_raises_or_matches_when_listed(client: Client) -> None:
    s = client.spawn(agent("exit_with", "0"), name="a1")
    with pytest.raises(EOF) as caught:
        s.expect("never", timeout=10)
    assert "exiting with 0" in caught.value.before
    s2 = client.spawn(agent("exit_with", "4"), name="a2")
    m = s2.expect(["never", EOF], timeout=10)
    assert m.index == 1 and m.match is None and "exiting with 4" in m.before
    assert s2.expect([EOF], timeout=1).before == ""  # the rest was consumed


def test_timeout_raises_or_matches_when_listed_and_consumes_nothing(client: Client) -> None:
    s = client.spawn(agent("prompt"), name="a1")
    started = time.monotonic()
    with pytest.raises(ExpectTimeout) as caught:
        s.expect("never", timeout=0.5)
    assert 0.5 <= time.monotonic() - started < slack(5)
    assert caught.value.before in ("", "ready> ")
    m = s.expect(["never", TIMEOUT], timeout=0.3)
    assert m.index == 1 and m.match is None
    assert s.expect("ready> ", timeout=5).before == ""  # still there after the timeouts


def test_a_match_across_chunks_of_a_long_stream_is_found(client: Client) -> None:
    # 1 MB in many chunks; the pattern spans whatever boundaries the tty chose.
    s = client.spawn(agent("printer", "1000000", "--then-wait"), name="a1")
    m = s.expect(r"line 00019000 (\w+)", timeout=30)
    assert m.group(1) == "abcdefghijklmnopqrstuvwxyz0123456789"
    s.expect("done", timeout=30)
    s.send_line("")
    s.expect(EOF, timeout=10)


def test_patterns_must_be_text(client: Client) -> None:
    s = client.spawn(agent("prompt"), name="a1")
    with pytest.raises(TypeError):
        s.expect(re.compile(b"ready"), timeout=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        s.expect([], timeout=1)


def test_one_expect_at_a_time_per_handle(daemon: DaemonProcess) -> None:
    async def main() -> None:
        async with AsyncClient(daemon.dir) as c:
            s = await c.spawn(agent("prompt"), name="a1")
            first = asyncio.ensure_future(s.expect("never", timeout=5))
            await asyncio.sleep(0)
            with pytest.raises(RuntimeError, match="another expect"):
                await s.expect("ready", timeout=1)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            assert (await s.expect("ready> ", timeout=5)).before == ""

    asyncio.run(main())


def test_expect_on_the_fake_claude_tui(client: Client, fake_claude: object, project: object,
                                       claude_env: dict[str, str]) -> None:
    s = client.spawn([str(fake_claude)], name="c", cwd=str(project), env=claude_env)
    s.expect("for shortcuts", timeout=10)
    s.send_line("please ask for permission")
    s.expect(r"Do you want to proceed\?", timeout=10)
    s.send_keys("1")
    assert s.expect([r"Permission denied", r"Done: (.*)\r\n"], timeout=10).group(1) == \
        "permission granted."
    s.send_line("/exit")
    assert s.expect([r"claude --resume ([0-9a-f-]{36})", EOF], timeout=10).index == 0


def test_the_buffer_resumes_a_search_without_missing_a_match_across_appends() -> None:
    buffer = ExpectBuffer(max_chars=80)
    literal, spanning = [re.compile("marker")], [re.compile(r"start.*end", re.S)]
    buffer.append("start " + "x" * 40 + " mar")
    assert buffer.search(literal) is None and buffer.search(spanning) is None
    resume = buffer.end
    buffer.append("ker and the end")
    found = buffer.search(literal, resume=resume)
    assert found is not None and found[1].group(0) == "marker"
    found = buffer.search(spanning, resume=resume)  # unbounded: the whole buffer is searched
    assert found is not None and found[1].start() == 0
    assert buffer.consume(found[1].end()).endswith("the end") and buffer.text == ""
    buffer.append("y" * 100)  # more than it keeps: the oldest text goes
    assert buffer.text == "y" * 80 and buffer.end == buffer.dropped + 80
