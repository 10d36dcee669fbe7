"""screen(): what a person looking at a session's terminal sees now, as lines of text.

A pyte terminal emulator per session handle, made on the first `screen()` call and fed on
demand: each call reads only the output written since the previous one. pyte is slow (well
under 1 MB/s on scrolling text), so it is never fed more than a bounded tail:

- The first call, or one after more than REBUILD_AFTER_BYTES of new output, starts afresh.
  A session that wrote at most FULL_REPLAY_BYTES is replayed whole (exact). Otherwise the feed
  starts within the last TAIL_BYTES of scrollback at the latest of: the last switch to the
  alternate screen (if the program is on it now), the last full clear, or the point that
  leaves SCREEN_HEIGHTS_BACK screens' worth of lines - with the cursor on the bottom row, where
  a terminal that has scrolled keeps it. Programs that draw inline with relative cursor moves
  (Claude Code) move up less than a screen, so that is enough for them; a full-screen program
  that clears and redraws is exact from its last clear.
- pyte 0.8 has no alternate screen: the feeder keeps two pyte screens and switches between them
  on ESC[?1049h/l (and 1047, 47), as xterm does.
- pyte misreads some sequences Claude Code sends: ESC[<u (kitty keyboard pop) prints a stray
  "u", ESC[>4;2m (modifyOtherKeys) turns on underline. CSI sequences with a private '<', '>' or
  '=' prefix are dropped before pyte sees them; none of them draws anything.
- pyte raises on others, which would end its parser for good: a '?' private sequence whose
  handler takes no `private` flag (vim's ESC[?4m reaches select_graphic_rendition) is dropped
  (only ?-modes h/l and selective erases J/K reach pyte), and a parameter too long for int()
  (ESC[? and thousands of digits) is clamped. Device control strings (DCS, such as XTGETTCAP
  queries), which pyte prints as text, are dropped too. Should pyte raise on anything else, that
  sequence is lost, not the emulator.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyte

from ptyd.proto.limits import MAX_READ_BYTES

from ._exceptions import RangeEvicted
from ._screen_style import styled_row
from ._text import split_unfinished

if TYPE_CHECKING:
    from ._async_client import AsyncClient

TAIL_BYTES = 128 << 10
"""At most this much scrollback is fed to a fresh emulator."""

FULL_REPLAY_BYTES = 32 << 10
"""A session that wrote no more than this is replayed from its first byte."""

REBUILD_AFTER_BYTES = 32 << 10
"""More new output than this since the last call: start afresh from the tail instead."""

SCREEN_HEIGHTS_BACK = 2
"""A fresh emulator gets (at least) this many screens' worth of the last lines."""

THREAD_FEED_BYTES = 8 << 10
"""Feeds larger than this run in a worker thread, so the event loop serves other sessions."""

_SPECIAL_RE = re.compile(rb"\x1b(?:\[(?:\?(1049|1047|47)([hl])"  # alternate screen switches
                         rb"|[<>=][0-?]*[ -/]*[@-~]"  # private <, >, = sequences
                         rb"|\?[0-?]*[ -/]*[@-IL-gi-km-~])"  # ? sequences but h l J K
                         rb"|[PX^_][^\x1b]*\x1b\\)")  # DCS, SOS, PM, APC strings (pyte prints them)
_CLEAR_RE = re.compile(rb"\x1b\[[23]J|\x1bc")
_LONG_NUMBER_RE = re.compile(rb"[0-9]{6,}")
_CSI_PARAMS_RE = re.compile(rb"\x1b\[[0-?]{6,}")


def _clamp_numbers(match: re.Match[bytes]) -> bytes:
    return _LONG_NUMBER_RE.sub(b"99999", match.group())


@dataclass(frozen=True, slots=True)
class ScreenState:
    """The whole visible state of a session's terminal (`ptyd screen --json`, `-e`)."""

    lines: list[str]
    """One string per row, trailing blanks removed."""
    styled: list[str]
    """The same rows with their colours and attributes as SGR sequences."""
    cols: int
    rows: int
    cursor_row: int
    """0-based, as the cursor's column."""
    cursor_col: int
    cursor_visible: bool
    title: str
    """The last window title the program set (OSC 0 or 2), "" if none."""
    alternate: bool
    """Whether the program is on the alternate screen (a full-screen program such as vim)."""

    def as_json(self) -> dict[str, Any]:
        return {"lines": self.lines, "cols": self.cols, "rows": self.rows,
                "cursor": {"row": self.cursor_row, "col": self.cursor_col,
                           "visible": self.cursor_visible},
                "title": self.title, "alternate": self.alternate}


class _Feeder:
    """Two pyte screens (main and alternate) and the filter in front of them."""

    def __init__(self, cols: int, rows: int, alternate: bool = False):
        self.main = pyte.Screen(cols, rows)
        self.alt = pyte.Screen(cols, rows)
        self._streams = {id(self.main): pyte.ByteStream(self.main),
                         id(self.alt): pyte.ByteStream(self.alt)}
        self.active = self.alt if alternate else self.main
        self._carry = b""
        self.title = ""

    def feed(self, data: bytes) -> None:
        if self._carry:
            data, self._carry = self._carry + data, b""
        if b"\x1b" in data:
            data, self._carry = split_unfinished(data)
            if _LONG_NUMBER_RE.search(data):
                # pyte does int() on a CSI parameter: thousands of digits raise ValueError.
                data = _CSI_PARAMS_RE.sub(_clamp_numbers, data)
        pos = 0
        for special in _SPECIAL_RE.finditer(data):
            self._feed_active(data[pos:special.start()])
            pos = special.end()
            if special.group(1) is not None:
                self._switch(special.group(2) == b"h")
        self._feed_active(data[pos:])

    def _feed_active(self, data: bytes) -> None:
        title = self.active.title
        try:
            self._streams[id(self.active)].feed(data)
        except Exception:  # pyte's parser is a generator: an exception ends it for good
            self._streams[id(self.active)] = pyte.ByteStream(self.active)
        if self.active.title != title:  # the terminal has one title, whichever screen set it
            self.title = self.active.title

    def _switch(self, alternate: bool) -> None:
        hidden = self.active.cursor.hidden  # one cursor per terminal: its visibility carries over
        if alternate and self.active is not self.alt:
            self.alt.reset()
            self.active = self.alt
        elif not alternate:
            self.active = self.main
        self.active.cursor.hidden = hidden

    def resize(self, cols: int, rows: int) -> None:
        for screen in (self.main, self.alt):
            if (screen.columns, screen.lines) != (cols, rows):
                screen.resize(rows, cols)

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.active.display]

    def state(self) -> ScreenState:
        screen = self.active
        styled = [styled_row(screen.buffer[y], screen.columns, screen.default_char)
                  for y in range(screen.lines)]
        return ScreenState(self.lines(), styled, screen.columns, screen.lines, screen.cursor.y,
                           screen.cursor.x, not screen.cursor.hidden, self.title,
                           screen is self.alt)


def fresh_start(tail: bytes, rows: int) -> tuple[int, bool, bool]:
    """Where in `tail` (the end of a longer output) to start feeding a fresh emulator, whether
    the program is on the alternate screen there, and whether to start on the bottom row."""
    switches = [(m.start(), m.group(2) == b"h") for m in _SPECIAL_RE.finditer(tail)
                if m.group(1) is not None]
    if switches and switches[-1][1]:
        return switches[-1][0], False, False  # on the alternate screen now: from its entry
    start, bottom = 0, True
    clears = [m.start() for m in _CLEAR_RE.finditer(tail)]
    if clears:
        start, bottom = clears[-1], False
    pos = len(tail)
    for _ in range(rows * SCREEN_HEIGHTS_BACK):
        pos = tail.rfind(b"\n", 0, pos)
        if pos < 0:
            break
    if pos >= start:
        start, bottom = pos + 1, True
    alternate = False
    for at, enter in switches:
        if at < start:
            alternate = enter
    return start, alternate, bottom and not alternate


class ScreenView:
    """The emulator kept for one session handle."""

    def __init__(self, client: AsyncClient, session: str):
        self.client = client
        self.session = session
        self._feeder: _Feeder | None = None
        self._position = 0
        self._epoch: int | None = None
        self._lock = asyncio.Lock()

    async def lines(self) -> list[str]:
        return (await self._updated()).lines()

    async def state(self) -> ScreenState:
        return (await self._updated()).state()

    async def _updated(self) -> _Feeder:
        """The emulator, fed up to the session's output now."""
        async with self._lock:
            info = await self.client.info(self.session)
            end, cols, rows = int(info["end"]), int(info["cols"]), int(info["rows"])
            fresh = (self._feeder is None or info["epoch"] != self._epoch
                     or end - self._position > REBUILD_AFTER_BYTES
                     or self._position < int(info["base"]))
            if fresh:
                await self._rebuild(end, cols, rows)
                self._epoch = info["epoch"]
            else:
                assert self._feeder is not None
                self._feeder.resize(cols, rows)
                await self._feed(await self._read(self._position, end))
            assert self._feeder is not None
            return self._feeder

    async def _rebuild(self, end: int, cols: int, rows: int) -> None:
        tail = await self._read(max(0, end - TAIL_BYTES), end, clamp=True)
        if len(tail) == end and end <= FULL_REPLAY_BYTES:
            start, alternate, bottom = 0, False, False
        else:
            start, alternate, bottom = fresh_start(tail, rows)
        self._feeder = _Feeder(cols, rows, alternate)
        if bottom:  # the output scrolled: a terminal keeps the cursor on its last row
            self._feeder.feed(b"\x1b[%d;1H" % rows)
        self._position = end - len(tail)
        await self._feed(tail[start:])
        self._position = end

    async def _read(self, offset: int, end: int, clamp: bool = False) -> bytes:
        """Scrollback [offset, end), or from the oldest byte held when clamping."""
        parts: list[bytes] = []
        while offset < end:
            try:
                reply = await self.client.read(self.session, offset, clamp=clamp,
                                               max_bytes=min(MAX_READ_BYTES, end - offset))
            except RangeEvicted as e:  # fell behind the ring: continue from what it holds
                offset = int(e.data["base"])
                continue
            data: bytes = reply["data"][: end - int(reply["offset"])]
            if not data:
                break
            parts.append(data)
            offset = int(reply["offset"]) + len(data)
        return b"".join(parts)

    async def _feed(self, data: bytes) -> None:
        assert self._feeder is not None
        if len(data) > THREAD_FEED_BYTES:
            await asyncio.to_thread(self._feeder.feed, data)
        else:
            self._feeder.feed(data)
        self._position += len(data)
