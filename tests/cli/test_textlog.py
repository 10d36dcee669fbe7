"""What `ptyd logs` leaves out when it writes into a person's terminal (pure: bytes in, out)."""

from __future__ import annotations

import io

from ptyd.textlog import TerminalLog, harmless


def test_queries_titles_mouse_focus_and_alternate_screen_are_left_out() -> None:
    old = (b"\x1b[c\x1b[6n\x1b]0;agent\x07\x1b[?1049h\x1b[?1000;1006h\x1b[?1004h"
           b"\x1b[?25l\x1b[1mhi\x1b[0m\x1b[?1;1000h")
    assert harmless(old) == b"\x1b[?25l\x1b[1mhi\x1b[0m\x1b[?1h"


def test_a_query_split_between_two_reads_is_still_left_out() -> None:
    out = io.BytesIO()
    log = TerminalLog(out)  # type: ignore[arg-type]
    log.write(b"before\x1b[")
    log.write(b"6nafter\r\n")
    log.end()
    written = out.getvalue()
    assert written.startswith(b"beforeafter\r\n") and b"\x1b[6n" not in written
    assert written.endswith(b"\x1b[?25h\x1b(B\x0f")  # cursor shown, ASCII characters


def test_the_shell_prompt_gets_a_line_of_its_own() -> None:
    out = io.BytesIO()
    log = TerminalLog(out)  # type: ignore[arg-type]
    log.write(b"ready> ")
    log.end()
    assert out.getvalue().endswith(b"\r\n")
