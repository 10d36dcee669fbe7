"""Client: the blocking facade. Every method runs the AsyncClient's coroutine on a private event
loop in one background thread, so there is one implementation of the protocol, and the client
is safe to share between threads (calls from many threads interleave on that loop)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
import weakref
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

from ptyd.proto import pubsub
from ptyd.proto.paths import Endpoints

from ._async_client import DEFAULT_TIMEOUT_S, AsyncClient
from ._curve import CurveKeys
from ._exceptions import ClientClosed, PtydError
from ._session import AsyncSession, Session
from ._stream import Lost

T = TypeVar("T")


class Client:
    """Blocking connection to a ptyd daemon; see AsyncClient for the meaning of each method."""

    def __init__(self, dir: str | os.PathLike[str] | None = None, *,
                 endpoints: Endpoints | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                 autostart: bool = False, client_name: str = "ptyd-python",
                 curve: CurveKeys | None = None, connect_timeout: float | None = None):
        self._loop = asyncio.new_event_loop()
        self._calls: set[concurrent.futures.Future[Any]] = set()
        self._calls_lock = threading.Lock()
        self._closed = False
        self._sessions: weakref.WeakSet[Session] = weakref.WeakSet()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ptyd-client",
                                        daemon=True)
        self._thread.start()
        self._async = self._call(self._make(dir, endpoints, timeout, autostart, client_name,
                                            curve, connect_timeout))
        try:
            self._call(self._async.connect())
        except BaseException:
            self.close()
            raise

    @staticmethod
    async def _make(*args: Any) -> AsyncClient:
        dir, endpoints, timeout, autostart, name, curve, connect_timeout = args
        return AsyncClient(dir, endpoints=endpoints, timeout=timeout, autostart=autostart,
                           client_name=name, curve=curve, connect_timeout=connect_timeout)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("blocking Client called from its own event loop (a callback?)")
        with self._calls_lock:
            if self._closed:
                coro.close()
                raise ClientClosed("this Client is closed")
            future = asyncio.run_coroutine_threadsafe(coro, self._loop)
            self._calls.add(future)
        try:
            return future.result()
        finally:
            with self._calls_lock:
                self._calls.discard(future)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection and stop the loop thread. A call still in flight from another
        thread (a callback thread, say) fails with ClientClosed instead of waiting forever on a
        loop that no longer runs."""
        if not self._loop.is_running():
            return
        if hasattr(self, "_async"):
            with contextlib.suppress(PtydError):
                self._call(self._async.close())
        with self._calls_lock:
            self._closed = True
            stranded = list(self._calls)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        for future in stranded:
            if not future.done():
                future.set_exception(ClientClosed("the Client was closed during this call"))
        for session in list(self._sessions):
            session.end_callbacks()
        self._loop.close()

    @property
    def dir(self) -> Any:
        return self._async.dir

    @property
    def server(self) -> dict[str, Any]:
        return self._async.server

    def request(self, op: str, params: dict[str, Any] | None = None, *,
                timeout: float | None = None) -> dict[str, Any]:
        return self._call(self._async.request(op, params, timeout=timeout))

    def hello(self) -> dict[str, Any]:
        return self._call(self._async.hello())

    def spawn(self, argv: list[str], **options: Any) -> Session:
        """Start `argv` under a new PTY (options as AsyncClient.spawn); returns a Session
        handle, which is also the session's info (a dict)."""
        return self._handle(self._call(self._async.spawn(argv, **options)))

    def session(self, name: str, *, start: int | None = None) -> Session:
        """A handle on an existing session; see AsyncClient.session."""
        return self._handle(self._call(self._async.session(name, start=start)))

    def _handle(self, handle: AsyncSession) -> Session:
        session = Session(self, handle)
        self._sessions.add(session)  # weakly: closing the Client ends its callback thread
        return session

    def list(self) -> list[dict[str, Any]]:
        return self._call(self._async.list())

    def info(self, session: str) -> dict[str, Any]:
        return self._call(self._async.info(session))

    def input(self, session: str, data: bytes | str, *, force: bool = False
              ) -> dict[str, Any]:
        return self._call(self._async.input(session, data, force=force))

    def resize(self, session: str, cols: int, rows: int) -> dict[str, Any]:
        return self._call(self._async.resize(session, cols, rows))

    def signal(self, session: str, signal: str | int, *, group: bool = False) -> dict[str, Any]:
        return self._call(self._async.signal(session, signal, group=group))

    def kill(self, session: str, **options: Any) -> dict[str, Any]:
        return self._call(self._async.kill(session, **options))

    def read(self, session: str, offset: int | None = None, **options: Any) -> dict[str, Any]:
        return self._call(self._async.read(session, offset, **options))

    def wait(self, session: str, timeout: float | None = None, *,
             until: str | Sequence[str] | None = None, after_turn: int | None = None,
             since_seq: int | None = None) -> dict[str, Any]:
        return self._call(self._async.wait(session, timeout, until=until,
                                           after_turn=after_turn, since_seq=since_seq))

    def remove(self, session: str, *, force: bool = False) -> dict[str, Any]:
        return self._call(self._async.remove(session, force=force))

    def pause(self, session: str, *, message: str | None = None) -> dict[str, Any]:
        return self._call(self._async.pause(session, message=message))

    def resume(self, session: str) -> dict[str, Any]:
        return self._call(self._async.resume(session))

    def shutdown(self, grace: float | None = None) -> dict[str, Any]:
        return self._call(self._async.shutdown(grace))

    def events(self, since: int, max: int | None = None) -> dict[str, Any]:
        return self._call(self._async.events(since, max))

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
            if self._loop.is_running():
                self._call(_aclose(stream))


async def _next(stream: AsyncIterator[T]) -> T:
    return await anext(stream)


async def _aclose(stream: Any) -> None:
    await stream.aclose()
