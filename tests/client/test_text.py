"""Terminal output as text: the stripper expect() matches against, the line cooker of lines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptyd.client import LineCooker, TextStripper, strip_ansi

COLOURED = b"\x1b[1;32mgreen\x1b[0m \x1b]0;title\x07plain\x1b[?25l\x1b(B!"


def test_strip_removes_escapes_and_keeps_line_endings() -> None:
    assert strip_ansi(COLOURED + b"\r\n") == "green plain!\r\n"


def test_strip_turns_cursor_moves_into_the_spaces_and_lines_a_reader_sees() -> None:
    # Claude Code splits words with cursor-forward moves; a move to another row is a new line.
    assert strip_ansi(b"Not\x1b[1Clogged\x1b[3Cin\x1b[2;1Hnext\x1b[Arow") == \
        "Not logged   in\nnext\nrow"


def test_strip_removes_invisible_controls_but_not_tabs() -> None:
    assert strip_ansi(b"a\x07b\x00c\td\x7f") == "abc\td"


def test_osc_ended_by_string_terminator_is_removed() -> None:
    assert strip_ansi(b"x\x1b]8;;http://e.x\x1b\\link\x1b]8;;\x1b\\y") == "xlinky"


@given(st.integers(min_value=1, max_value=len(COLOURED) - 1))
def test_an_escape_or_character_cut_in_two_is_carried_to_the_next_chunk(cut: int) -> None:
    data = COLOURED + "\u276f ünï".encode()
    stripper = TextStripper()
    text = stripper.feed(data[:cut]) + stripper.feed(data[cut:]) + stripper.flush()
    assert text == "green plain!\u276f ünï"


@given(st.lists(st.integers(min_value=0, max_value=60), max_size=6))
def test_any_chunking_gives_the_same_text(cuts: list[int]) -> None:
    data = b"\x1b[31mred\x1b[0m\r\n\x1b]0;t\x1b\\\xe2\x9d\xaf \x1b[2Cok\x1b[K\r\n" * 2
    points = sorted({min(c, len(data)) for c in cuts})
    stripper = TextStripper()
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert "".join(stripper.feed(p) for p in pieces) + stripper.flush() == strip_ansi(data)


def cook(*chunks: bytes, reach: int = 0) -> list[str]:
    cooker = LineCooker(reach)
    lines = [line for chunk in chunks for line in cooker.feed(chunk)]
    return lines + cooker.flush()


def test_lines_are_given_at_their_newline() -> None:
    cooker = LineCooker()
    assert cooker.feed(b"one\r\ntwo\r\nthr") == ["one", "two"]
    assert cooker.pending == ["thr"]
    assert cooker.feed(b"ee\r\n") == ["three"]
    assert cooker.flush() == []


def test_carriage_return_redraws_collapse_to_what_is_left_on_the_line() -> None:
    assert cook(b"10%\r 50%\r100%\r\n") == ["100%"]
    assert cook(b"downloading...\r\x1b[Kdone\r\n") == ["done"]
    assert cook(b"abcdef\rXY\r\n") == ["XYcdef"]


def test_backspace_and_erase_act_as_on_a_terminal() -> None:
    assert cook(b"helxo\x08\x08lo!\r\n") == ["hello!"]
    assert cook(b"abcdef\x1b[3D\x1b[K\r\n") == ["abc"]
    assert cook(b"abc\x1b[2K\rxyz\r\n") == ["xyz"]


def test_escapes_and_trailing_blanks_are_removed_blank_lines_kept() -> None:
    assert cook(b"\x1b[1mbold\x1b[0m   \r\n\r\nend") == ["bold", "", "end"]


def test_an_inline_redraw_shows_once_in_its_last_state() -> None:
    # A spinner and a prompt box redrawn in place (cursor up, erase below), then a result.
    frame = b"\x1b[A\r\x1b[J"  # up to the spinner row, erase it and the box
    data = [b"task started\r\n", b"| working\r\n[box]", frame + b"/ working\r\n[box]",
            frame + b"- working\r\n[box]", frame + b"result: ok\r\n", b"bye\r\n"]
    assert cook(*data) == ["task started", "| working", "result: ok", "bye"]
    # Knowing how far the program may reach up, even the first frame is right.
    assert cook(*data, reach=1) == ["task started", "result: ok", "bye"]


def test_a_row_out_of_reach_is_final_and_later_moves_do_not_change_it() -> None:
    cooker = LineCooker(reach=1)
    assert cooker.feed(b"a\r\nb\r\nc\r\n") == ["a", "b"]
    assert cooker.feed(b"\x1b[5Az\r\n") == []  # clamped to the oldest row still held
    assert cooker.flush() == ["z"]


def test_a_full_screen_clear_makes_everything_final() -> None:
    assert cook(b"one\r\ntwo", b"\x1b[H\x1b[2Jthree\r\n") == ["one", "two", "three"]


@pytest.mark.parametrize("cut", range(1, 12))
def test_lines_survive_any_cut(cut: int) -> None:
    data = "x\x1b[31m\u276f rot\x1b[0m\r\nzwei\r\n".encode()
    assert cook(data[:cut], data[cut:]) == ["x\u276f rot", "zwei"]
