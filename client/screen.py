"""A session's screen as a person sees it (a terminal emulator fed a bounded tail), for
overviews and tools built on this library."""

from ._screen import ScreenState, ScreenView

__all__ = ["ScreenState", "ScreenView"]
