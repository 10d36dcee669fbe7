"""The terminal a person sits at, played by the benchmark: a client (`ptyd attach`, `tmux
attach`, ...) runs on a PTY whose master a thread reads as fast as output comes, as a terminal
emulator that never falls behind would, noting when each awaited marker first went by.

Also: what a terminal shows after some bytes (pyte), to judge a screen as a person would.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Sequence

import pyte
from _common import COLS, ROWS, clean_env, spawn_on_pty

READ_BYTES = 1 << 20


class WatchedTerminal:
    """`argv` on a new PTY (session leader), its output read by a thread. `markers`: byte
    strings whose first appearance is timed (time.perf_counter()); `keep_bytes`: also keep the
    first that many bytes of output (to show them to a terminal emulator)."""

    def __init__(self, argv: list[str], markers: Sequence[bytes] = (),
                 env: dict[str, str] | None = None, keep_bytes: int = 0):
        self.started = time.perf_counter()
        self.proc, self.master = spawn_on_pty(argv, env=env or clean_env())
        self.seen: dict[bytes, float | None] = dict.fromkeys(markers)
        self.bytes = 0
        self.kept = bytearray()
        self.closed = False
        self._keep = keep_bytes
        self._width = max((len(m) for m in markers), default=1)
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        tail = b""
        while not self._stop:
            if not select.select([self.master], [], [], 0.1)[0]:
                continue
            try:
                data = os.read(self.master, READ_BYTES)
            except OSError:  # EIO: every holder of the terminal's slave side is gone
                break
            if not data:
                break
            now = time.perf_counter()
            edge = tail + data[: self._width]
            with self._cond:
                for marker, at in self.seen.items():
                    if at is None and (marker in edge or marker in data):
                        self.seen[marker] = now
                self.bytes += len(data)
                if len(self.kept) < self._keep:
                    self.kept += data[: self._keep - len(self.kept)]
                self._cond.notify_all()
            tail = (tail + data)[-self._width:]
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def wait_for(self, marker: bytes, timeout_s: float = 30.0) -> float:
        """perf_counter() when `marker` first went by (waiting for it if need be)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self.seen[marker] is None:
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    why = "the terminal closed" if self.closed else f"{timeout_s:g}s passed"
                    raise TimeoutError(f"no {marker!r} on the terminal: {why} "
                                       f"({self.bytes} bytes read)")
                self._cond.wait(min(left, 0.5))
            seen = self.seen[marker]
            assert seen is not None
            return seen

    def wait_quiet(self, quiet_s: float = 0.1, timeout_s: float = 10.0) -> None:
        """Until no output came for `quiet_s`."""
        deadline = time.monotonic() + timeout_s
        last = -1
        while time.monotonic() < deadline:
            with self._cond:
                count = self.bytes
            if count == last:
                return
            last = count
            time.sleep(quiet_s)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def signal(self, signum: int) -> None:
        """To the client's whole process group (it is the session leader of its terminal)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signum)

    def close(self, quit_key: bytes | None = None, timeout_s: float = 15.0) -> int | None:
        """Send `quit_key` (if any), let the client exit, kill it if it does not; returns its
        exit code (None if it had to be killed)."""
        if quit_key is not None:
            with contextlib.suppress(OSError):
                self.write(quit_key)
        code: int | None
        try:
            code = self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGKILL)
            self.proc.wait(timeout_s)
            code = None
        self._stop = True
        self._thread.join(timeout_s)
        os.close(self.master)
        return code

    def __enter__(self) -> WatchedTerminal:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._stop:
            self.close()


def screen_lines(data: bytes, cols: int = COLS, rows: int = ROWS) -> tuple[list[str], tuple[int, int]]:
    """What a fresh terminal of this size shows after `data`: its lines (right-stripped) and
    the cursor (x, y)."""
    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    stream.feed(data)
    return [line.rstrip() for line in screen.display], (screen.cursor.x, screen.cursor.y)


def diff_lines(got: list[str], want: list[str]) -> str:
    """The first differing line, for a report (empty if none differ)."""
    for row, (a, b) in enumerate(zip(got, want, strict=True)):
        if a != b:
            return f"row {row}: got {a!r}, want {b!r}"
    return ""
