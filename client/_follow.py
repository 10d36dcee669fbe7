"""A session handle's live view of one output stream: one task that follows it and feeds
expect()'s buffer, the output and line callbacks, and the quiet clock.

It starts the first time something needs it (expect, a callback, wait_until_quiet) and reads
from the handle's start offset, so nothing written between the handle's creation and that
moment is missed. It ends when the output ends (the session exited, or was removed); then the
end callbacks run, after every chunk and line callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ptyd.proto import pubsub

from ._exceptions import Timeout
from ._expect import ExpectBuffer
from ._stream import Lost
from ._text import LineCooker, TextStripper

if TYPE_CHECKING:
    from ._async_client import AsyncClient

log = logging.getLogger("ptyd.client")

RETRY_AFTER_S = 0.2
"""After a request of the stream timed out, follow again after this pause."""

OutputCallback = Callable[[pubsub.OutputChunk | Lost], Awaitable[Any] | Any]
LineCallback = Callable[[str], Awaitable[Any] | Any]
EndCallback = Callable[[], Awaitable[Any] | Any]


class Follower:
    def __init__(self, client: AsyncClient, session: str, offset: int, stream: str = "stdout"):
        self.client = client
        self.session = session
        self.stream = stream
        self.position = offset
        """One past the last byte taken from the stream."""
        self.buffer = ExpectBuffer()
        self.eof = False
        self.error: BaseException | None = None
        self.last_output = 0.0
        """Loop time of the last output (or of the start)."""
        self._stripper = TextStripper()
        self._cooker: LineCooker | None = None
        self._output_callbacks: list[OutputCallback] = []
        self._line_callbacks: list[LineCallback] = []
        self._end_callbacks: list[EndCallback] = []
        self._final: list[EndCallback] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._task: asyncio.Task[None] | None = None
        self._late: set[asyncio.Future[None]] = set()

    def start(self) -> None:
        if self._task is None:
            self.last_output = asyncio.get_running_loop().time()
            self._task = asyncio.ensure_future(self._run())
            self.client._followers.add(self)
            self._task.add_done_callback(lambda _: self.client._followers.discard(self))

    async def close(self) -> None:
        task = self._task
        while task is not None and not task.done():
            # Python 3.11's asyncio.wait_for (under every request) can swallow a cancellation
            # that arrives together with the reply: cancel again until the task has ended.
            task.cancel()
            await asyncio.wait([task], timeout=0.1)

    # -- callbacks --------------------------------------------------------------------------------

    def add_output_callback(self, callback: OutputCallback, on_end: EndCallback | None = None
                            ) -> Callable[[], None]:
        self._output_callbacks.append(callback)
        if on_end is not None:
            self.add_end_callback(on_end)
        self.start()
        return lambda: _discard(self._output_callbacks, callback)

    def add_line_callback(self, callback: LineCallback) -> Callable[[], None]:
        if self._cooker is None:
            self._cooker = LineCooker()
        self._line_callbacks.append(callback)
        self.start()
        return lambda: _discard(self._line_callbacks, callback)

    def add_end_callback(self, callback: EndCallback, *, last: bool = False) -> None:
        """Run `callback()` once the output has ended (soon, if it already has). `last`: after
        every other end callback, whenever they were added (plain functions only)."""
        if self.eof and self._task is not None and self._task.done():
            late = asyncio.ensure_future(self._call(callback))
            self._late.add(late)
            late.add_done_callback(self._late.discard)
        elif last:
            self._final.append(callback)
        else:
            self._end_callbacks.append(callback)

    async def _call(self, callback: Callable[..., Any], *args: Any) -> None:
        try:
            result = callback(*args)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("session=%s %s callback %r failed", self.session, self.stream,
                          callback)

    # -- waiting ----------------------------------------------------------------------------------

    async def changed(self, timeout: float | None) -> bool:
        """Wait for new output or the end of it; False if the timeout passed first."""
        if self.eof:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):  # not wait_for: it may swallow a cancel (3.11)
                await waiter
            return True
        except TimeoutError:
            return False
        finally:
            _discard(self._waiters, waiter)

    def _notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    # -- the stream -------------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                async for item in self.client.output(self.session, self.position,
                                                     stream=self.stream):
                    if isinstance(item, Lost):
                        # Evicted before we could read it: skip it; an escape sequence cut in
                        # two by the gap must not swallow the text after it.
                        self._stripper = TextStripper()
                        self.position = item.end
                    else:
                        self.position = item.end
                        self.buffer.append(self._stripper.feed(item.data))
                        if self._cooker is not None and self._line_callbacks:
                            await self._lines(self._cooker.feed(item.data))
                    self.last_output = loop.time()
                    for callback in list(self._output_callbacks):
                        await self._call(callback, item)
                    self._notify()
                break
            except asyncio.CancelledError:
                self.eof = True  # closed: nobody will read the rest
                self._notify()
                raise
            except Timeout as e:
                # A daemon too busy to answer in time (hundreds of agents starting): the bytes
                # wait in its ring, so follow again from where we are.
                log.warning("session=%s %s stream: %s; following again from %d", self.session,
                            self.stream, e, self.position)
                await asyncio.sleep(RETRY_AFTER_S)
            except Exception as e:  # the daemon went away: expect() and friends re-raise it
                self.error = e
                break
        self.buffer.append(self._stripper.flush())
        if self._cooker is not None:
            await self._lines(self._cooker.flush())
        self.eof = True
        self._notify()
        for ended in [*self._end_callbacks, *self._final]:
            await self._call(ended)

    async def _lines(self, lines: list[str]) -> None:
        for line in lines:
            for callback in list(self._line_callbacks):
                await self._call(callback, line)


def _discard(items: list[Any], item: Any) -> None:
    with contextlib.suppress(ValueError):
        items.remove(item)
