"""Wire: a blocking connection to a daemon's control socket, with no event loop and no thread.

The fast path of the library: a request is one send and one poll on the caller's thread, so a
one-request command (`ptyd ls`, `ptyd send`) imports no asyncio, the blocking Client pays no
thread hop per call, and `ptyd attach` sends keystrokes without waiting for their replies (a
reply nobody waits for goes to `on_stray`, which shows errors). Replies are matched to requests
by id, as in AsyncClient, whose reconnect rules it keeps: a socket monitor tells a daemon
re-executing itself (ptyd upgrade: it still holds its lock; requests that change nothing are
sent again once ZeroMQ has reconnected, the others fail with ConnectionInterrupted) from one
that went away (DaemonNotRunning, at once rather than at a timeout).

One thread at a time (ZeroMQ sockets are not thread-safe); `interrupt()` alone may be called
from another thread, to end a call in flight with ClientClosed.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import zmq

from ptyd.proto import envelope
from ptyd.proto.errors import ProtocolError as WireError
from ptyd.proto.paths import Endpoints

from . import _connect, _zmqcontext
from ._curve import CurveKeys
from ._daemon_dir import daemon_running
from ._exceptions import (
    AuthenticationFailed,
    ClientClosed,
    DaemonNotRunning,
    PtydError,
    Timeout,
)
from ._rules import DEFAULT_TIMEOUT_S, RECONNECT_GRACE_S, RESENDABLE_OPS

_EVENTS, _POLLIN = int(zmq.EVENTS), int(zmq.POLLIN)
"""Plain ints: enum arithmetic costs microseconds on a path taken per keystroke."""


def readable(sock: zmq.Socket[bytes]) -> bool:
    """Whether a message waits on `sock`: cheaper to ask than a recv that fails."""
    return bool(cast(int, sock.getsockopt(_EVENTS)) & _POLLIN)

HANDSHAKE_FAILURES: dict[int, str] = {
    zmq.EVENT_HANDSHAKE_FAILED_AUTH: "our key is not authorized there",
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "wrong server key (or not a ptyd daemon)",
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "security mismatch (CURVE on one side only)",
}
_RETURN_CHECK_MS = 50
"""While the daemon re-executes, how often to look whether it released its lock for good."""

Stray = Callable[[int, PtydError], None]


class Wire:
    """A DEALER connection to one daemon; see the module docstring."""

    def __init__(self, dir: str | os.PathLike[str] | None = None, *,
                 endpoints: Endpoints | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                 autostart: bool = False, client_name: str = "ptyd-python",
                 curve: CurveKeys | None = None, connect_timeout: float | None = None):
        self.dir: Path
        self.dir, self.endpoints = _connect.locate(dir, endpoints)
        self.timeout = timeout
        self.autostart = autostart
        self.client_name = client_name
        self.curve = curve
        self.connect_timeout = connect_timeout
        """How long the first hello may take (default `timeout`): over TCP a daemon that is not
        there is only silence."""
        self.server: dict[str, Any] = {}
        """The daemon's `hello` reply: version, features, limits."""
        self.on_stray: Stray | None = None
        """Called with (msgid, error) for an error reply to a request sent with `send`."""
        self.lost: str | None = None
        """Why the connection is gone for good (then every request raises DaemonNotRunning)."""
        self.context: zmq.Context[zmq.Socket[bytes]] = _zmqcontext.Context()
        self.dealer: zmq.Socket[bytes] | None = None
        self.monitor: zmq.Socket[bytes] | None = None
        self._local = _connect.is_local(self.endpoints)
        self._ids = itertools.count(1)
        self._waiting: dict[int, tuple[str, dict[str, Any]]] = {}
        self._results: dict[int, dict[str, Any] | PtydError] = {}
        self._interrupted_until: float | None = None
        self._cut_off: set[int] = set()
        self._wake_r, self._wake_w = os.pipe()
        self._poller = zmq.Poller()

    def socket(self, kind: int) -> zmq.Socket[bytes]:
        """A socket of this connection's context, secured with CURVE when it has keys."""
        sock = self.context.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        if self.curve is not None:
            self.curve.apply(sock)
        return sock

    def connect(self) -> dict[str, Any]:
        """Connect (starting the daemon if asked and needed) and say hello."""
        started = _connect.prepare(self.dir, self.endpoints, self.autostart)
        dealer = self.socket(zmq.DEALER)
        dealer.setsockopt(zmq.RECONNECT_IVL, 20)
        self.monitor = dealer.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_CONNECTED
                                                 | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                                                 | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                                                 | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
        dealer.connect(self.endpoints.control)
        self.dealer = dealer
        self._poller.register(dealer, zmq.POLLIN)
        self._poller.register(self.monitor, zmq.POLLIN)
        self._poller.register(self._wake_r, zmq.POLLIN)
        hello = _connect.hello_params(self.client_name)
        if started is None:
            self.server = self.request("hello", hello, timeout=self.connect_timeout)
        else:
            self.server = self._hello_new_daemon(_connect.NewDaemon(self.dir, started), hello)
        return self.server

    def _hello_new_daemon(self, new: _connect.NewDaemon, hello: dict[str, Any]) -> dict[str, Any]:
        """Say hello until the daemon we just started answers, or report why it did not."""
        while True:
            try:
                return self.request("hello", hello, timeout=_connect.NEW_DAEMON_HELLO_TIMEOUT_S)
            except (Timeout, DaemonNotRunning):
                if (failure := new.failure()) is not None:
                    raise failure from None
                self.lost = None  # a daemon still starting is not a daemon lost

    def close(self) -> None:
        for msgid in list(self._waiting):
            self._results[msgid] = DaemonNotRunning("the client was closed")
        if self.dealer is not None:
            self.dealer.disable_monitor()
            self.dealer.close(linger=0)
            self.dealer = None
        if self.monitor is not None:
            self.monitor.close(linger=0)
            self.monitor = None
        self.context.destroy(linger=0)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._wake_r = self._wake_w = -1

    def interrupt(self) -> None:
        """From another thread: make the call in flight (if any) raise ClientClosed."""
        with contextlib.suppress(OSError):  # already closed
            os.write(self._wake_w, b"x")

    # -- requests ---------------------------------------------------------------------------------

    def send(self, op: str, params: dict[str, Any] | None = None, *, wait: bool = False) -> int:
        """Send one request and return its id without waiting for the reply (unless `wait`:
        then `wait_reply(id)` must follow). Parameters that are None are left out."""
        if self.dealer is None:
            raise DaemonNotRunning("not connected (call connect() first)")
        if self.lost is not None:
            raise DaemonNotRunning(self.lost)
        # Monitor events that came while nobody polled (an upgrade between two calls) are
        # about earlier requests: take them now, or this one would be taken for interrupted.
        self._read_monitor()
        msgid = next(self._ids) & envelope.MAX_MSGID
        body = {k: v for k, v in (params or {}).items() if v is not None}
        if wait:
            self._waiting[msgid] = (op, body)
        self.dealer.send_multipart(envelope.encode_request(msgid, op, body))
        return msgid

    def request(self, op: str, params: dict[str, Any] | None = None, *,
                timeout: float | None = None) -> dict[str, Any]:
        """Send one request and return its result; raise the RemoteError subclass of an error
        reply, Timeout, or DaemonNotRunning. `timeout` (seconds, 0 for none) bounds the wait
        for the reply, default `self.timeout`."""
        return self.wait_reply(self.send(op, params, wait=True), timeout)

    def wait_reply(self, msgid: int, timeout: float | None = None) -> dict[str, Any]:
        op = self._waiting[msgid][0]
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit if limit > 0 else None
        try:
            while msgid not in self._results:
                wait_ms = None if deadline is None else \
                    max(0, int((deadline - time.monotonic()) * 1000) + 1)
                if self._interrupted_until is not None:
                    wait_ms = _RETURN_CHECK_MS if wait_ms is None else \
                        min(wait_ms, _RETURN_CHECK_MS)
                ready = dict(self._poller.poll(wait_ms))
                if self._wake_r in ready:
                    raise ClientClosed("the Client was closed during this call")
                self.process(ready)
                if msgid in self._results:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    raise _connect.no_reply(self.dir, self.endpoints, op, limit)
            outcome = self._results.pop(msgid)
        finally:
            self._waiting.pop(msgid, None)
            self._results.pop(msgid, None)
        if isinstance(outcome, PtydError):
            raise outcome
        return outcome

    def process(self, ready: dict[Any, int]) -> None:
        """Handle what the poll found readable on the control and monitor sockets (for a caller
        that polls these sockets among its own, like attach)."""
        if self.monitor is not None and self.monitor in ready:
            self._read_monitor()
        if self.dealer is not None and self.dealer in ready:
            self._read_replies()
        self.check_return()

    def _read_replies(self) -> None:
        assert self.dealer is not None
        while readable(self.dealer):
            frames = self.dealer.recv_multipart(zmq.NOBLOCK)
            try:
                reply = envelope.decode_reply(frames)
            except WireError as e:
                self._fail_waiting(_connect.undecodable(e))
                continue
            error = _connect.reply_error(reply)
            if reply.id is None:
                if error is not None:
                    # The daemon could not read a request's id: fail every request in flight.
                    self._fail_waiting(error)
            elif reply.id in self._waiting:
                self._results[reply.id] = error if error is not None else reply.result or {}
            elif error is not None and self.on_stray is not None:
                self.on_stray(reply.id, error)

    def _read_monitor(self) -> None:
        if self.monitor is None or not readable(self.monitor):
            return  # (this runs before every request)
        while True:
            try:
                frames = self.monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            # A monitor message starts with the event number, 16 bits in native byte order
            # (zmq.utils.monitor would decode it too, but it imports zmq.asyncio).
            kind = int.from_bytes(frames[0][:2], sys.byteorder)
            # Without CURVE there is no key to refuse: a handshake that fails was cut short by
            # a daemon going away mid-connect (ptyd upgrade re-executing it), which is a
            # disconnect, not an authentication failure.
            cut_short = kind in HANDSHAKE_FAILURES and self.curve is None
            if kind == zmq.EVENT_DISCONNECTED or cut_short:
                if self._local and daemon_running(self.dir):
                    if self._interrupted_until is None:
                        self._interrupted_until = time.monotonic() + RECONNECT_GRACE_S
                        # Only what was in flight now; what is sent while we reconnect waits
                        # in ZeroMQ's queue and goes out once (never resent, never failed).
                        self._cut_off = set(self._waiting)
                        self._fail_waiting(_connect.interrupted,
                                           lambda op: op not in RESENDABLE_OPS)
                else:
                    self._give_up()
            elif kind in HANDSHAKE_FAILURES:
                # CURVE is silent by design: only the monitor tells why nothing answers.
                self.lost = (f"the daemon at {self.endpoints.control} refused the connection: "
                             f"{HANDSHAKE_FAILURES[kind]}")
                self._fail_waiting(AuthenticationFailed(self.lost))
            elif kind == zmq.EVENT_CONNECTED and self._interrupted_until is not None:
                self._interrupted_until = None
                self._resend_waiting()

    @property
    def interrupted(self) -> bool:
        """The daemon is re-executing itself and we wait for its successor."""
        return self._interrupted_until is not None

    def check_return(self) -> None:
        """While interrupted: give up if the daemon released its lock or the grace is over."""
        if self._interrupted_until is None:
            return
        if time.monotonic() > self._interrupted_until or not daemon_running(self.dir):
            self._give_up()

    def _give_up(self) -> None:
        self.lost = _connect.lost(self.dir, self.endpoints)
        self._interrupted_until = None
        self._fail_waiting(DaemonNotRunning(self.lost))

    def _fail_waiting(self, error: PtydError | Callable[[str], PtydError],
                      which: Callable[[str], bool] | None = None) -> None:
        for msgid, (op, _) in self._waiting.items():
            if msgid not in self._results and (which is None or which(op)):
                self._results[msgid] = error(op) if callable(error) else error

    def _resend_waiting(self) -> None:
        assert self.dealer is not None
        for msgid, (op, body) in self._waiting.items():
            if msgid not in self._results and msgid in self._cut_off:
                self.dealer.send_multipart(envelope.encode_request(msgid, op, body))
        self._cut_off = set()
