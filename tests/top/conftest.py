"""`ptyd top` in a real terminal: a private tmux server whose pane runs the overview."""

from __future__ import annotations

import shlex
from pathlib import Path

from tests.attach.conftest import Tmux, tmux
from tests.conftest import PYTHON, DaemonProcess

__all__ = ["Tmux", "tmux", "top_command"]


def top_command(daemon: DaemonProcess, tmp_path: Path, *options: str, remotes: str = "") -> str:
    """Shell command for a pane: the overview, then its exit code and the terminal's mode (the
    pane stays, so a test can see what the shell got back)."""
    config = tmp_path / "remotes.toml"
    config.write_text(remotes)
    argv = [PYTHON, "-m", "ptyd", "--dir", str(daemon.dir), "top", "--remotes", str(config),
            *options]
    return (f"echo before-top; {shlex.join(argv)}; echo \"[rc=$?]\"; "
            "stty -a | grep -o -- '-\\?icanon' ; sleep 60")
