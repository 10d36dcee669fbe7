"""The CLI tests' terminal: tmux (tests/tmuxterm.py) for the verbs judged on a screen."""

from __future__ import annotations

from tests.tmuxterm import tmux

__all__ = ["tmux"]
