"""One live view of one daemon's sessions, kept by its event stream (never by polling).

The view lists the sessions once, then applies `evt` messages as they come: a new session is
looked up with `info`, a state change is copied in, a removal drops the row. A gap in the event
sequence numbers (the daemon dropped messages for us, or restarted: a new boot) or a heartbeat
that is ahead of us means something was missed: list again. When the daemon goes away, the
view reconnects with a fresh client until it answers again (a restart, an upgrade)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import zmq

from ptyd.client import AsyncClient, CurveKeys, PtydError
from ptyd.proto import pubsub
from ptyd.proto.paths import Endpoints

from .model import Row

SILENCE_PROBE_S = 3.0
"""Heartbeats come every second: this long without any message, ask the daemon if it is there."""
RETRY_S = 0.5
GIT_REFRESH_MIN_S = 1.0
"""At most one `git.diff` + `git.info` per agent per second."""
TURN_OVER = frozenset({"idle", "waiting", "error", "exited"})
"""States after which an agent's branch stats are looked at again: its files change while it
works, and a person reads the stats when it stops (the git workers are shared by all)."""


@dataclass
class Target:
    """How to reach one daemon, and the options that make `ptyd attach` reach the same one."""

    name: str
    dir: str | None = None
    endpoints: Endpoints | None = None
    curve: CurveKeys | None = None
    cli_args: list[str] = field(default_factory=list)

    def client(self) -> AsyncClient:
        return AsyncClient(self.dir, endpoints=self.endpoints, curve=self.curve, timeout=10,
                           client_name="ptyd-top")


class DaemonView:
    def __init__(self, target: Target, changed: Callable[[], None],
                 output: Callable[[str, str], None]):
        self.target = target
        self._changed = changed
        self._output = output
        self.rows: dict[str, Row] = {}
        self.client: AsyncClient | None = None
        self.status = "connecting"
        self.down_since: float | None = time.monotonic()
        self._sub: zmq.asyncio.Socket | None = None
        self._preview: str | None = None
        self._last_seq: int | None = None
        self._boot: str | None = None
        self._git_busy: set[str] = set()
        self._git_again: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def up(self) -> bool:
        return self.status == "up"

    # -- the connection ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Forever: connect, follow the events; on loss, say so and connect again."""
        while True:
            try:
                await self._connect()
                await self._follow()
            except (PtydError, zmq.ZMQError, OSError) as e:
                self._set_down(str(e).splitlines()[0] if str(e) else type(e).__name__)
            except Exception as e:  # a reply we did not foresee: show it, and start over
                self._set_down(f"{type(e).__name__}: {e}")
            finally:
                await self._disconnect()
            await asyncio.sleep(RETRY_S)

    async def _connect(self) -> None:
        client = self.target.client()
        self.client = client
        await client.connect()
        sub = client.socket(zmq.SUB)
        sub.connect(client.endpoints.publish)
        sub.setsockopt(zmq.SUBSCRIBE, pubsub.EVENT_TOPIC)
        self._sub = sub
        if self._preview is not None:
            sub.setsockopt(zmq.SUBSCRIBE, pubsub.output_topic(self._preview))
        self._last_seq = None
        await self.relist()  # at once for the first frame; again at the first heartbeat
        self.status, self.down_since = "up", None
        self._changed()

    async def _disconnect(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._sub is not None:
            self._sub.close(linger=0)
            self._sub = None
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()
            self.client = None

    def _set_down(self, why: str) -> None:
        self.status = f"down: {why}"
        if self.down_since is None:
            self.down_since = time.monotonic()
        self._changed()

    async def _follow(self) -> None:
        assert self._sub is not None and self.client is not None
        while True:
            if not await self._sub.poll(SILENCE_PROBE_S * 1000):
                await self.client.hello()  # raises when the daemon is gone
                continue
            frames = await self._sub.recv_multipart()
            message = pubsub.decode_published(frames)
            if isinstance(message, pubsub.Event):
                await self._event(message)
            elif isinstance(message, pubsub.OutputChunk):
                self._output(self.target.name, message.session)

    # -- events -----------------------------------------------------------------------------------

    async def _event(self, event: pubsub.Event) -> None:
        first = self._last_seq is None
        new_boot = self._boot is not None and event.boot != self._boot
        self._boot = event.boot
        if event.type == "heartbeat":  # carries the last seq given, not a new one
            if first or new_boot or event.seq > (self._last_seq or 0):
                # First heartbeat: our subscription is in effect now; anything published
                # between our `list` and that moment is covered by listing again.
                self._last_seq = event.seq
                await self.relist()
            return
        if not first and not new_boot and event.seq <= (self._last_seq or 0):
            return  # already covered by a list made after it
        gap = not first and (new_boot or event.seq != (self._last_seq or 0) + 1)
        self._last_seq = event.seq
        if gap:
            await self.relist()
            return
        body, name = event.fields, event.fields.get("session")
        if event.type == "session.spawned" and isinstance(name, str):
            await self._refresh(name)
        elif event.type == "session.removed" and isinstance(name, str):
            self.rows.pop(name, None)
        elif event.type == "session.state" and isinstance(name, str) and name in self.rows:
            self.rows[name].info.update(
                state=body.get("state"), state_reason=body.get("state_reason"),
                state_text=body.get("state_text"), turn=body.get("turn"),
                state_since=event.time, state_seq=event.seq)
            if body.get("state") in TURN_OVER:
                self.refresh_git(name)
        elif event.type in ("session.exited", "session.resized", "session.paused") and \
                isinstance(name, str):
            await self._refresh(name)
        elif event.type in ("viewer.attached", "viewer.detached") and name in self.rows:
            self.rows[str(name)].info["viewers"] = body.get("viewers", 0)
        elif event.type in ("daemon.started", "daemon.upgraded"):
            await self.relist()
        else:
            return
        self._changed()

    async def relist(self) -> None:
        assert self.client is not None
        sessions = await self.client.list()
        old = self.rows
        self.rows = {}
        for info in sessions:
            row = old.get(info["name"]) or Row(self.target.name, info)
            row.info = info
            self.rows[row.name] = row
            if row.diff is None:
                self.refresh_git(row.name)
        self._changed()

    async def _refresh(self, name: str) -> None:
        assert self.client is not None
        try:
            info = await self.client.info(name)
        except PtydError:
            return  # already removed: its removal event follows
        row = self.rows.get(name)
        if row is None:
            self.rows[name] = Row(self.target.name, info)
        else:
            row.info = info
        self.refresh_git(name)

    # -- git stats, in the background -------------------------------------------------------------

    def refresh_git(self, name: str) -> None:
        """Ask for the branch's diff stats and ahead/dirty, at most one request pair at a time."""
        row = self.rows.get(name)
        if row is None or not row.info.get("branch") or self.client is None:
            return
        if name in self._git_busy:
            self._git_again.add(name)
            return
        self._git_busy.add(name)
        task = asyncio.ensure_future(self._git(name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _git(self, name: str) -> None:
        try:
            while True:
                self._git_again.discard(name)
                client = self.client
                if client is None:
                    return
                with contextlib.suppress(PtydError):
                    diff = await client.request("git.diff", {"session": name, "patch": False})
                    branch = await client.request("git.info", {"session": name})
                    row = self.rows.get(name)
                    if row is not None:
                        row.diff, row.branch = diff, branch
                        self._changed()
                if name not in self._git_again:
                    return
                await asyncio.sleep(GIT_REFRESH_MIN_S)
        finally:
            self._git_busy.discard(name)

    # -- the preview's output ---------------------------------------------------------------------

    def preview(self, name: str | None) -> None:
        """Receive the output of this session only (a message per chunk wakes the preview)."""
        if name == self._preview:
            return
        if self._sub is not None:
            if self._preview is not None:
                self._sub.setsockopt(zmq.UNSUBSCRIBE, pubsub.output_topic(self._preview))
            if name is not None:
                self._sub.setsockopt(zmq.SUBSCRIBE, pubsub.output_topic(name))
        self._preview = name
