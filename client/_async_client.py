"""AsyncClient: the asyncio core of the client library. The blocking Client wraps it.

One DEALER socket carries requests; replies are matched to requests by id, so any number of
requests (a long `wait` among them) can be in flight at once. A socket monitor notices the
daemon going away and fails the requests in flight at once, instead of at their timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, overload

import zmq
import zmq.asyncio
from zmq.utils.monitor import parse_monitor_message

from ptyd.proto import envelope, pubsub
from ptyd.proto.errors import ProtocolError as WireError
from ptyd.proto.paths import Endpoints

from . import _connect
from ._caller import spawn_context
from ._curve import CurveKeys
from ._daemon_dir import daemon_running
from ._exceptions import (
    AuthenticationFailed,
    DaemonNotRunning,
    LimitExceeded,
    ProtocolError,
    PtydError,
    Timeout,
    remote_error,
)
from ._follow import Follower
from ._rules import (
    BUDGET_RETRY_FIRST_S,
    BUDGET_RETRY_FOR_S,
    BUDGET_RETRY_MAX_S,
    DEFAULT_TIMEOUT_S,
    RECONNECT_GRACE_S,
    RESENDABLE_OPS,
    budget_refusal,
)
from ._session import AsyncSession
from ._stderr import stderr_stream
from ._stream import Lost, OutputStream
from ._wire import HANDSHAKE_FAILURES
from ._zmqcontext import OwnsSockets

LATE_REPLY_GRACE_S = 0.1
"""How long a timed-out request still waits for a reply already on its way (see `request`)."""

MAX_UNACKED = 4096
"""Ids of inputs sent without waiting that are kept until a later reply shows them accepted;
past this, the oldest are forgotten (an error for one of them is then taken for a stray)."""


class AsyncClient:
    """A connection to one ptyd daemon.

    `AsyncClient()` talks to the default daemon of this user (see `ptyd.proto.paths`);
    `AsyncClient(dir=...)` to the daemon of another runtime directory; `autostart=True` starts
    a daemon there if none runs. Use as `async with AsyncClient() as c: ...`.
    """

    def __init__(self, dir: str | os.PathLike[str] | None = None, *,
                 endpoints: Endpoints | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                 autostart: bool = False, client_name: str = "ptyd-python",
                 curve: CurveKeys | None = None, connect_timeout: float | None = None):
        self.dir: Path
        self.dir, self.endpoints = _connect.locate(dir, endpoints)
        self.connect_timeout = connect_timeout
        """How long `connect()` waits for the daemon's hello (default: `timeout`); a daemon
        over TCP that is not there only shows as silence, so a CLI keeps this short."""
        self.curve = curve
        """Keys for a daemon reached over TCP; required there (the daemon refuses plain TCP)."""
        self.timeout = timeout
        self.autostart = autostart
        self.client_name = client_name
        self.server: dict[str, Any] = {}
        """The daemon's `hello` reply: version, features, limits."""
        self._ctx: zmq.asyncio.Context | None = None
        self._dealer: zmq.asyncio.Socket | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._lost: str | None = None
        self._interrupted = False
        self._inflight: dict[int, tuple[str, dict[str, Any]]] = {}
        self._local = _connect.is_local(self.endpoints)
        self._followers: set[Follower] = set()
        """The session handles' followers that run (their tasks hold them, not the handles,
        which may be dropped): close() ends each, rather than stop the loop under it."""
        self._unacked: OrderedDict[int, None] = OrderedDict()
        """Ids of inputs sent without waiting, not yet known to be accepted (input(wait=False))."""
        self._unacked_error: PtydError | None = None

    async def __aenter__(self) -> AsyncClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def context(self) -> zmq.asyncio.Context:
        if self._ctx is None:
            self._ctx = _Context()
        return self._ctx

    def socket(self, kind: int) -> zmq.asyncio.Socket:
        """A socket of this client's context, secured with CURVE when the client has keys."""
        sock = self.context.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        if self.curve is not None:
            self.curve.apply(sock)
        return sock

    async def connect(self) -> dict[str, Any]:
        """Connect (starting the daemon if asked and needed) and say hello."""
        started = _connect.prepare(self.dir, self.endpoints, self.autostart)
        dealer = self.socket(zmq.DEALER)
        dealer.setsockopt(zmq.RECONNECT_IVL, 20)
        monitor = dealer.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_CONNECTED
                                            | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                                            | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                                            | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
        dealer.connect(self.endpoints.control)
        self._dealer = dealer
        self._tasks = [asyncio.ensure_future(self._receive()),
                       asyncio.ensure_future(self._watch(monitor))]
        hello = _connect.hello_params(self.client_name)
        if started is None:
            self.server = await self.request("hello", hello, timeout=self.connect_timeout)
        else:
            self.server = await self._hello_new_daemon(_connect.NewDaemon(self.dir, started), hello)
        return self.server

    async def _hello_new_daemon(self, new: _connect.NewDaemon, hello: dict[str, Any]
                                ) -> dict[str, Any]:
        """Say hello until the daemon we just started answers, or report why it did not."""
        while True:
            try:
                return await self.request("hello", hello,
                                          timeout=_connect.NEW_DAEMON_HELLO_TIMEOUT_S)
            except (Timeout, DaemonNotRunning):
                if (failure := new.failure()) is not None:
                    raise failure from None

    async def close(self) -> None:
        for follower in list(self._followers):
            await follower.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        self._fail_pending(DaemonNotRunning("the client was closed"))
        if self._dealer is not None:
            self._dealer.disable_monitor()
            self._dealer.close(linger=0)
            self._dealer = None
        if self._ctx is not None:
            self._ctx.destroy(linger=0)
            self._ctx = None

    # -- requests ---------------------------------------------------------------------------------

    async def request(self, op: str, params: dict[str, Any] | None = None, *,
                      timeout: float | None = None) -> dict[str, Any]:
        """Send one request and return its result; raise the RemoteError subclass of an error
        reply, Timeout, or DaemonNotRunning. Parameters that are None are left out; `timeout`
        (seconds, 0 for none) bounds the wait for the reply, default `self.timeout`."""
        if self._dealer is None:
            raise DaemonNotRunning("not connected (call connect() first)")
        if self._lost is not None:
            raise DaemonNotRunning(self._lost)
        msgid = next(self._ids) & envelope.MAX_MSGID
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msgid] = future
        body = {k: v for k, v in (params or {}).items() if v is not None}
        self._inflight[msgid] = (op, body)
        try:
            await self._dealer.send_multipart(envelope.encode_request(msgid, op, body))
            limit = self.timeout if timeout is None else timeout
            if limit <= 0:
                return await future
            # asyncio.wait leaves the future alone at the deadline (asyncio.timeout and wait_for
            # cancel it), so a reply on its way still lands in it. A process stopped (SIGSTOP)
            # past the deadline wakes with every timer expired and runs them before the reply
            # that came meanwhile is read, or before ZeroMQ's I/O thread has even taken it
            # from the kernel: a short grace of running time lets it land.
            await asyncio.wait((future,), timeout=limit)
            if not future.done():
                await asyncio.wait((future,), timeout=LATE_REPLY_GRACE_S)
            if future.done():
                return future.result()
            if self.endpoints.control.startswith("ipc://") and not daemon_running(self.dir):
                raise DaemonNotRunning(f"the ptyd daemon on {self.dir} is not running")
            raise Timeout(f"no reply to {op!r} within {timeout or self.timeout:g}s")
        finally:
            self._pending.pop(msgid, None)
            self._inflight.pop(msgid, None)

    async def _receive(self) -> None:
        assert self._dealer is not None
        while True:
            frames = await self._dealer.recv_multipart()
            try:
                reply = envelope.decode_reply(frames)
            except WireError as e:
                self._fail_pending(ProtocolError(f"undecodable reply from the daemon: {e}"))
                continue
            if reply.id is not None and self._unacked and self._note_reply(
                    reply.id, None if reply.error is None else remote_error(
                        reply.error.code, reply.error.message, reply.error.data)):
                continue
            future = self._pending.get(reply.id) if reply.id is not None else None
            if future is None or future.done():
                if reply.id is None and reply.error is not None:
                    # The daemon could not read a request's id: fail every request in flight.
                    self._fail_pending(remote_error(reply.error.code, reply.error.message,
                                                    reply.error.data))
                continue
            if reply.error is not None:
                future.set_exception(remote_error(reply.error.code, reply.error.message,
                                                  reply.error.data))
            else:
                assert reply.result is not None
                future.set_result(reply.result)

    async def _watch(self, monitor: zmq.asyncio.Socket) -> None:
        """The control socket's peer closed the connection. If the daemon still holds its lock,
        it is re-executing itself (ptyd upgrade): requests that are safe to repeat are sent
        again once ZeroMQ has reconnected, the others fail with ConnectionInterrupted (they may
        or may not have been applied). Otherwise the daemon stopped or died."""
        grace: asyncio.Task[None] | None = None
        try:
            while True:
                event = parse_monitor_message(await monitor.recv_multipart())
                # Without CURVE there is no key to refuse: a handshake that fails was cut short
                # by a daemon going away mid-connect (ptyd upgrade re-executing it), which is a
                # disconnect, not an authentication failure.
                cut_short = event["event"] in HANDSHAKE_FAILURES and self.curve is None
                if event["event"] == zmq.EVENT_DISCONNECTED or cut_short:
                    if self._local and daemon_running(self.dir):
                        if not self._interrupted:
                            self._interrupted = True
                            self._fail_inflight(lambda op: op not in RESENDABLE_OPS)
                            grace = asyncio.ensure_future(self._await_return())
                    else:
                        self._give_up()
                elif event["event"] in HANDSHAKE_FAILURES:
                    # CURVE is silent by design: only the monitor tells why nothing answers.
                    self._lost = (f"the daemon at {self.endpoints.control} refused the "
                                  f"connection: {HANDSHAKE_FAILURES[event['event']]}")
                    self._fail_pending(AuthenticationFailed(self._lost))
                elif event["event"] == zmq.EVENT_CONNECTED and self._interrupted:
                    self._interrupted = False
                    if grace is not None:
                        grace.cancel()
                    await self._resend_inflight()
        finally:
            if grace is not None:
                grace.cancel()
            monitor.close(linger=0)

    async def _await_return(self) -> None:
        """Give a restarting daemon a while to come back; give up if it released its lock."""
        deadline = asyncio.get_running_loop().time() + RECONNECT_GRACE_S
        while self._interrupted:
            if not daemon_running(self.dir) or asyncio.get_running_loop().time() > deadline:
                self._give_up()
                return
            await asyncio.sleep(0.05)

    def _give_up(self) -> None:
        self._lost = _connect.lost(self.dir, self.endpoints)
        self._interrupted = False
        self._fail_pending(DaemonNotRunning(self._lost))

    def _fail_inflight(self, which: Callable[[str], bool]) -> None:
        for msgid, (op, _) in list(self._inflight.items()):
            future = self._pending.get(msgid)
            if which(op) and future is not None and not future.done():
                future.set_exception(_connect.interrupted(op))

    async def _resend_inflight(self) -> None:
        assert self._dealer is not None
        for msgid, (op, body) in list(self._inflight.items()):
            future = self._pending.get(msgid)
            if future is not None and not future.done():
                await self._dealer.send_multipart(envelope.encode_request(msgid, op, body))

    def _fail_pending(self, error: Exception) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)

    # -- operations -------------------------------------------------------------------------------

    async def hello(self) -> dict[str, Any]:
        return await self.request("hello", _connect.hello_params(self.client_name))

    async def spawn(self, argv: list[str], *, name: str | None = None,
                    cwd: str | os.PathLike[str] | None = None,
                    env: Mapping[str, str] | None = None, cols: int | None = None,
                    rows: int | None = None, scrollback_bytes: int | None = None,
                    size_policy: str | None = None, agent: str | None = None,
                    agent_settings: dict[str, Any] | None = None,
                    idle_after: float | None = None, timeout: float | None = None,
                    stderr: str | None = None,
                    extra_env: Mapping[str, str] | None = None,
                    record: str | None = None, record_input: bool | None = None,
                    trust: bool | None = None, keep_processes: bool | None = None,
                    notify: list[dict[str, Any]] | None = None) -> AsyncSession:
        """Start `argv` under a new PTY; returns a handle on the session, which is also its
        info (a dict).

        Like `subprocess.Popen`, the program runs in this process's current directory (`cwd`:
        another one; relative to the current one) with this process's environment (`env`: the
        whole environment instead; `extra_env`: variables added to either). ptyd only scrubs
        multiplexer variables and sets TERM. On a remote daemon (tcp://) the defaults are the
        daemon's own directory and environment: this machine's mean nothing there.

        `agent='claude'`: the daemon passes Claude Code a settings file whose hooks report
        its state exactly (`agent_settings` are merged into that file) and sets
        DISABLE_AUTOUPDATER=1. `idle_after`: for other programs, seconds of output silence
        after which the state is `idle` (default 2). `timeout`: the daemon stops the session
        after that many seconds (SIGTERM, SIGKILL after the kill grace; stop_reason
        'timeout'). `stderr='pipe'`: the program's stderr gets its own pipe, read with
        `read(..., stream='stderr')`, instead of sharing the terminal. `record='asciicast'`
        (plays with `asciinema play`) or `'log'` (raw bytes): the daemon writes a recording of
        the session, read with `ptyd logs NAME` even after `ptyd rm`; `record_input=True` also
        records typed input (asciicast); default: the daemon's configuration. `trust=True` (with
        `agent='claude'`): the daemon marks the working directory trusted in Claude's config
        (the session's HOME) first, which answers Claude's "trust this folder" dialog.
        `keep_processes`: processes the program leaves behind when it exits by itself keep
        running (by default they are ended with it).
        `notify`: this session's own notification rules, each a dict as a [[notify]] table
        of the configuration file (states, sessions, command or webhook, delay, timeout).
        """
        info = await self.request("spawn", {
            "argv": list(argv), "name": name,
            **spawn_context(self._local, cwd, env, extra_env),
            "record": record, "record_input": record_input, "cols": cols,
            "rows": rows, "scrollback_bytes": scrollback_bytes, "size_policy": size_policy,
            "agent": agent, "agent_settings": agent_settings, "idle_after": idle_after,
            "timeout": timeout, "stderr": stderr, "trust": trust or None,
            "keep_processes": keep_processes, "notify": notify})
        return self._handle(info, int(info.get("base", 0)))

    async def session(self, name: str, *, start: int | None = None) -> AsyncSession:
        """A handle on an existing session (NoSuchSession if there is none). Its expect(),
        callbacks and wait_until_quiet() read from `start`: by default the end of the output
        now (only what comes next; pass 0, or the info's `base`, for all that is held)."""
        info = await self.info(name)
        if start is None:
            return self._handle(info, int(info["end"]), int(info.get("stderr_end") or 0))
        return self._handle(info, start, 0)

    def _handle(self, info: dict[str, Any], start: int, stderr_start: int = 0) -> AsyncSession:
        return AsyncSession(self, info, start=start, stderr_start=stderr_start)

    async def list(self) -> list[dict[str, Any]]:
        sessions: list[dict[str, Any]] = (await self.request("list"))["sessions"]
        return sessions

    async def info(self, session: str) -> dict[str, Any]:
        return await self.request("info", {"session": session})

    @overload
    async def input(self, session: str, data: bytes | str, *, force: bool = False,
                    wait: Literal[True] = True) -> dict[str, Any]: ...

    @overload
    async def input(self, session: str, data: bytes | str, *, force: bool = False,
                    wait: Literal[False]) -> None: ...

    async def input(self, session: str, data: bytes | str, *, force: bool = False,
                    wait: bool = True) -> dict[str, Any] | None:
        """Type `data`. The reply has `turn` and `seq` (the agent's turn and the daemon's last
        event number at that moment: give one to wait() to wait for what this input starts),
        and `held` (an agent still starting: typed once it is idle). Text to an agent at a
        dialog raises AgentDialog unless `force`.

        `wait=False`: send and return None at once, as a person types (the daemon answers only
        if the input fails: `ack` false). Inputs keep their order. The error of an input sent
        so is raised by the next `input` call on this client; errors of two such inputs before
        that call: the first is raised."""
        if isinstance(data, str):
            data = data.encode()
        self._raise_unacked_error()
        params = {"session": session, "data": data, "force": force or None}
        if wait:
            return await self.request("input", params)
        await self._send_unacked("input", params)
        return None

    async def _send_unacked(self, op: str, params: dict[str, Any]) -> None:
        if self._dealer is None:
            raise DaemonNotRunning("not connected (call connect() first)")
        if self._lost is not None:
            raise DaemonNotRunning(self._lost)
        if "input-ack" in self.server.get("features", ()):
            params = {**params, "ack": False}
        msgid = next(self._ids) & envelope.MAX_MSGID
        self._unacked[msgid] = None
        if len(self._unacked) > MAX_UNACKED:
            self._unacked.popitem(last=False)  # long since done: see _note_reply
        body = {k: v for k, v in params.items() if v is not None}
        await self._dealer.send_multipart(envelope.encode_request(msgid, op, body))

    def _note_reply(self, msgid: int, error: PtydError | None) -> bool:
        """Keep the error of an input sent without waiting; forget the inputs sent before
        `msgid` (requests of one connection are answered in order: a later reply means they
        were accepted). True if `msgid` was such an input."""
        unacked = msgid in self._unacked
        if unacked:
            del self._unacked[msgid]
            if error is not None and self._unacked_error is None:
                self._unacked_error = error
        while self._unacked and next(iter(self._unacked)) < msgid:
            self._unacked.popitem(last=False)
        return unacked

    def _raise_unacked_error(self) -> None:
        error, self._unacked_error = self._unacked_error, None
        if error is not None:
            raise error

    async def resize(self, session: str, cols: int, rows: int) -> dict[str, Any]:
        return await self.request("resize", {"session": session, "cols": cols, "rows": rows})

    async def signal(self, session: str, signal: str | int, *, group: bool = False
                     ) -> dict[str, Any]:
        return await self.request("signal", {"session": session, "signal": signal,
                                             "group": group})

    async def kill(self, session: str, *, signal: str | int | None = None,
                   grace: float | None = None) -> dict[str, Any]:
        return await self.request("kill", {"session": session, "signal": signal,
                                           "grace": grace})

    async def read(self, session: str, offset: int | None = None, *,
                   max_bytes: int | None = None, clamp: bool = False,
                   stream: str | None = None) -> dict[str, Any]:
        """Scrollback from `offset` (default: the oldest byte held); `stream='stderr'` reads
        the separate stderr of a session spawned with stderr='pipe'. A refusal by the
        daemon's reply budget (replies it still holds for us) is retried for a few seconds."""
        params = {"session": session, "offset": offset, "max_bytes": max_bytes,
                  "clamp": clamp or None, "stream": stream}
        loop = asyncio.get_running_loop()
        deadline, pause = loop.time() + BUDGET_RETRY_FOR_S, BUDGET_RETRY_FIRST_S
        while True:
            try:
                return await self.request("read", params)
            except LimitExceeded as e:
                if not budget_refusal(e) or loop.time() > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, BUDGET_RETRY_MAX_S)

    async def wait(self, session: str, timeout: float | None = None, *,
                   until: str | Sequence[str] | None = None, after_turn: int | None = None,
                   since_seq: int | None = None) -> dict[str, Any]:
        """Wait for the session to exit, or with `until` to be in one of those agent states
        ('starting', 'working', 'waiting', 'idle', 'error', 'exited'): the reply comes at once
        if it already is, or when it gets there, or when it exits. `since_seq` (an input
        reply's `seq`) / `after_turn` (its `turn`): only a state entered after that input /
        in a later turn counts, so the idle from before a prompt never answers a wait for its
        end. The result is its info plus `exited` and `reached` (False if the timeout passed
        first)."""
        transport = 0.0 if timeout is None else timeout + self.timeout
        states = [until] if isinstance(until, str) else None if until is None else list(until)
        return await self.request("wait", {"session": session, "timeout": timeout,
                                           "until": states, "after_turn": after_turn,
                                           "since_seq": since_seq}, timeout=transport)

    async def remove(self, session: str, *, force: bool = False) -> dict[str, Any]:
        """`force`: end a running session first; the daemon answers once it exited, within
        its kill grace (+5 s), which may be longer than this client's timeout."""
        return await self.request("remove", {"session": session, "force": force or None},
                                  timeout=0 if force else None)

    async def pause(self, session: str, *, message: str | None = None) -> dict[str, Any]:
        """Put an agent's workspace away: end the agent, commit its work in progress to its
        branch (a WIP commit; `message` instead of the default), remove its checkout. Git work
        and the agent's end may take longer than a quick request: no client timeout."""
        return await self.request("pause", {"session": session, "message": message},
                                  timeout=0)

    async def resume(self, session: str) -> dict[str, Any]:
        """Check a paused agent's branch out again and start its command there (a Claude
        agent with `--resume=ID`); returns the new session's info."""
        return await self.request("resume", {"session": session}, timeout=0)

    async def shutdown(self, grace: float | None = None) -> dict[str, Any]:
        return await self.request("shutdown", {"grace": grace})

    async def events(self, since: int, max: int | None = None) -> dict[str, Any]:
        return await self.request("events", {"since": since, "max": max})

    # -- streams ----------------------------------------------------------------------------------

    def output(self, session: str, offset: int | None = None, *, follow: bool = True,
               stream: str = "stdout") -> AsyncIterator[pubsub.OutputChunk | Lost]:
        """The session's output from `offset` (default: the oldest byte held), then live, with
        no gap and no duplicate; ends when the session exits (or at once if not `follow`).
        Bytes evicted before they were read come as one `Lost(offset, end)` marker.
        `stream='stderr'`: the separate stderr of a session spawned with stderr='pipe'
        (offsets count in its own ring)."""
        if stream == "stderr":
            return stderr_stream(self, session, offset, follow)
        if stream != "stdout":
            raise ValueError(f"stream must be 'stdout' or 'stderr', not {stream!r}")
        output = OutputStream(self, session, offset, follow)
        return aiter(output)  # type: ignore[arg-type]  # events=False: only chunks and Lost


class _Context(OwnsSockets, zmq.asyncio.Context):
    """An asyncio context safe to drop unclosed (client/_zmqcontext.py)."""
