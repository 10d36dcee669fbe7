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

from ._daemon_dir import (
    check_runtime_dir,
    check_sockets,
    daemon_running,
    log_tail,
    resolve_dir,
    start_daemon,
)
from ._exceptions import (
    ConnectionInterrupted,
    DaemonNotRunning,
    ProtocolError,
    Timeout,
    remote_error,
)
from ._requests import BlockingRequests
from ._rules import AUTOSTART_TIMEOUT_S, DEFAULT_TIMEOUT_S, RECONNECT_GRACE_S, RESENDABLE_OPS
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
        self.dir: Path = resolve_dir(dir)
        self.endpoints = endpoints or Endpoints.in_dir(self.dir)
        self.timeout = timeout
        self.client_name = client_name
        self.curve = curve
        self.connect_timeout = connect_timeout
        self.server: dict[str, Any] = {}
        self._full: Any = None
        self._conn: ZmtpDealer | None = None
        self._ids = 0
        if not self.endpoints.control.startswith("ipc://"):
            self.server = self._client().server  # remote: CURVE needs pyzmq
            return
        # Before anything is opened, created or sent: the directory (and its sockets) must be
        # ours alone, or the daemon there may be a stranger's (UnsafeRuntimeDir).
        if check_runtime_dir(self.dir):
            check_sockets(self.endpoints)
        if daemon_running(self.dir):
            self.server = self.hello()
            return
        if not autostart:
            raise DaemonNotRunning(f"no ptyd daemon is running on {self.dir} "
                                   "(ptyd new starts one, ptyd serve runs one)")
        started = start_daemon(self.dir)  # creates the directory 0700 or checks it again
        deadline = time.monotonic() + AUTOSTART_TIMEOUT_S
        while not self.server:
            try:
                self.server = self.hello()
            except (DaemonNotRunning, Timeout):
                if started.poll() is not None and not daemon_running(self.dir):
                    raise DaemonNotRunning("the daemon failed to start (exit code "
                                           f"{started.returncode}):\n{log_tail(self.dir)}"
                                           ) from None
                if time.monotonic() > deadline:
                    raise Timeout(f"the daemon started on {self.dir} did not answer within "
                                  f"{AUTOSTART_TIMEOUT_S:g}s:\n{log_tail(self.dir)}") from None
                time.sleep(_RETRY_S)

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
        if self._full is not None or not self.endpoints.control.startswith("ipc://"):
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
                if not daemon_running(self.dir):
                    raise DaemonNotRunning(f"the ptyd daemon on {self.dir} is not running"
                                           ) from None
                raise Timeout(f"no reply to {op!r} within {limit:g}s") from None
            except (ConnectionError, FileNotFoundError, ZmtpError) as e:
                self._drop()
                if isinstance(e, ZmtpError) or not daemon_running(self.dir):
                    raise DaemonNotRunning(f"lost the connection to the ptyd daemon on "
                                           f"{self.dir}") from None
                # The daemon holds its lock: it is re-executing itself (ptyd upgrade).
                if sent and op not in RESENDABLE_OPS:
                    raise ConnectionInterrupted(f"the daemon restarted while {op!r} was in "
                                                "flight; it may or may not have been applied"
                                                ) from None
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
                raise ProtocolError(f"undecodable reply from the daemon: {e}") from None
            if reply.id is not None and reply.id != msgid:
                continue  # a reply to an earlier request that timed out
            if reply.error is not None:
                raise remote_error(reply.error.code, reply.error.message, reply.error.data)
            return reply.result or {}
