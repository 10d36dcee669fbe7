"""ScreenState from the screen emulator (pure: bytes fed to the feeder, no daemon)."""

from __future__ import annotations

from ptyd.client._screen import _Feeder


def state_after(data: bytes, cols: int = 20, rows: int = 3):  # type: ignore[no-untyped-def]
    feeder = _Feeder(cols, rows)
    feeder.feed(data)
    return feeder.state()


def test_styled_rows_keep_each_kind_of_colour_and_attribute() -> None:
    state = state_after(b"\x1b[1;4;31mA\x1b[0m\x1b[38;5;200mB\x1b[48;2;1;2;3mC\x1b[0m"
                        b"\x1b[105mD\x1b[0m\xe4\xb8\xadE   ")
    assert state.lines[0] == "ABCD\u4e2dE"
    assert state.styled[0] == ("\x1b[0;1;4;31mA\x1b[0;38;5;200mB\x1b[0;38;5;200;48;2;1;2;3mC"
                               "\x1b[0;105mD\x1b[0m\u4e2dE")
    assert state.styled[1] == ""


def test_a_reverse_video_blank_is_kept_at_the_end_of_a_row() -> None:
    assert state_after(b"x\x1b[7m \x1b[0m").styled[0] == "x\x1b[0;7m \x1b[0m"


def test_title_cursor_and_alternate_screen() -> None:
    state = state_after(b"main\x1b[?1049h\x1b]2;in vim\x07\x1b[?25l\x1b[2;3Hvi")
    assert state.alternate and state.title == "in vim" and not state.cursor_visible
    assert (state.cursor_row, state.cursor_col) == (1, 4)
    assert state.as_json()["cursor"] == {"row": 1, "col": 4, "visible": False}
    back = _Feeder(20, 3)
    back.feed(b"main\x1b[?1049h\x1b]0;in vim\x07\x1b[?1049l")
    left = back.state()
    assert not left.alternate and left.lines[0] == "main" and left.title == "in vim"
    hidden = _Feeder(20, 3)
    hidden.feed(b"\x1b[?1049h\x1b[?25l\x1b[?1049l")  # the cursor is the terminal's, not a screen's
    assert not hidden.state().cursor_visible
