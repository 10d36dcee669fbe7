"""A real terminal for attach tests (tests/tmuxterm.py): a private tmux server whose pane runs
`ptyd attach`, and pyte for what a fresh terminal would show."""

from __future__ import annotations

import pyte

from tests.conftest import DaemonProcess
from tests.tmuxterm import SHOW_MODE, Tmux, pane_command, ptyd_argv, tmux

__all__ = ["Tmux", "attach_command", "reference_screen", "tmux"]


def attach_command(daemon: DaemonProcess, name: str, *options: str) -> str:
    """Shell command for a pane: attach, then print the exit code and the terminal's mode (the
    pane stays)."""
    return pane_command(ptyd_argv(daemon, "attach", name, *options),
                        after=f"{SHOW_MODE} ; sleep 60")


def reference_screen(data: bytes, cols: int, rows: int) -> list[str]:
    """What a fresh terminal of this size that saw all of `data` shows (pyte)."""
    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    stream.feed(data)
    return [line.rstrip() for line in screen.display]
