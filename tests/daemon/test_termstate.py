"""The terminal-state tracker sees every byte a program writes: whatever those bytes are, split
however the reads fall, it must never raise (it runs inside the daemon's output reader)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ptyd.client._text import LineCooker, strip_ansi
from ptyd.daemon.termstate import TermState

# Fragments that look like the sequences the tracker parses, plus raw noise and long digit runs.
fragments = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"\x1b", b"\x1b[", b"\x1b[?", b"\x1b]0;", b"\x1b]2;", b"\x07", b"\x1b\\",
                     b"h", b"l", b";", b"\x1b[2J", b"\x1bc", b"\x1b=", b"\x1b>", b"\x1b[?1049h"]),
    st.integers(1, 9000).map(lambda n: b"9" * n),
    st.integers(1, 9000).map(lambda n: b"\x1b[?" + b"7" * n + b"h"),
)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(fragments, max_size=30))
def test_any_output_split_anyhow_never_raises(parts: list[bytes]) -> None:
    state, offset = TermState(), 0
    for part in parts:
        state.feed(part, offset)
        offset += len(part)
    state.preamble()
    state.describe()
    assert state.replay_start(0, offset, 4096) >= 0


def test_a_private_mode_of_thousands_of_digits_is_ignored() -> None:
    state = TermState()
    state.feed(b"\x1b[?" + b"9" * 5000 + b";2004h text", 0)
    assert state.modes == {2004: True}
    state.feed(b"\x1b[?" + b"1" * 300, 100)  # split: carried, then completed
    state.feed(b"1" * 5000 + b"h", 400)
    assert state.modes == {2004: True}


def test_client_text_cooking_survives_huge_csi_counts() -> None:
    """The client's line cooker moves its cursor by CSI counts: a count of thousands of digits
    (int() raises) or of 99999999 (a hundred million rows) is clamped."""
    cooker = LineCooker()
    data = (b"a\x1b[" + b"9" * 5000 + b"Bb\x1b[99999999Bc\x1b[1;" + b"7" * 5000 + b"Hd\n")
    text = "".join(cooker.feed(data))
    assert "d" in text + "".join(cooker.flush())
    assert strip_ansi(data).startswith("a")


def test_client_screen_emulator_survives_huge_csi_numbers() -> None:
    """pyte (the client's screen()) runs int() on CSI parameters: thousands of digits must not
    reach it."""
    from ptyd.client._screen import _Feeder

    feeder = _Feeder(40, 5)
    feeder.feed(b"top\r\n\x1b[" + b"9" * 5000 + b"Abelow\x1b[1;" + b"3" * 5000 + b"Hx")
    assert any("below" in line for line in feeder.lines())
