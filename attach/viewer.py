"""`ptyd attach`: put a person inside a session's terminal, and take them out again cleanly.

Arrival: subscribe (output, events, this viewer's own topic) and confirm the subscription, then
`attach` (which registers the viewer and may resize the session to this window), then replay the
scrollback tail the daemon names, behind a clear screen and the program's terminal modes, with
old terminal queries removed; then live output, gap-free (see client/_stream.py). Every byte the
person types goes to the program unchanged, except the detach key.

Departure, always with the local terminal restored: the detach key, `ptyd detach`, the terminal
closing (EOF on stdin, SIGHUP), SIGTERM, the session exiting (exit with its code), the daemon
going away (exit 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
from dataclasses import dataclass
from typing import Any

from ptyd.client import (
    AsyncClient,
    ConnectionInterrupted,
    DaemonNotRunning,
    Lost,
    PtydError,
    SessionExited,
)
from ptyd.client.stream import OutputStream
from ptyd.proto import pubsub

from .replay import CLEAR_FOR_REPLAY, alt_screen_after, lost_marker, strip_queries
from .terminal import LocalTerminal

DEFAULT_DETACH_KEY = b"\x1c"  # Ctrl-\ : rarely used by programs, unlike tmux's Ctrl-b
STDIN_READ_BYTES = 4096


@dataclass
class AttachOptions:
    session: str
    read_only: bool = False
    detach_key: bytes = DEFAULT_DETACH_KEY
    replay_bytes: int | None = None


@dataclass
class Outcome:
    code: int
    message: str

    @property
    def detached(self) -> bool:
        """Left while the session goes on (not because it exited)."""
        return self.message.startswith("[detached")


def exit_code(info: dict[str, Any]) -> int:
    if info.get("exit_signal") is not None:
        return 128 + int(info["exit_signal"])
    return int(info.get("exit_code") or 0)


def exit_message(name: str, info: dict[str, Any]) -> str:
    if info.get("exit_signal") is not None:
        try:
            how = f"was killed by {signal.Signals(info['exit_signal']).name}"
        except ValueError:
            how = f"was killed by signal {info['exit_signal']}"
    else:
        how = f"exited with code {info.get('exit_code')}"
    if info.get("stop_reason") == "timeout":
        how += " (timeout)"
    return f"[ptyd: session {name} {how}]"


class Attachment:
    def __init__(self, client: AsyncClient, options: AttachOptions,
                 terminal: LocalTerminal | None = None):
        self.client = client
        self.options = options
        self.terminal = terminal or LocalTerminal()
        self.viewer_id = secrets.token_hex(8)
        self.replay_end = 0
        self._done: asyncio.Future[Outcome] | None = None
        self._input: asyncio.Queue[bytes] = asyncio.Queue()
        self._pending: set[asyncio.Future[None]] = set()

    @property
    def name(self) -> str:
        return self.options.session

    async def run(self) -> int:
        """Attach until something ends it; return the process exit code."""
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        stream = OutputStream(self.client, self.name, None, True, events=True,
                              topics=(pubsub.viewer_topic(self.viewer_id),),
                              prepare=self._register)
        self.terminal.enter_raw()
        tasks = [asyncio.ensure_future(self._consume(stream)),
                 asyncio.ensure_future(self._send_input())]
        self._install_handlers(loop)
        try:
            outcome = await self._done
        finally:
            self._remove_handlers(loop)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
        self.terminal.restore(outcome.message, to_bottom=outcome.detached)
        return outcome.code

    def finish(self, code: int, message: str) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(Outcome(code, message))

    # -- arrival ------------------------------------------------------------------------------

    async def _register(self) -> int:
        cols, rows = self.terminal.size()
        reply = await self.client.request("attach", {
            "session": self.name, "viewer": self.viewer_id, "read_only": self.options.read_only,
            "cols": cols, "rows": rows, "replay_bytes": self.options.replay_bytes})
        self.replay_end = int(reply["end"])
        # Scroll what the person's screen shows into their scrollback, then start from the
        # state a fresh terminal had: cleared, cursor home, the program's modes.
        self.terminal.write(b"\n" * rows + CLEAR_FOR_REPLAY + bytes(reply["preamble"]))
        if reply.get("needs_redraw"):
            self.terminal.write(b"\x1b[?1049h" + CLEAR_FOR_REPLAY)
            self.terminal.alt_screen = True
            with contextlib.suppress(SessionExited):
                await self.client.request("redraw", {"session": self.name})
        return int(reply["replay_from"])

    # -- output ------------------------------------------------------------------------------

    async def _consume(self, stream: OutputStream) -> None:
        try:
            async for item in stream:
                if isinstance(item, pubsub.OutputChunk):
                    data = item.data
                    if item.offset < self.replay_end:  # replayed history: drop old queries
                        data = strip_queries(data)
                    self.terminal.alt_screen = alt_screen_after(data, self.terminal.alt_screen)
                    self.terminal.write(data)
                elif isinstance(item, Lost):
                    self.terminal.write(lost_marker(item.end - item.offset))
                elif isinstance(item, pubsub.Message) and item.type == "detach":
                    self.finish(0, f"[detached from session {self.name}]")
                    return
            info = await self.client.info(self.name)
            self.finish(exit_code(info), exit_message(self.name, info))
        except DaemonNotRunning:
            self.finish(1, f"[ptyd: lost the connection to the daemon; session {self.name} "
                           "may still be running]")
        except PtydError as e:
            self.finish(1, f"[ptyd: {e}]")

    # -- input -------------------------------------------------------------------------------

    def _on_stdin(self) -> None:
        try:
            data = os.read(self.terminal.in_fd, STDIN_READ_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.finish(0, f"[detached from session {self.name}: terminal closed]")
            return
        key = data.find(self.options.detach_key)
        if key >= 0:
            data = data[:key]
        if data and not self.options.read_only:
            self._input.put_nowait(data)
        if key >= 0:
            self.finish(0, f"[detached from session {self.name}]")

    async def _send_input(self) -> None:
        """One sender, so keystrokes reach the program in the order they were typed."""
        while True:
            data = await self._input.get()
            try:
                await self.client.request("input", {"session": self.name, "data": data,
                                                    "viewer": self.viewer_id})
            except SessionExited:
                pass  # the exit itself arrives on the stream
            except ConnectionInterrupted:
                pass  # the daemon upgraded itself under us; we carry on with its successor
            except DaemonNotRunning:
                return
            except PtydError as e:
                self.finish(1, f"[ptyd: {e}]")

    def _on_winch(self) -> None:
        cols, rows = self.terminal.size()
        task = asyncio.ensure_future(self._resize(cols, rows))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _resize(self, cols: int, rows: int) -> None:
        with contextlib.suppress(PtydError):
            await self.client.request("resize", {"session": self.name, "cols": cols,
                                                 "rows": rows, "viewer": self.viewer_id})

    def _on_signal(self, signum: int) -> None:
        self.finish(128 + signum, f"[detached from session {self.name}: "
                                  f"{signal.Signals(signum).name}]")

    def _install_handlers(self, loop: asyncio.AbstractEventLoop) -> None:
        os.set_blocking(self.terminal.in_fd, False)
        loop.add_reader(self.terminal.in_fd, self._on_stdin)
        loop.add_signal_handler(signal.SIGWINCH, self._on_winch)
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT):
            loop.add_signal_handler(signum, self._on_signal, signum)

    def _remove_handlers(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.remove_reader(self.terminal.in_fd)
        os.set_blocking(self.terminal.in_fd, True)
        for signum in (signal.SIGWINCH, signal.SIGTERM, signal.SIGHUP, signal.SIGINT,
                       signal.SIGQUIT):
            loop.remove_signal_handler(signum)


async def attach(connection: dict[str, Any], options: AttachOptions) -> int:
    """Attach with a client made from `connection` (AsyncClient's keyword arguments: dir, or
    endpoints and curve for a remote daemon)."""
    async with AsyncClient(client_name="ptyd-attach", **connection) as client:
        return await Attachment(client, options).run()
