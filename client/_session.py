"""Session handles: one running program, and everything a client does with it.

`AsyncClient.spawn()` and `AsyncClient.session(name)` return an `AsyncSession`; the blocking
`Client` returns a `Session`, a facade over the same AsyncSession run on the client's loop.

A handle is also the session's info as it was when the handle was made (a dict: the spawn or
info reply), so `c.spawn(...)["pid"]` keeps working; `await s.info()` asks for fresh info.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import re
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ptyd.proto import pubsub
from ptyd.proto.keys import PASTE_GAP_S, key_bytes

from ._exceptions import EOF, ExpectTimeout
from ._expect import ExpectMatch, Pattern, compile_patterns
from ._follow import EndCallback, Follower, LineCallback, OutputCallback
from ._screen import ScreenState, ScreenView
from ._stream import Lost

if TYPE_CHECKING:
    from ._async_client import AsyncClient
    from ._sync_client import Client

T = TypeVar("T")

DEFAULT_EXPECT_TIMEOUT_S = 30.0
"""expect()'s default timeout, as pexpect's."""


class AsyncSession(dict[str, Any]):
    """A handle on one session of an AsyncClient.

    Writing: `send(text)`, `send_line(text)`, `send_keys("Enter", "C-c", ...)`. Reading:
    `read()`, `output()` (an async iterator, gap-free), `on_output(cb)` / `on_line(cb)`,
    `expect(...)`, `screen()`, `wait_until_quiet(s)`. Control: `resize`, `signal`, `kill`,
    `wait`, `info`, `remove`. Every method is a coroutine except the iterators and callbacks.

    `start` is where expect(), the callbacks and wait_until_quiet() begin reading: the first
    byte for a spawned session, the end of the output at the time for `AsyncClient.session()`
    (`stderr_start` likewise for the separate stderr of a session spawned with stderr='pipe').
    """

    def __init__(self, client: AsyncClient, info: dict[str, Any], *, start: int | None = None,
                 stderr_start: int | None = None):
        super().__init__(info)
        self.client = client
        self.name: str = info["name"]
        self.start = int(info.get("base", 0)) if start is None else start
        self.stderr_start = 0 if stderr_start is None else stderr_start
        self._followers: dict[str, Follower] = {}
        self._screen: ScreenView | None = None
        self._expect_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()
        self._last_write: tuple[str, float] | None = None  # (kind "text"/"key", loop time)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} pid={self.get('pid')}>"

    # A handle is an object with an identity, not a value: hashable, equal only to itself
    # (and, for compatibility with the info dict spawn() used to return, to an equal dict).
    __hash__ = object.__hash__  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AsyncSession):
            return self is other
        return isinstance(other, dict) and dict.__eq__(self, other)

    @property
    def follower(self) -> Follower:
        """The live view of the output (expect, callbacks, quiet), made on first use."""
        return self.follower_of("stdout")

    def follower_of(self, stream: str) -> Follower:
        if stream not in ("stdout", "stderr"):
            raise ValueError(f"stream must be 'stdout' or 'stderr', not {stream!r}")
        if stream not in self._followers:
            start = self.start if stream == "stdout" else self.stderr_start
            self._followers[stream] = Follower(self.client, self.name, start, stream)
        return self._followers[stream]

    async def aclose(self) -> None:
        """Stop following the output (expect, callbacks: no end callback runs). The session
        itself goes on."""
        for follower in self._followers.values():
            await follower.close()

    # -- writing ----------------------------------------------------------------------------------

    async def send(self, text: str | bytes, *, force: bool = False) -> dict[str, Any]:
        """Type `text` (one write); the input reply (its `seq` and `turn` are for wait()).
        Text and a following key are always separate writes at least PASTE_GAP_S apart: the
        Claude Code CLI reads them together as a paste. `force`: see AsyncClient.input."""
        async with self._write_lock:
            await self._gap_before("text")
            reply = await self.client.input(self.name, text, force=force)
            self._last_write = ("text", asyncio.get_running_loop().time())
        return reply

    async def send_keys(self, *keys: str) -> dict[str, Any]:
        """Press named keys in order, as tmux spells them: 'Enter', 'Tab', 'Escape', 'Up',
        'C-c', 'M-x', 'F1', ... (`ptyd.proto.keys`); each is its own write, PASTE_GAP_S after
        the previous one. Text goes through `send()`: an unknown key name is a ValueError."""
        data = [key_bytes(key) for key in keys]  # all names checked before anything is sent
        replies = []
        async with self._write_lock:
            for key in data:
                await self._gap_before("key")
                replies.append(await self.client.input(self.name, key))
                self._last_write = ("key", asyncio.get_running_loop().time())
        return replies[0] if replies else {}

    async def send_line(self, text: str) -> dict[str, Any]:
        """Type `text`, then press Enter (a separate write, as `send()` explains); the reply
        of the text's input. Wait for the turn it starts with
        `wait(until=["idle", "error"], since_seq=reply["seq"])`."""
        reply = await self.send(text)
        await self.send_keys("Enter")
        return reply

    async def _gap_before(self, kind: str) -> None:
        if self._last_write is None or (kind == "text" and self._last_write[0] == "text"):
            return
        elapsed = asyncio.get_running_loop().time() - self._last_write[1]
        if elapsed < PASTE_GAP_S:
            await asyncio.sleep(PASTE_GAP_S - elapsed)

    # -- control ----------------------------------------------------------------------------------

    async def info(self) -> dict[str, Any]:
        """Fresh info from the daemon (the handle itself keeps the info it was made with)."""
        return await self.client.info(self.name)

    async def resize(self, cols: int, rows: int) -> dict[str, Any]:
        return await self.client.resize(self.name, cols, rows)

    async def signal(self, signal: str | int, *, group: bool = False) -> dict[str, Any]:
        return await self.client.signal(self.name, signal, group=group)

    async def kill(self, *, signal: str | int | None = None, grace: float | None = None
                   ) -> dict[str, Any]:
        return await self.client.kill(self.name, signal=signal, grace=grace)

    async def wait(self, timeout: float | None = None, *, until: str | Sequence[str] | None = None,
                   after_turn: int | None = None, since_seq: int | None = None
                   ) -> dict[str, Any]:
        """Wait for the session to exit, or with `until` to enter one of those agent states
        ('idle', ['idle', 'error'], ...), after `since_seq`/`after_turn`; see
        AsyncClient.wait."""
        return await self.client.wait(self.name, timeout, until=until, after_turn=after_turn,
                                      since_seq=since_seq)

    async def remove(self, *, force: bool = False) -> dict[str, Any]:
        await self.aclose()
        return await self.client.remove(self.name, force=force)

    # -- reading ----------------------------------------------------------------------------------

    async def read(self, offset: int | None = None, *, max_bytes: int | None = None,
                   clamp: bool = False, stream: str | None = None) -> dict[str, Any]:
        """A slice of scrollback (see AsyncClient.read); `stream='stderr'` for the separate
        stderr of a session spawned with stderr='pipe'."""
        return await self.client.read(self.name, offset, max_bytes=max_bytes, clamp=clamp,
                                      stream=stream)

    def output(self, offset: int | None = None, *, follow: bool = True, stream: str = "stdout"
               ) -> AsyncIterator[pubsub.OutputChunk | Lost]:
        """The output from `offset` (default: the oldest byte held), then live: see
        AsyncClient.output. Each call is an independent stream."""
        return self.client.output(self.name, offset, follow=follow, stream=stream)

    def on_output(self, callback: OutputCallback, *, stream: str = "stdout",
                   on_end: EndCallback | None = None) -> Callable[[], None]:
        """Call `callback(chunk)` for every chunk of output (an OutputChunk, or Lost for bytes
        evicted unread) from the handle's start, in order, on the client's event loop; it may
        be a coroutine function (awaited in turn). `on_end()` runs after the last chunk, once
        the output has ended. `stream='stderr'`: the separate stderr (stderr='pipe').
        Returns a function that unregisters the callback."""
        return self.follower_of(stream).add_output_callback(callback, on_end)

    def on_line(self, callback: LineCallback) -> Callable[[], None]:
        """Call `callback(line)` for every complete line of output as a person reads it
        (`_text.LineCooker`: escapes removed, carriage-return redraws collapsed), in order,
        from the moment of registration. Returns a function that unregisters it."""
        return self.follower.add_line_callback(callback)

    async def expect(self, patterns: Pattern | Sequence[Pattern],
                     timeout: float | None = DEFAULT_EXPECT_TIMEOUT_S, *,
                     search_window: int | None = None) -> ExpectMatch:
        """Wait until the output matches one of `patterns`; return which and how.

        The text is the output from the handle's start with escape sequences removed (cursor
        moves right become spaces, to other lines newlines; "\\r\\n" stays), minus what earlier
        matches consumed. A str is a regular expression (`expect_exact` for literal text);
        `EOF` and `TIMEOUT` are special patterns. The match starting first wins (ties: the
        earlier pattern); `before` and `after` (the match) are consumed.

        Without EOF in the list, the end of output raises `EOF`; without TIMEOUT, the timeout
        (seconds; None waits for ever) raises `ExpectTimeout`; both carry `before`.
        `search_window` limits the search to the last that many characters (for very long
        output with patterns that are slow to search).
        """
        return await self._expect(compile_patterns(patterns), timeout, search_window)

    async def expect_exact(self, patterns: str | Sequence[str | Pattern],
                           timeout: float | None = DEFAULT_EXPECT_TIMEOUT_S) -> ExpectMatch:
        """expect() with literal strings instead of regular expressions."""
        return await self._expect(compile_patterns(patterns, exact=True), timeout, None)

    async def _expect(self, patterns: list[re.Pattern[str] | type[EOF] | type[ExpectTimeout]],
                      timeout: float | None, window: int | None) -> ExpectMatch:
        if self._expect_lock.locked():
            raise RuntimeError(f"another expect() is waiting on session {self.name!r}")
        async with self._expect_lock:
            follower = self.follower
            follower.start()
            loop = asyncio.get_running_loop()
            deadline = None if timeout is None else loop.time() + timeout
            searched = -1
            resume: int | None = None  # where the last fruitless search ended
            while True:
                buffer = follower.buffer
                if buffer.generation != searched or follower.eof:
                    searched = buffer.generation
                    found = buffer.search(patterns, window, resume)
                    if found is not None:
                        index, match = found
                        before = buffer.consume(match.end())[: match.start()]
                        return ExpectMatch(index, patterns[index], match, before, match.group(0))
                    resume = buffer.end
                if follower.error is not None:
                    raise follower.error
                if follower.eof:
                    return self._ended(patterns, EOF, "the output ended (the session exited) "
                                       "before any pattern matched", consume=True)
                remaining = None if deadline is None else deadline - loop.time()
                if remaining is not None and remaining <= 0:
                    return self._ended(patterns, ExpectTimeout, f"no pattern matched within "
                                       f"{timeout:g}s", consume=False)
                await follower.changed(remaining)

    def _ended(self, patterns: list[Any], special: type[EOF] | type[ExpectTimeout],
               message: str, consume: bool) -> ExpectMatch:
        buffer = self.follower.buffer
        text = buffer.text
        if special in patterns:
            if consume:
                buffer.consume(len(text))
            return ExpectMatch(patterns.index(special), special, None, text, "")
        raise special(f"session {self.name!r}: {message}; the unmatched output ends with "
                      f"{text[-200:]!r}", before=text)

    async def wait_until_quiet(self, seconds: float, timeout: float | None = None) -> bool:
        """Wait until the session has written nothing for `seconds` (as this client sees its
        output arrive); True then, False if the output ended (it exited) first. Past `timeout`
        (None: no limit) raises ExpectTimeout."""
        follower = self.follower
        follower.start()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            if follower.error is not None:
                raise follower.error
            if follower.eof:
                return False
            now = loop.time()
            quiet = now - follower.last_output
            if quiet >= seconds:
                return True
            wait = seconds - quiet
            if deadline is not None:
                if now >= deadline:
                    raise ExpectTimeout(f"session {self.name!r} did not go quiet for "
                                        f"{seconds:g}s within {timeout:g}s")
                wait = min(wait, deadline - now)
            await follower.changed(wait)

    async def screen(self) -> list[str]:
        """The terminal as a person sees it now: one string per row (trailing blanks removed),
        from a terminal emulator kept for this handle and fed on demand (see `_screen`)."""
        if self._screen is None:
            self._screen = ScreenView(self.client, self.name)
        return await self._screen.lines()

    async def screen_state(self) -> ScreenState:
        """What `screen()` shows plus colours, cursor, size, title and the alternate-screen
        flag, from the same emulator."""
        if self._screen is None:
            self._screen = ScreenView(self.client, self.name)
        return await self._screen.state()


class Session(dict[str, Any]):
    """The blocking twin of AsyncSession (see there for each method), from `Client.spawn()`
    and `Client.session()`. Safe to use from several threads.

    Callbacks (`on_output`, `on_line`) run in one background thread per handle, in order, so
    they may call the blocking API (send a key when a prompt appears, for example).
    """

    def __init__(self, client: Client, handle: AsyncSession):
        super().__init__(handle)
        self.client = client
        self.aio = handle
        """The AsyncSession this facade runs (on the client's event loop thread)."""
        self.name: str = handle.name
        self._dispatch: queue.SimpleQueue[_Item] | None = None
        self._streams: set[str] = set()
        self._dispatch_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Session {self.name!r} pid={self.get('pid')}>"

    __hash__ = object.__hash__  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Session):
            return self is other
        return isinstance(other, dict) and dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:  # dict's own __ne__ would compare the contents
        return not self.__eq__(other)

    @property
    def start(self) -> int:
        return self.aio.start

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.client._call(coro)

    def close(self) -> None:
        """Stop following the output and end the callback thread. The session goes on."""
        try:
            self._call(self.aio.aclose())
        finally:  # end the callback thread even if stopping the followers failed
            self.end_callbacks()

    def end_callbacks(self) -> None:
        """Let the callback thread finish what is queued and go (also when its Client closes)."""
        with self._dispatch_lock:
            if self._dispatch is not None:
                self._dispatch.put(None)
                self._dispatch = None

    def send(self, text: str | bytes, *, force: bool = False) -> dict[str, Any]:
        return self._call(self.aio.send(text, force=force))

    def send_keys(self, *keys: str) -> dict[str, Any]:
        return self._call(self.aio.send_keys(*keys))

    def send_line(self, text: str) -> dict[str, Any]:
        return self._call(self.aio.send_line(text))

    def info(self) -> dict[str, Any]:
        return self._call(self.aio.info())

    def resize(self, cols: int, rows: int) -> dict[str, Any]:
        return self._call(self.aio.resize(cols, rows))

    def signal(self, signal: str | int, *, group: bool = False) -> dict[str, Any]:
        return self._call(self.aio.signal(signal, group=group))

    def kill(self, *, signal: str | int | None = None, grace: float | None = None
             ) -> dict[str, Any]:
        return self._call(self.aio.kill(signal=signal, grace=grace))

    def wait(self, timeout: float | None = None, *, until: str | Sequence[str] | None = None,
             after_turn: int | None = None, since_seq: int | None = None) -> dict[str, Any]:
        return self._call(self.aio.wait(timeout, until=until, after_turn=after_turn,
                                        since_seq=since_seq))

    def remove(self, *, force: bool = False) -> dict[str, Any]:
        return self._call(self.aio.remove(force=force))

    def read(self, offset: int | None = None, *, max_bytes: int | None = None,
             clamp: bool = False, stream: str | None = None) -> dict[str, Any]:
        return self._call(self.aio.read(offset, max_bytes=max_bytes, clamp=clamp, stream=stream))

    def output(self, offset: int | None = None, *, follow: bool = True, stream: str = "stdout"
               ) -> Iterator[pubsub.OutputChunk | Lost]:
        return self.client.output(self.name, offset, follow=follow, stream=stream)

    def expect(self, patterns: Pattern | Sequence[Pattern],
               timeout: float | None = DEFAULT_EXPECT_TIMEOUT_S, *,
               search_window: int | None = None) -> ExpectMatch:
        return self._call(self.aio.expect(patterns, timeout, search_window=search_window))

    def expect_exact(self, patterns: str | Sequence[str | Pattern],
                     timeout: float | None = DEFAULT_EXPECT_TIMEOUT_S) -> ExpectMatch:
        return self._call(self.aio.expect_exact(patterns, timeout))

    def wait_until_quiet(self, seconds: float, timeout: float | None = None) -> bool:
        return self._call(self.aio.wait_until_quiet(seconds, timeout))

    def screen(self) -> list[str]:
        return self._call(self.aio.screen())

    def screen_state(self) -> ScreenState:
        return self._call(self.aio.screen_state())

    def on_output(self, callback: Callable[[pubsub.OutputChunk | Lost], Any], *,
                  stream: str = "stdout", on_end: Callable[[], Any] | None = None
                  ) -> Callable[[], None]:
        def register(relay: Callable[[Any], None], end: Callable[[], None] | None
                     ) -> Callable[[], None]:
            return self.aio.on_output(relay, stream=stream, on_end=end)

        return self._register(callback, on_end, register, stream)

    def on_line(self, callback: Callable[[str], Any]) -> Callable[[], None]:
        def register(relay: Callable[[Any], None], end: Callable[[], None] | None
                     ) -> Callable[[], None]:
            return self.aio.on_line(relay)

        return self._register(callback, None, register, "stdout")

    def _register(self, callback: Callable[[Any], Any], on_end: Callable[[], Any] | None,
                  register: Callable[[Callable[[Any], None], Callable[[], None] | None],
                                     Callable[[], None]],
                  stream: str) -> Callable[[], None]:
        async def add() -> Callable[[], None]:  # on the loop thread, where the follower lives
            dispatch = self._dispatcher(stream)

            def relay(value: Any) -> None:  # on the loop: hand over, never block it
                dispatch.put((callback, (value,)))

            end = None if on_end is None else functools.partial(dispatch.put, (on_end, ()))
            return register(relay, end)

        remove_relay = self._call(add())

        loop = self.client._loop
        assert loop is not None  # started by the _call above

        def remove() -> None:
            loop.call_soon_threadsafe(remove_relay)

        return remove

    def _dispatcher(self, stream: str) -> queue.SimpleQueue[_Item]:
        """The queue of the callback thread, started if needed (called on the loop thread).
        The thread ends once every stream it serves has ended (or on close())."""
        with self._dispatch_lock:
            dispatch = self._dispatch
            if dispatch is None:
                dispatch = self._dispatch = queue.SimpleQueue()
                self._streams = set()
                threading.Thread(target=_dispatch, args=(dispatch, self.name),
                                 name=f"ptyd-callbacks-{self.name}", daemon=True).start()
            if stream in self._streams:
                return dispatch
            self._streams.add(stream)

        def ended() -> None:
            with self._dispatch_lock:
                if self._dispatch is not dispatch:
                    return
                self._streams.discard(stream)
                if self._streams:
                    return
                self._dispatch = None
            dispatch.put(None)  # the thread finishes the queue and goes

        self.aio.follower_of(stream).add_end_callback(ended, last=True)
        return dispatch


_Item = tuple[Callable[..., Any], tuple[Any, ...]] | None


def _dispatch(items: queue.SimpleQueue[_Item], name: str) -> None:
    from ._follow import log

    while True:
        item = items.get()
        if item is None:
            return
        callback, args = item
        try:
            callback(*args)
        except Exception:
            log.exception("session=%s callback %r failed", name, callback)
