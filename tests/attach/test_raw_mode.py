"""Raw mode and its restore, written once (attach.terminal.RawMode) for `ptyd attach` and
`ptyd top`, on a real pseudo-terminal."""

from __future__ import annotations

import ast
import os
import pty
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptyd.attach.terminal import RawMode

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tty_fd() -> Iterator[int]:
    leader, follower = pty.openpty()
    yield follower
    os.close(follower)
    os.close(leader)


def line_discipline(fd: int) -> list[object]:
    return termios.tcgetattr(fd)


def test_raw_mode_is_undone_exactly(tty_fd: int) -> None:
    cooked = line_discipline(tty_fd)
    raw = RawMode(tty_fd)
    raw.enter()
    lflag = line_discipline(tty_fd)[3]
    assert isinstance(lflag, int) and not lflag & (termios.ECHO | termios.ICANON | termios.ISIG)
    raw.restore()
    assert line_discipline(tty_fd) == cooked
    raw.restore()  # twice: nothing left to do
    assert line_discipline(tty_fd) == cooked


def test_a_lent_terminal_goes_back_to_the_mode_first_found(tty_fd: int) -> None:
    """ptyd top lends the terminal to an attach and takes it back: entering raw again must not
    save raw mode as the mode to restore at the end."""
    cooked = line_discipline(tty_fd)
    raw = RawMode(tty_fd)
    raw.enter()
    raw.restore(keep=True)
    assert line_discipline(tty_fd) == cooked
    raw.enter()
    raw.restore()
    assert line_discipline(tty_fd) == cooked


def test_ptyd_top_has_no_raw_mode_of_its_own() -> None:
    tree = ast.parse((ROOT / "cli/top/terminal.py").read_text())
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names}
    assert not {"termios", "tty"} & modules
