"""`ptyd attach`: put a person inside a session's terminal, and take them out again cleanly.

Arrival: subscribe (output, events, this viewer's own topic) and confirm the subscription, then
`attach` (which registers the viewer and may resize the session to this window), then replay the
scrollback tail the daemon names, behind a clear screen and the program's terminal modes, with
old terminal queries removed; then live output, gap-free (see ptyd.attach.stream). Every byte
the person types goes to the program unchanged, except the detach key.

The keystroke path is one plain `zmq.Poller` loop over stdin, the SUB socket, the control socket
(and its monitor) and a signal pipe: no event loop, no thread. Input is sent without waiting for
its reply (an error reply comes back later and is shown); output is written straight to the
terminal's fd.

Departure, always with the local terminal restored: the detach key, `ptyd detach`, the terminal
closing (EOF on stdin, SIGHUP), SIGTERM, the session exiting (exit with its code), the daemon
going away (exit 1).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import FrameType
from typing import Any

import zmq

from ptyd.client import (
    ConnectionInterrupted,
    DaemonNotRunning,
    PtydError,
    SessionExited,
)
from ptyd.client.wire import Wire
from ptyd.proto import pubsub
from ptyd.proto.exitstatus import shell_code

from .keys import Keys
from .replay import CLEAR_FOR_REPLAY, alt_screen_after, lost_marker, strip_queries
from .stream import LIVENESS_PROBE_S, Ended, Item, LiveStream
from .terminal import LocalTerminal

DEFAULT_DETACH_KEY = b"\x1c"  # Ctrl-\ : rarely used by programs, unlike tmux's Ctrl-b
STDIN_READ_BYTES = 4096
BURST_END_S = 0.2
"""Output that stops for this long may have lost its end on the way to us: ask the ring."""
LEAVING_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT)


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
    """As `ptyd wait` reports it (one mapping: ptyd.proto.exitstatus)."""
    return shell_code(info)


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


def _ignore(signum: int, frame: FrameType | None) -> None:
    """A handler that does nothing: the signal's number reaches the loop through the wakeup fd."""


class Attachment:
    def __init__(self, wire: Wire, options: AttachOptions,
                 terminal: LocalTerminal | None = None):
        self.wire = wire
        self.options = options
        self.terminal = terminal or LocalTerminal()
        self.viewer_id = secrets.token_hex(8)
        self.replay_end = 0
        self.outcome: Outcome | None = None
        self._signal_r, self._signal_w = os.pipe()
        self._resizes: set[int] = set()
        self._ack: bool | None = None
        """`input`'s ack: False where the daemon offers it, else left out (None)."""
        self.keys: Keys | None = None

    @property
    def name(self) -> str:
        return self.options.session

    def run(self) -> int:
        """Attach until something ends it; return the process exit code."""
        self.wire.on_stray = self._on_input_error
        if "input-ack" in self.wire.server.get("features", ()):
            self._ack = False
        self.terminal.enter_raw()
        saved = self._install_handlers()
        stream: LiveStream | None = None
        try:
            self.keys = Keys(self.wire, self._input_failed, direct=not self.options.read_only)
            stream = LiveStream(self.wire, self.name,
                                topics=(pubsub.viewer_topic(self.viewer_id),))
            stream.start(self._register)
            self._show_all(stream.backlog())
            if stream.ended is None:
                self._loop(stream)
            if self.outcome is None:
                self._session_ended()
        except DaemonNotRunning:
            self._lost_daemon()
        except PtydError as e:
            self.finish(1, f"[ptyd: {e}]")
        finally:
            self._remove_handlers(saved)
            if stream is not None:
                stream.close()
            if self.keys is not None:
                self.keys.close()
        assert self.outcome is not None
        self.terminal.restore(self.outcome.message, to_bottom=self.outcome.detached)
        return self.outcome.code

    def finish(self, code: int, message: str) -> None:
        if self.outcome is None:
            self.outcome = Outcome(code, message)

    def _lost_daemon(self) -> None:
        self.finish(1, f"[ptyd: lost the connection to the daemon; session {self.name} "
                       "may still be running]")

    def _session_ended(self) -> None:
        try:
            info = self.wire.request("info", {"session": self.name})
        except DaemonNotRunning:
            self._lost_daemon()
        except PtydError as e:
            self.finish(1, f"[ptyd: {e}]")
        else:
            self.finish(exit_code(info), exit_message(self.name, info))

    # -- arrival ------------------------------------------------------------------------------

    def _register(self) -> int:
        cols, rows = self.terminal.size()
        reply = self.wire.request("attach", {
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
                self.wire.request("redraw", {"session": self.name})
        return int(reply["replay_from"])

    # -- the loop -----------------------------------------------------------------------------

    def _loop(self, stream: LiveStream) -> None:
        assert self.wire.dealer is not None and self.wire.monitor is not None
        # The control socket is not polled: its only traffic here is the replies to keystrokes
        # (and resizes), which are taken at every turn of the loop instead, so that each
        # keystroke wakes this process once (for its echo), not twice. An error reply is shown
        # at the latest with the next heartbeat, a second later.
        assert stream.sub is not None and self.keys is not None
        sub, keys = stream.sub, self.keys
        replies = {self.wire.dealer: zmq.POLLIN}
        probe_ms = int(LIVENESS_PROBE_S * 1000)
        watched: tuple[Any, ...] = ()
        poller = zmq.Poller()
        # Output dropped for us at its very end (we were slow or stopped, the daemon's queue for
        # us was full) shows no gap until more output comes, and heartbeats keep the poll from
        # ever timing out: when output stops for a moment, and after every quiet while, ask the
        # ring whether more was written than we were sent.
        delivered, quiet_since = stream.position, time.monotonic()
        probed = stream.position
        while self.outcome is None:
            sub.reconnect()  # (only does something while the daemon is away)
            # The subscription's and the keystrokes' sockets change when they reconnect or
            # give up (and a new socket may reuse a closed one's fd number): poll what is open.
            now_watched = (self.terminal.in_fd, self.wire.monitor, self._signal_r,
                           sub.poll_key, keys.poll_key)
            if now_watched != watched:
                watched, poller = now_watched, zmq.Poller()
                for item in {x for x in watched if x is not None}:
                    poller.register(item, zmq.POLLIN)
            # While the daemon re-executes, wake often to see whether it gave up for good (and
            # to connect our subscription again); take at once what our buffer still holds.
            burst_ended = stream.position != probed  # output came since we last asked
            wait_ms = 0 if sub.pending() else \
                50 if self.wire.interrupted or sub.broken else \
                int(BURST_END_S * 1000) if burst_ended else probe_ms
            ready = dict(poller.poll(wait_ms))
            if stream.position != delivered:
                delivered, quiet_since = stream.position, time.monotonic()
            quiet = time.monotonic() - quiet_since >= (BURST_END_S if burst_ended
                                                       else LIVENESS_PROBE_S)
            if (quiet or not ready) and not sub.pending():
                if not self.wire.interrupted and not sub.broken:
                    self._show_all(stream.probe())  # quiet: is the daemon there, missed output?
                    quiet_since, probed = time.monotonic(), stream.position
                else:
                    self.wire.check_return()
            if self._signal_r in ready:
                self._on_signals()
            if self.terminal.in_fd in ready:
                self._on_stdin()
            self.wire.process({**ready, **replies})
            if self.wire.lost is not None:
                self._lost_daemon()
            if keys.poll_key is not None and keys.poll_key in ready:
                keys.process()
            if (sub.poll_key in ready or sub.pending()) and self.outcome is None:
                self._show_all(stream.receive())
            if stream.ended is not None and self.outcome is None:
                if stream.ended is Ended.DETACHED:
                    self.finish(0, f"[detached from session {self.name}]")
                return

    def _show_all(self, items: Iterable[Item]) -> None:
        """Show items in order, consecutive live chunks in one write (fewer system calls when
        output streams in)."""
        batch: list[bytes] = []
        for item in items:
            if isinstance(item, pubsub.OutputChunk) and item.offset >= self.replay_end:
                batch.append(item.data)
                continue
            if batch:
                self._write_live(b"".join(batch))
                batch = []
            self._show(item)
        if batch:
            self._write_live(b"".join(batch))

    def _write_live(self, data: bytes) -> None:
        self.terminal.alt_screen = alt_screen_after(data, self.terminal.alt_screen)
        self.terminal.write(data)

    def _show(self, item: Item) -> None:
        if isinstance(item, pubsub.OutputChunk):
            data = item.data
            if item.offset < self.replay_end:  # replayed history: drop old queries
                data = strip_queries(data)
            self._write_live(data)
        else:
            self.terminal.write(lost_marker(item.end - item.offset))

    # -- input --------------------------------------------------------------------------------

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
            # Not waiting for the reply: the next keystroke goes out at once, and one socket
            # keeps them in the order they were typed. A daemon that offers it answers only
            # errors (`ack` false): one message per keystroke through each side's ZeroMQ I/O
            # thread instead of two.
            assert self.keys is not None
            self.keys.send({"session": self.name, "data": data, "viewer": self.viewer_id,
                            "ack": self._ack})
        if key >= 0:
            self.finish(0, f"[detached from session {self.name}]")

    def _on_input_error(self, msgid: int, error: PtydError) -> None:
        """An error reply to a keystroke (or a resize) sent earlier through the Wire."""
        if msgid in self._resizes:
            self._resizes.discard(msgid)
            return
        self._input_failed(error)

    def _input_failed(self, error: PtydError) -> None:
        """An error reply to a keystroke sent earlier."""
        if isinstance(error, SessionExited | ConnectionInterrupted):
            return  # the exit itself arrives on the stream; an upgrade carries on
        self.finish(1, f"[ptyd: {error}]")

    # -- signals ------------------------------------------------------------------------------

    def _on_signals(self) -> None:
        try:
            received = os.read(self._signal_r, 64)
        except BlockingIOError:
            return
        for signum in received:
            if signum == signal.SIGWINCH:
                cols, rows = self.terminal.size()
                # A resize that fails (the session just exited, say) is not worth ending the
                # attach for: its error reply is ignored.
                self._resizes.add(self.wire.send("resize", {
                    "session": self.name, "cols": cols, "rows": rows, "viewer": self.viewer_id}))
            else:
                self.finish(128 + signum, f"[detached from session {self.name}: "
                                          f"{signal.Signals(signum).name}]")

    def _install_handlers(self) -> dict[int, Any]:
        """Signals are written to a pipe the loop polls (set_wakeup_fd): the handlers only
        make that happen, and a signal during a blocking request waits its turn in the pipe."""
        os.set_blocking(self.terminal.in_fd, False)
        os.set_blocking(self._signal_r, False)
        os.set_blocking(self._signal_w, False)
        saved: dict[int, Any] = {}
        for signum in (signal.SIGWINCH, *LEAVING_SIGNALS):
            saved[signum] = signal.signal(signum, _ignore)
        saved[-1] = signal.set_wakeup_fd(self._signal_w, warn_on_full_buffer=False)
        return saved

    def _remove_handlers(self, saved: dict[int, Any]) -> None:
        signal.set_wakeup_fd(saved.pop(-1))
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        os.set_blocking(self.terminal.in_fd, True)
        for fd in (self._signal_r, self._signal_w):
            os.close(fd)


def attach(connection: dict[str, Any], options: AttachOptions) -> int:
    """Attach with a connection made from `connection` (Wire's keyword arguments: dir, or
    endpoints and curve for a remote daemon)."""
    wire = Wire(client_name="ptyd-attach", **connection)
    try:
        wire.connect()
        return Attachment(wire, options).run()
    finally:
        wire.close()
