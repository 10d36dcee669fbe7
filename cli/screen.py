"""`ptyd screen NAME`: the session's terminal as a person sees it now (client/_screen.py's
emulator, the one `Session.screen()` uses)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ptyd.client import ScreenState


def show_screen(state: ScreenState, args: argparse.Namespace) -> int:
    """Print `state` as the options ask: plain rows, styled rows (-e), or JSON."""
    if args.json:
        shown: dict[str, Any] = state.as_json()
        if args.escapes:
            shown["styled"] = state.styled
        json.dump(shown, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    rows = state.styled if args.escapes else state.lines
    sys.stdout.write("".join(row + "\n" for row in rows))  # every row, as tmux capture-pane -p
    return 0


def add_screen_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="session name")
    p.add_argument("-e", "--escapes", action="store_true",
                   help="keep colours and attributes (as SGR escape sequences)")
    p.add_argument("--json", action="store_true",
                   help="rows, cursor position and visibility, size, title and whether the "
                   "alternate screen is on, as JSON (with -e: the styled rows too)")
