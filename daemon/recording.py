"""Session recordings: asciicast v2 (playable with asciinema) or a plain log, rotated by size.

A recording is written off the hot path: output, input and resizes are kept in memory and
written out by a timer (every FLUSH_INTERVAL_S, armed only while something is waiting, so an
idle session costs nothing), when a lot is waiting, when the session ends, and at shutdown. A
write to a local file then takes microseconds; a write that fails (disk full) ends that
recording with one log line and never the session.

Files: RECORDING_DIR/NAME.cast (or NAME.log), 0600, in a directory created 0700. When the file
reaches max_bytes, or when a new session of the same name starts, it is rotated:
NAME.cast -> NAME.cast.1 -> ... and `keep` files are kept, the current one included. Each
asciicast file is complete on its own (header, then events timed from its own start).

An upgrade hands each open recording to the successor, file descriptor and all (`handover()`,
`adopt()`): the file goes on where it was, its times still counted from its start (the
monotonic clock is the machine's, not the process's), a character split across the exec
included.

asciicast "o" (and "i") events must be text: bytes are decoded as UTF-8 incrementally (a
character split across two reads is not broken) and invalid bytes become U+FFFD, as asciinema
itself records, since strict players refuse lone surrogates. The log format keeps raw bytes.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import os
import shlex
import signal
import termios
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ptyd.proto.locations import recording_suffix

from .config import RecordingConfig
from .logs import log
from .safefiles import create_new
from .session import ExitStatus, Session

FLUSH_INTERVAL_S = 0.5
MAX_BUFFERED_BYTES = 1 << 20
"""Buffered event bytes that make a flush happen at once rather than on the timer."""


@dataclass(frozen=True)
class Plan:
    """What one session records, fixed when it starts (a reload changes later sessions)."""

    format: str
    input: bool
    dir: Path
    max_bytes: int
    keep: int
    hidden_input: bool = False

    def to_wire(self) -> dict[str, Any]:
        """As plain values, for the handover and the crash state file."""
        return {**asdict(self), "dir": str(self.dir)}

    @classmethod
    def from_wire(cls, value: dict[str, Any]) -> Plan:
        return cls(**{**value, "dir": Path(value["dir"])})


def plan(record: str | None, record_input: bool | None, defaults: RecordingConfig
         ) -> Plan | None:
    """A spawn's `record` ("asciicast", "log", "none"; None: the configured default) and
    `record_input` (None: the default), checked so that a spawn that cannot be recorded fails
    before anything starts: the directory is created (0700) if needed. OSError if it cannot."""
    fmt = defaults.format if record is None else record
    if fmt is None or fmt == "none":
        return None
    with contextlib.suppress(FileExistsError):
        defaults.dir.mkdir(mode=0o700, parents=True)
    if not os.access(defaults.dir, os.W_OK | os.X_OK):
        raise PermissionError(f"recording directory {defaults.dir} is not writable")
    return Plan(fmt, defaults.input if record_input is None else record_input, defaults.dir,
                defaults.max_bytes, defaults.keep, defaults.hidden_input)


class Recorder:
    """One session's recording. open(), then output()/input()/resize() as things happen,
    flush() whenever, close() once at the end."""

    def __init__(self, plan: Plan, name: str, cols: int, rows: int, argv: list[str],
                 env: Mapping[str, str]):
        self.plan = plan
        self.name = name
        self.path = plan.dir / f"{name}{recording_suffix(plan.format)}"
        self.cols, self.rows = cols, rows  # the size as of the last event written
        self._command = shlex.join(argv)
        self._env = {k: env[k] for k in ("TERM", "SHELL") if k in env}
        self._cast = plan.format == "asciicast"
        self._events: list[tuple[float, str, str | bytes]] = []
        self._buffered = 0
        self._decoders = {kind: codecs.getincrementaldecoder("utf-8")("replace")
                          for kind in ("o", "i")}
        self._fd = -1
        self._file_bytes = 0
        self._header_bytes = 0
        self._file_start_mono = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self.closed = False

    @classmethod
    def open(cls, plan: Plan, name: str, cols: int, rows: int, argv: list[str],
             env: Mapping[str, str]) -> Recorder:
        """Start NAME's recording; an earlier recording of that name is rotated, not lost."""
        recorder = cls(plan, name, cols, rows, argv, env)
        recorder._start_file(time.monotonic())
        return recorder

    def handover(self) -> dict[str, Any] | None:
        """Everything written out, and what the successor needs to go on in the same file
        (upgrade.exec_successor keeps `fd` open across the exec with the PTY masters); None if
        the recording ended (that last write failed: a full disk)."""
        self.flush()
        if self.closed or self._fd < 0:
            return None
        return {"plan": self.plan.to_wire(), "fd": self._fd,
                "cols": self.cols, "rows": self.rows, "command": self._command,
                "env": self._env, "file_bytes": self._file_bytes,
                "header_bytes": self._header_bytes, "file_start_mono": self._file_start_mono,
                "pending": {kind: d.getstate()[0] for kind, d in self._decoders.items()}}

    @classmethod
    def adopt(cls, name: str, state: dict[str, Any]) -> Recorder:
        """The predecessor's recorder of session `name`, going on in its file."""
        recorder = cls(Plan.from_wire(state["plan"]), name, state["cols"], state["rows"], [], {})
        recorder._command, recorder._env = state["command"], dict(state["env"])
        recorder._fd = state["fd"]
        os.set_inheritable(recorder._fd, False)
        recorder._file_bytes, recorder._header_bytes = state["file_bytes"], state["header_bytes"]
        recorder._file_start_mono = state["file_start_mono"]
        for kind, pending in state["pending"].items():
            recorder._decoders[kind].setstate((bytes(pending), 0))
        return recorder

    def stay(self) -> None:
        """The exec failed: this process keeps the file."""
        if self._fd >= 0:
            os.set_inheritable(self._fd, False)

    # -- events ------------------------------------------------------------------------------

    def output(self, data: bytes) -> None:
        if self._cast:
            self._add("o", self._decoders["o"].decode(data))
        else:
            self._add("o", data)

    @property
    def records_input(self) -> bool:
        return self._cast and self.plan.input

    def input(self, data: bytes, echoed: bool = True) -> None:
        """Typed input; `echoed` False: typed while the terminal did not echo (a password),
        which is left out unless the configuration asks for it (recording.hidden_input)."""
        if self.records_input and (echoed or self.plan.hidden_input):
            self._add("i", self._decoders["i"].decode(data))

    def resize(self, cols: int, rows: int) -> None:
        if self._cast:
            self._add("r", f"{cols}x{rows}")

    def _add(self, kind: str, data: str | bytes) -> None:
        if self.closed or not data:
            return
        self._events.append((time.monotonic(), kind, data))
        self._buffered += len(data)
        if self._buffered >= MAX_BUFFERED_BYTES:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not on an event loop (a tool, a test): write now
                self.flush()
                return
            self._timer = loop.call_later(FLUSH_INTERVAL_S, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.flush()

    # -- writing -----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write what is buffered, rotating the file where it would pass max_bytes."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        events, self._events, self._buffered = self._events, [], 0
        if self._fd < 0 or not events:
            return
        try:
            if self._cast:
                self._write_cast(events)
            else:
                self._write_log(b"".join(data for _, _, data in events
                                         if isinstance(data, bytes)), events[0][0])
        except OSError as e:
            log.error("session=%s recording %s stopped: %s", self.name, self.path, e)
            self._close_file()
            self.closed = True

    def _write_cast(self, events: list[tuple[float, str, str | bytes]]) -> None:
        batch: list[bytes] = []
        size = 0
        for at, kind, data in events:
            line = self._event_line(at, kind, data)
            if self._file_bytes + size + len(line) > self.plan.max_bytes and \
                    self._file_bytes + size > self._header_bytes:
                self._write(b"".join(batch))
                batch, size = [], 0
                self._rotate(at)
                line = self._event_line(at, kind, data)  # timed from the new file's start
            batch.append(line)
            size += len(line)
            if kind == "r":
                self.cols, self.rows = (int(n) for n in str(data).split("x"))
        self._write(b"".join(batch))

    def _event_line(self, at: float, kind: str, data: str | bytes) -> bytes:
        event = [round(at - self._file_start_mono, 6), kind, data]
        return json.dumps(event, ensure_ascii=False).encode() + b"\n"

    def _write_log(self, data: bytes, at: float) -> None:
        while data:
            room = self.plan.max_bytes - self._file_bytes
            if room <= 0:
                self._rotate(at)
                room = self.plan.max_bytes
            self._write(data[:room])
            data = data[room:]

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
            self._file_bytes += written

    def _start_file(self, at: float) -> None:
        """Rotate NAME.x -> NAME.x.1 -> ..., keeping `keep` files, and open a fresh NAME.x."""
        base = str(self.path)
        n = self.plan.keep
        while os.path.lexists(f"{base}.{n}"):  # beyond `keep` (keep was lowered): drop
            os.unlink(f"{base}.{n}")
            n += 1
        for i in range(self.plan.keep - 1, 0, -1):
            older = base if i == 1 else f"{base}.{i - 1}"
            if os.path.lexists(older):
                os.replace(older, f"{base}.{i}")
        # A fresh file (O_EXCL, O_NOFOLLOW): never write through a symlink or a hard link
        # someone planted in the directory; what is left at NAME.x (keep=1) is unlinked first.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(base)
        self._fd = create_new(self.path)
        self._file_bytes = 0
        self._file_start_mono = at
        self._header_bytes = 0
        if self._cast:
            header = {"version": 2, "width": self.cols, "height": self.rows,
                      "timestamp": int(time.time() - (time.monotonic() - at)),
                      "command": self._command, "title": self.name, "env": self._env}
            self._write(json.dumps(header, ensure_ascii=False).encode() + b"\n")
            self._header_bytes = self._file_bytes

    def _rotate(self, at: float) -> None:
        self._close_file()
        self._start_file(at)

    def _close_file(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1

    def close(self, exit_status: ExitStatus | None) -> None:
        """The session ended (or the daemon stops): write everything and close the file. An
        asciicast gets a marker event ("m") saying how the session ended."""
        if self.closed:
            return
        if self._cast:
            for kind, decoder in self._decoders.items():
                self._add(kind, decoder.decode(b"", final=True))
            if exit_status is not None:
                self._add("m", _describe_exit(exit_status))
        self.flush()
        self._close_file()
        self.closed = True


def _describe_exit(status: ExitStatus) -> str:
    if status.signal is not None:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(status.signal).name}"
        return f"killed by signal {status.signal}"
    return f"exited with code {status.code}" if status.code is not None else "exited"


class Recordings:
    """The daemon's open recordings, by session: what server.py calls into, one line each."""

    def __init__(self) -> None:
        self._recorders: dict[Session, Recorder] = {}

    def start(self, session: Session, plan: Plan | None) -> None:
        """Open the session's recording; if the file cannot be made, the session runs
        unrecorded and the log says so (the directory was checked before the spawn)."""
        if plan is None:
            return
        try:
            recorder = Recorder.open(plan, session.name, session.cols, session.rows,
                                     session.argv, session.env)
        except OSError as e:
            log.error("session=%s cannot record to %s: %s", session.name, plan.dir, e)
            return
        self._recorders[session] = recorder
        log.info("session=%s recording format=%s file=%s", session.name, plan.format,
                 recorder.path)

    def output(self, session: Session, data: bytes) -> None:
        recorder = self._recorders.get(session)
        if recorder is not None:
            recorder.output(data)

    def input(self, session: Session, data: bytes) -> None:
        recorder = self._recorders.get(session)
        if recorder is not None and recorder.records_input:
            recorder.input(data, echoed=_echoes(session.master_fd))


    def resize(self, session: Session, cols: int, rows: int) -> None:
        recorder = self._recorders.get(session)
        if recorder is not None:
            recorder.resize(cols, rows)

    def close(self, session: Session, exit_status: ExitStatus | None) -> None:
        recorder = self._recorders.pop(session, None)
        if recorder is not None:
            recorder.close(exit_status)

    def plan_of(self, session: Session) -> Plan | None:
        """What the session records, while its recording is open."""
        recorder = self._recorders.get(session)
        return None if recorder is None or recorder.closed else recorder.plan

    def handover(self, session: Session) -> dict[str, Any] | None:
        """The session's recording for the successor (see Recorder.handover), or None."""
        recorder = self._recorders.get(session)
        return None if recorder is None else recorder.handover()

    def adopt(self, session: Session, state: dict[str, Any]) -> None:
        """Go on with the recording the predecessor handed over for `session`."""
        try:
            self._recorders[session] = Recorder.adopt(session.name, state)
        except (KeyError, TypeError, ValueError, OSError) as e:
            log.error("session=%s recording not carried over: %s", session.name, e)
            with contextlib.suppress(OSError, KeyError, TypeError):
                os.close(state["fd"])

    def stay(self) -> None:
        """An upgrade's exec failed: every recording stays with this process."""
        for recorder in self._recorders.values():
            recorder.stay()

    def close_all(self) -> None:
        """Shutdown: whatever still runs gets its recording written out and closed."""
        for session in list(self._recorders):
            self.close(session, session.exit_status)


def _echoes(master_fd: int) -> bool:
    """Whether the terminal echoes what is typed now. The master shares the slave's termios
    (one line discipline), so the program's `stty -echo` (getpass, sudo, ssh) shows here."""
    try:
        return bool(termios.tcgetattr(master_fd)[3] & termios.ECHO)
    except (termios.error, OSError):
        return False  # cannot tell: do not risk recording a password
