"""`ptyd top` in a real terminal (tests/tmuxterm.py): a private tmux server whose pane runs the
overview."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import DaemonProcess
from tests.tmuxterm import SHOW_MODE, Tmux, pane_command, ptyd_argv, tmux

__all__ = ["Tmux", "tmux", "top_command"]


def top_command(daemon: DaemonProcess, tmp_path: Path, *options: str, remotes: str = "") -> str:
    """Shell command for a pane: the overview, then its exit code and the terminal's mode (the
    pane stays, so a test can see what the shell got back)."""
    config = tmp_path / "remotes.toml"
    config.write_text(remotes)
    argv = ptyd_argv(daemon, "top", "--remotes", str(config), *options)
    return pane_command(argv, before="echo before-top", after=f"{SHOW_MODE} ; sleep 60")
