"""Client: the blocking facade.

A plain request (list, info, input, wait ...) goes straight over a Wire on the caller's thread:
one send and one poll, no event loop and no thread hop. What needs the asyncio core (session
handles with expect and callbacks, output streams) runs the AsyncClient's coroutine on a private
event loop in one background thread, started on first use, so there is one implementation of
each. The client is safe to share between threads: one thread at a time uses the Wire; a call
made while another thread's call holds it (a long `wait`, say) goes through the loop thread
instead of queueing behind it. Closing the client ends every call in flight with ClientClosed.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from ptyd.proto import pubsub
from ptyd.proto.paths import Endpoints

from ._curve import CurveKeys
from ._exceptions import ClientClosed, PtydError
from ._items import Lost
from ._requests import BlockingRequests
from ._rules import DEFAULT_TIMEOUT_S
from ._wire import Wire

if TYPE_CHECKING:
    import asyncio
    import concurrent.futures

    from ._async_client import AsyncClient
    from ._session import AsyncSession, Session

T = TypeVar("T")


class Client(BlockingRequests):
    """Blocking connection to a ptyd daemon; see AsyncClient for the meaning of each method."""

    def __init__(self, dir: str | os.PathLike[str] | None = None, *,
                 endpoints: Endpoints | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                 autostart: bool = False, client_name: str = "ptyd-python",
                 curve: CurveKeys | None = None, connect_timeout: float | None = None):
        self._wire = Wire(dir, endpoints=endpoints, timeout=timeout, autostart=autostart,
                          client_name=client_name, curve=curve, connect_timeout=connect_timeout)
        self._wire_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._async_client: AsyncClient | None = None
        self._start_lock = threading.Lock()
        self._calls: set[concurrent.futures.Future[Any]] = set()
        self._calls_lock = threading.Lock()
        self._closed = False
        self._sessions: weakref.WeakSet[Session] = weakref.WeakSet()
        try:
            self._wire.connect()
        except BaseException:
            self._wire.close()
            raise

    @property
    def _async(self) -> AsyncClient:
        """The asyncio core on its loop thread, started (and connected) on first use."""
        with self._start_lock:
            if self._async_client is None:
                if self._closed:
                    raise ClientClosed("this Client is closed")
                import asyncio  # only a Client that needs the asyncio core pays for it

                from ._async_client import AsyncClient

                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever,
                                                name="ptyd-client", daemon=True)
                self._thread.start()
                wire = self._wire
                # The daemon is there (the Wire said hello), so no autostart here.
                made = AsyncClient(wire.dir, endpoints=wire.endpoints, timeout=wire.timeout,
                                   client_name=wire.client_name, curve=wire.curve)
                self._run(made.connect())
                self._async_client = made
            return self._async_client

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("blocking Client called from its own event loop (a callback?)")
        with self._calls_lock:
            if self._closed:
                coro.close()
                raise ClientClosed("this Client is closed")
            future = _submit(coro, self._loop)
            self._calls.add(future)
        try:
            return future.result()
        finally:
            with self._calls_lock:
                self._calls.discard(future)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine of the asyncio core (used by Session handles)."""
        try:
            self._async  # noqa: B018  # started on first use
        except BaseException:
            coro.close()
            raise
        return self._run(coro)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (and the loop thread, if it was started). A call still in
        flight from another thread (a callback thread, say) fails with ClientClosed instead of
        waiting forever."""
        with self._calls_lock:
            if self._closed:
                return
            if self._async_client is not None and self._loop is not None:
                closing = _submit(self._async_client.close(), self._loop)
            else:
                closing = None
            self._closed = True
            stranded = list(self._calls)
        self._wire.interrupt()  # a direct call in flight wakes up and raises ClientClosed
        with self._wire_lock:
            self._wire.close()
        if closing is not None and threading.current_thread() is not self._thread:
            with contextlib.suppress(PtydError):
                closing.result()
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            for future in stranded:
                if not future.done():
                    future.set_exception(ClientClosed("the Client was closed during this call"))
            self._loop.close()
        for session in list(self._sessions):
            session.end_callbacks()

    @property
    def dir(self) -> Any:
        return self._wire.dir

    @property
    def server(self) -> dict[str, Any]:
        return self._wire.server

    @property
    def client_name(self) -> str:  # type: ignore[override]
        return self._wire.client_name

    @property
    def timeout(self) -> float:  # type: ignore[override]
        return self._wire.timeout

    def request(self, op: str, params: dict[str, Any] | None = None, *,
                timeout: float | None = None) -> dict[str, Any]:
        if threading.current_thread() is self._thread:
            raise RuntimeError("blocking Client called from its own event loop (a callback?)")
        if self._closed:
            raise ClientClosed("this Client is closed")
        if self._wire_lock.acquire(blocking=False):
            try:
                if self._closed:
                    raise ClientClosed("this Client is closed")
                return self._wire.request(op, params, timeout=timeout)
            finally:
                self._wire_lock.release()
        # Another thread's call holds the Wire (a long wait, say): do not queue behind it.
        return self._call(self._async.request(op, params, timeout=timeout))

    def spawn(self, argv: list[str], **options: Any) -> Session:
        """Start `argv` under a new PTY (options as AsyncClient.spawn); returns a Session
        handle, which is also the session's info (a dict)."""
        return self._handle(self._call(self._async.spawn(argv, **options)))

    def session(self, name: str, *, start: int | None = None) -> Session:
        """A handle on an existing session; see AsyncClient.session."""
        return self._handle(self._call(self._async.session(name, start=start)))

    def _handle(self, handle: AsyncSession) -> Session:
        from ._session import Session

        session = Session(self, handle)
        self._sessions.add(session)  # weakly: closing the Client ends its callback thread
        return session

    def output(self, session: str, offset: int | None = None, *, follow: bool = True,
               stream: str = "stdout") -> Iterator[pubsub.OutputChunk | Lost]:
        """A blocking iterator over AsyncClient.output; leaving it early closes the stream."""
        return self._output(self._async.output(session, offset, follow=follow, stream=stream))

    def _output(self, stream: AsyncIterator[pubsub.OutputChunk | Lost]
                ) -> Iterator[pubsub.OutputChunk | Lost]:
        try:
            while True:
                try:
                    yield self._call(_next(stream))
                except StopAsyncIteration:
                    return
        finally:
            if self._loop is not None and self._loop.is_running():
                self._call(_aclose(stream))


def _submit(coro: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop
            ) -> concurrent.futures.Future[T]:
    import asyncio  # loaded already: there is a loop

    return asyncio.run_coroutine_threadsafe(coro, loop)


async def _next(stream: AsyncIterator[T]) -> T:
    return await anext(stream)


async def _aclose(stream: Any) -> None:
    await stream.aclose()
