"""screen(): the terminal as a person sees it, from a bounded tail of the output."""

from __future__ import annotations

import time
from pathlib import Path

import pyte
from hypothesis import given, settings
from hypothesis import strategies as st

from ptyd.client import Client
from ptyd.client._screen import _Feeder
from tests.conftest import PYTHON, agent, slack


def full_feed(c: Client, name: str) -> list[str]:
    """The reference: every byte the session wrote, through one emulator."""
    info = c.info(name)
    data = bytes(c.read(name, 0, max_bytes=4 << 20)["data"])
    feeder = _Feeder(info["cols"], info["rows"])
    feeder.feed(data)
    return feeder.lines()


def test_a_prompt_session_shows_its_lines(client: Client) -> None:
    s = client.spawn(agent("prompt"), name="a1", cols=40, rows=5)
    s.expect("ready> ", timeout=10)
    s.send_line("hello")
    s.expect(r"echo: hello\r\nready> ", timeout=10)
    assert s.screen() == ["ready> hello", "echo: hello", "ready>", "", ""]
    s.send_line("again")  # fed on demand: only what came since the last call
    s.expect(r"echo: again\r\nready> ", timeout=10)
    assert s.screen() == ["ready> hello", "echo: hello", "ready> again", "echo: again", "ready>"]


def test_the_alternate_screen_and_back(client: Client) -> None:
    s = client.spawn(agent("fullscreen"), name="fs", cols=30, rows=6)
    s.expect("redraw 0", timeout=10)
    screen = s.screen()
    assert screen[0] == "+" + "-" * 28 + "+" and "size 30x6 redraw 0" in screen[1]
    s.send("q")
    s.expect("fullscreen done", timeout=10)
    screen = s.screen()
    assert "fullscreen done" in screen and not any("redraw" in row for row in screen)


def test_sequences_pyte_misreads_are_dropped(client: Client) -> None:
    script = ("import sys; sys.stdout.write('a\\x1b[<ub\\x1b[>4;2mc\\x1b[>1ud\\r\\n'); "
              "sys.stdout.flush(); input()")
    s = client.spawn([PYTHON, "-c", script], name="a1", cols=20, rows=3)
    s.expect("abcd", timeout=10)
    assert s.screen()[0] == "abcd"
    assert pyte.Screen(20, 3).buffer[0][0].underscore is False


def test_the_fake_claude_tui_matches_a_full_replay_after_turns_and_a_resize(
        client: Client, fake_claude: Path, project: Path, claude_env: dict[str, str]) -> None:
    s = client.spawn([str(fake_claude)], name="c", cwd=str(project), env=claude_env,
                     cols=60, rows=16)
    s.expect("for shortcuts", timeout=10)
    for prompt, reply in (("hello there", "Fake reply to: hello there"),
                          ("lines 12", "line 12 of 12"), ("one more", "Fake reply to: one more")):
        s.send_line(prompt)
        s.expect_exact(reply, timeout=10)
    s.wait_until_quiet(0.2, timeout=10)
    screen = s.screen()
    assert screen == full_feed(client, "c")
    assert screen[-4].startswith("─" * 50) and screen[-3].startswith("\u276f")
    assert "⏺ Fake reply to: one more" in screen
    s.resize(50, 12)
    s.expect(r"(?<!─)─{49}(?!─)", timeout=10)  # a rule of the new width: the repaint
    s.wait_until_quiet(0.2, timeout=10)
    screen = s.screen()
    assert len(screen) == 12 and screen == full_feed(client, "c")
    assert "⏺ Fake reply to: one more" in screen


def test_a_long_output_is_shown_from_a_bounded_tail_quickly(client: Client) -> None:
    s = client.spawn(agent("printer", "3000000", "--then-wait"), name="p", cols=80, rows=10,
                     scrollback_bytes=8 << 20)
    s.expect("done", timeout=60)
    started = time.monotonic()
    screen = s.screen()
    assert time.monotonic() - started < slack(5)
    # The payload ends in the middle of a line, then the printer says "done".
    assert screen == [f"line {n:08d} abcdefghijklmnopqrstuvwxyz0123456789"
                      for n in range(58815, 58823)] + ["line 00058823 abcdefghijklmdone", ""]


# What vim, less and others send that pyte does not know; each once made screen() raise.
UNKNOWN_TO_PYTE = [b"\x1b[?4m", b"\x1b[>4;2m", b"\x1b[?5A", b"\x1b[?" + b"9" * 5000 + b"h",
                   b"\x1b[" + b"1" * 5000 + b"m", b"\x1b[=5u", b"\x1b[?1;2$p", b"\x1b[<u",
                   b"\x1bP+q544e\x1b\\", b"\x1b]8;;http://example.invalid\x1b\\"]


def test_sequences_pyte_does_not_know_never_break_the_screen() -> None:
    feeder = _Feeder(20, 3)
    for sequence in UNKNOWN_TO_PYTE:
        feeder.feed(sequence)
    feeder.feed(b"still here")
    assert feeder.lines()[0] == "still here"


_ESCAPE_ALPHABET = st.sampled_from([b"\x1b", b"[", b"]", b"?", b">", b"<", b"=", b";", b"P",
                                    b"\\", b"\x07", b"0", b"1", b"9", b"m", b"h", b"l", b"J",
                                    b"K", b"H", b"r", b"u", b"$", b"p", b"q", b" ", b"\r",
                                    b"\n", b"\x08", b"\t", b"x", "\u276f".encode()])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_ESCAPE_ALPHABET, st.binary(max_size=8)), max_size=200),
       st.sampled_from(UNKNOWN_TO_PYTE))
def test_random_escape_streams_never_break_the_screen(parts: list[bytes], bad: bytes) -> None:
    feeder = _Feeder(30, 4)
    feeder.feed(b"".join(parts) + bad)
    # Whatever string or mode the garbage left open, end it and reset: it draws as usual again.
    feeder.feed(b"\x07\x1b\\\x1b[0m\x1b[?1049l\x1bc" + b"after")
    assert feeder.lines()[0] == "after"
