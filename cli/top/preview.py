"""The selected session's screen, kept current: its output topic wakes a re-read (the screen
is rebuilt incrementally by the client's ScreenView), at most every PREVIEW_MIN_S."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from ptyd.client import PtydError
from ptyd.client.screen import ScreenView

from .daemons import DaemonView

PREVIEW_MIN_S = 0.05
"""A session writing all the time refreshes its preview at most 20 times a second."""


class Preview:
    def __init__(self, views: list[DaemonView], changed: Callable[[], None],
                 run: Callable[[Awaitable[Any]], None]):
        self.views = views
        self._changed = changed
        self._run = run
        self.lines: list[str] = []
        self.key: tuple[str, str] | None = None
        self._screen: ScreenView | None = None
        self._busy = False
        self._again = False

    def follow(self, key: tuple[str, str] | None) -> None:
        """Show this session (daemon, name) from now on; None: nothing."""
        if key == self.key:
            return
        view = next((v for v in self.views if key and v.target.name == key[0]), None)
        for v in self.views:
            v.preview(key[1] if key and v is view else None)
        self.key, self.lines, self._screen = key, [], None
        if key is not None and view is not None and view.client is not None:
            self._screen = ScreenView(view.client, key[1])
            self.refresh()

    def output(self, daemon: str, session: str) -> None:
        if (daemon, session) == self.key:
            self.refresh()

    def refresh(self) -> None:
        if self._busy:
            self._again = True
            return
        self._busy = True
        self._run(self._update())

    async def _update(self) -> None:
        try:
            while True:
                self._again = False
                screen, key = self._screen, self.key
                if screen is None:
                    return
                with contextlib.suppress(PtydError):
                    lines = await screen.lines()
                    if key == self.key:
                        self.lines = lines
                        self._changed()
                if not self._again:
                    return
                await asyncio.sleep(PREVIEW_MIN_S)
        finally:
            self._busy = False
