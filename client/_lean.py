"""LeanClient: the `ptyd` command's client, quick to start for one-request commands.

Against the local daemon, requests go over a minimal ZMTP connection (client/_zmtp.py) with no
pyzmq, no asyncio and no thread, so `ptyd ls` or `ptyd send` start at close to Python's own
speed. Anything else a command asks of it (an output stream, a session handle, a remote daemon
over CURVE) is served by a full Client, made on first use, so a verb is never limited by it.

The rules are those of the other clients: the runtime directory is checked before anything is
opened or sent; a daemon that re-executes itself (ptyd upgrade) while a request is in flight
gets the request again if it changes nothing, else ConnectionInterrupted; a daemon that went
away is DaemonNotRunning.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ptyd.proto import envelope
from ptyd.proto.errors import ProtocolError as WireError
from ptyd.proto.paths import CONTROL_SOCKET, Endpoints

from . import _connect
from ._daemon_dir import daemon_running
from ._exceptions import DaemonNotRunning, Timeout
from ._requests import BlockingRequests
from ._rules import DEFAULT_TIMEOUT_S, RECONNECT_GRACE_S, RESENDABLE_OPS
from ._zmtp import ZmtpDealer, ZmtpError

if TYPE_CHECKING:
    from ._curve import CurveKeys  # it imports pyzmq: only for a type here

_RETRY_S = 0.02


class LeanClient(BlockingRequests):
    """Blocking, one thread; `Client`'s request methods, and its other methods by delegation."""

    def __init__(self, dir: str | os.PathLike[str] | None = None, *,
                 endpoints: Endpoints | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                 autostart: bool = False, client_name: str = "ptyd-python",
                 curve: CurveKeys | None = None, connect_timeout: float | None = None):
        self.dir: Path
        self.dir, self.endpoints = _connect.locate(dir, endpoints)
        self.timeout = timeout
        self.client_name = client_name
        self.curve = curve
        self.connect_timeout = connect_timeout
        self.server: dict[str, Any] = {}
        self._full: Any = None
        self._conn: ZmtpDealer | None = None
        self._ids = 0
        if not _connect.is_local(self.endpoints):
            self.server = self._client().server  # remote: CURVE needs pyzmq
            return
        started = _connect.prepare(self.dir, self.endpoints, autostart)
        hello = _connect.hello_params(client_name)
        if started is None:
            self.server = self.request("hello", hello, timeout=connect_timeout)
            return
        new = _connect.NewDaemon(self.dir, started)
        while not self.server:
            try:
                self.server = self.request("hello", hello)
            except (DaemonNotRunning, Timeout):
                if (failure := new.failure()) is not None:
                    raise failure from None
                time.sleep(_RETRY_S)  # no socket yet: a connect fails at once, not at a timeout

    def _client(self) -> Any:
        """The full Client, for what the lean path does not do."""
        if self._full is None:
            from ._sync_client import Client

            self._full = Client(self.dir, endpoints=self.endpoints, timeout=self.timeout,
                                client_name=self.client_name, curve=self.curve,
                                connect_timeout=self.connect_timeout)
        return self._full

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._client(), name)

    def __enter__(self) -> LeanClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._full is not None:
            self._full.close()
            self._full = None

    def request(self, op: str, params: dict[str, Any] | None = None, *,
                timeout: float | None = None) -> dict[str, Any]:
        if self._full is not None or not _connect.is_local(self.endpoints):
            result: dict[str, Any] = self._client().request(op, params, timeout=timeout)
            return result
        self._ids += 1
        body = {k: v for k, v in (params or {}).items() if v is not None}
        frames = envelope.encode_request(self._ids, op, body)
        limit = self.timeout if timeout is None else timeout
        deadline = None if limit <= 0 else time.monotonic() + limit
        grace: float | None = None
        sent = False
        while True:
            try:
                conn = self._connected(deadline)
                if not sent:
                    conn.send_multipart(frames)
                    sent = True
                return self._reply(conn, self._ids, deadline)
            except TimeoutError:
                self._drop()  # a late reply must not be taken for the next request's
                raise _connect.no_reply(self.dir, self.endpoints, op, limit) from None
            except (ConnectionError, FileNotFoundError, ZmtpError) as e:
                self._drop()
                if isinstance(e, ZmtpError) or not daemon_running(self.dir):
                    raise DaemonNotRunning(_connect.lost(self.dir, self.endpoints)) from None
                # The daemon holds its lock: it is re-executing itself (ptyd upgrade).
                if sent and op not in RESENDABLE_OPS:
                    raise _connect.interrupted(op) from None
                sent = False
                grace = grace or time.monotonic() + RECONNECT_GRACE_S
                if time.monotonic() > grace:
                    raise DaemonNotRunning(f"the ptyd daemon on {self.dir} did not come back"
                                           ) from None
                time.sleep(_RETRY_S)

    def _connected(self, deadline: float | None) -> ZmtpDealer:
        if self._conn is None:
            path = str(self.dir / CONTROL_SOCKET)
            self._conn = ZmtpDealer(path, self._remaining(deadline))
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @staticmethod
    def _remaining(deadline: float | None) -> float | None:
        return None if deadline is None else max(0.001, deadline - time.monotonic())

    def _reply(self, conn: ZmtpDealer, msgid: int, deadline: float | None) -> dict[str, Any]:
        while True:
            conn.settimeout(self._remaining(deadline))
            frames = conn.recv_multipart()
            try:
                reply = envelope.decode_reply(frames)
            except WireError as e:
                raise _connect.undecodable(e) from None
            if reply.id is not None and reply.id != msgid:
                continue  # a reply to an earlier request that timed out
            error = _connect.reply_error(reply)
            if error is not None:
                raise error
            return reply.result or {}
