"""Shared pieces of the benchmarks: a daemon in a temporary directory, bare PTYs, /proc
readings, percentiles, the consumption of a session's output stream, and the printed table."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import math
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
import traceback
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import zmq

from ptyd.client import Client, Lost
from ptyd.proto import envelope, pubsub

BENCH_DIR = Path(__file__).resolve().parent
PRODUCER = str(BENCH_DIR / "producer.py")
COLS, ROWS = 80, 24
DAEMON_START_TIMEOUT_S = 15.0
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


# -- statistics -------------------------------------------------------------------------------

def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted samples."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


@dataclass(frozen=True)
class Latency:
    p50_us: float
    p99_us: float
    n: int

    @classmethod
    def of_ns(cls, samples_ns: Sequence[int]) -> Latency:
        return cls(percentile(samples_ns, 50) / 1e3, percentile(samples_ns, 99) / 1e3,
                   len(samples_ns))


# -- /proc ------------------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_S  # fields 14 and 15


def memory_kb(pid: int) -> dict[str, int]:
    """Rss and Pss (kB) from /proc/<pid>/smaps_rollup."""
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss"):
                values[key.lower()] = int(rest.split()[0])
    return values


# -- bare PTYs --------------------------------------------------------------------------------

def spawn_on_pty(argv: list[str], env: dict[str, str] | None = None
                 ) -> tuple[subprocess.Popen[bytes], int]:
    """Start argv as session leader on a new PTY (fork-safe: `setsid -c`, no preexec_fn);
    return the process and the master fd, blocking."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    proc = subprocess.Popen(["setsid", "-c", *argv], stdin=slave, stdout=slave, stderr=slave,
                            env=env, close_fds=True)
    os.close(slave)
    return proc, master


def read_until(fd: int, marker: bytes, timeout_s: float = 30.0) -> None:
    """Read a blocking PTY master until `marker` went by (keeping only a tail to search)."""
    tail = b""
    deadline = time.monotonic() + timeout_s
    while marker not in tail:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError(f"no {marker!r} within {timeout_s:g}s; last bytes {tail[-200:]!r}")
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the terminal hung up first
            raise TimeoutError(f"terminal closed before {marker!r}: {tail[-200:]!r}") from None
        tail = tail[-len(marker):] + data


def drain_and_close(proc: subprocess.Popen[bytes], master: int, timeout_s: float = 10.0) -> None:
    """Read the master until the terminal hangs up (so the child never blocks on a full PTY),
    then reap the child; kill it if it outstays the timeout."""
    os.set_blocking(master, False)
    deadline = time.monotonic() + timeout_s
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if not os.read(master, 65536):
                break
        except BlockingIOError:
            time.sleep(0.005)
        except OSError:
            break
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout_s)
    os.close(master)


def clean_env() -> dict[str, str]:
    """Our environment without any multiplexer's variables, with a known TERM."""
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE", "STY")}
    env["TERM"] = "xterm-256color"
    return env


# -- a daemon under test ----------------------------------------------------------------------

class BenchDaemon:
    """`ptyd serve` in a fresh temporary directory, stopped (shutdown request) on exit."""

    COMMAND: ClassVar[list[str]] = [sys.executable, "-m", "ptyd"]
    """How to run the `ptyd` command; an experiment may point this at a patched daemon."""

    def __init__(self, label: str, extra_args: Sequence[str] = ()):
        self.dir = Path(tempfile.mkdtemp(prefix=f"ptyd-bench-{label}-"))
        self._log = open(self.dir / "bench-daemon.log", "wb")  # noqa: SIM115 - closed in stop
        self.proc = subprocess.Popen(
            [*self.COMMAND, "--dir", str(self.dir), "serve", *extra_args],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, cwd="/",
            start_new_session=True)
        self.pid = self.proc.pid
        self.endpoints = _endpoints(self.dir)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + DAEMON_START_TIMEOUT_S
        with RawClient(self.dir) as raw:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the daemon exited with {self.proc.returncode}: "
                                       f"{self.log_tail()}")
                with contextlib.suppress(TimeoutError):
                    raw.request("hello", timeout_s=0.2)
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the daemon did not answer: {self.log_tail()}")

    def log_tail(self) -> str:
        text = (self.dir / "bench-daemon.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-5:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(Exception), Client(self.dir, timeout=5) as client:
                client.shutdown(grace=1.0)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> BenchDaemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _endpoints(directory: Path) -> Any:
    from ptyd.proto.paths import Endpoints

    return Endpoints.in_dir(directory)


class RawClient:
    """The minimal client: one blocking DEALER speaking the envelope, no library around it."""

    def __init__(self, directory: Path):
        self.ctx = zmq.Context()
        self.endpoints = _endpoints(directory)
        self.dealer = self.ctx.socket(zmq.DEALER)
        self.dealer.setsockopt(zmq.LINGER, 0)
        self.dealer.connect(self.endpoints.control)
        self._next_id = 1

    def send(self, op: str, params: dict[str, Any] | None = None) -> int:
        msgid = self._next_id
        self._next_id += 1
        self.dealer.send_multipart(envelope.encode_request(msgid, op, params or {}))
        return msgid

    def receive(self, msgid: int, timeout_s: float = 10.0) -> dict[str, Any]:
        while True:
            if not self.dealer.poll(int(timeout_s * 1000)):
                raise TimeoutError(f"no reply to request {msgid} within {timeout_s:g}s")
            reply = envelope.decode_reply(self.dealer.recv_multipart())
            if reply.id != msgid:
                continue  # a reply to an earlier request that timed out
            if reply.error is not None:
                raise RuntimeError(f"{reply.error.code}: {reply.error.message}")
            assert reply.result is not None
            result: dict[str, Any] = reply.result
            return result

    def request(self, op: str, params: dict[str, Any] | None = None,
                timeout_s: float = 10.0) -> dict[str, Any]:
        return self.receive(self.send(op, params), timeout_s)

    def subscribe(self, *topics: bytes) -> zmq.Socket[bytes]:
        """A SUB socket with `topics` in effect at the daemon (sync probe answered)."""
        sub = self.ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.connect(self.endpoints.publish)
        for topic in topics:
            sub.setsockopt(zmq.SUBSCRIBE, topic)
        token = pubsub.SYNC_PREFIX + os.urandom(8).hex().encode()
        sub.setsockopt(zmq.SUBSCRIBE, token)
        while True:
            if not sub.poll(10_000):
                raise TimeoutError("the daemon did not confirm the subscription")
            if sub.recv_multipart()[0] == token:
                break
        sub.setsockopt(zmq.UNSUBSCRIBE, token)
        return sub

    def close(self) -> None:
        self.ctx.destroy(linger=0)

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_output(raw: RawClient, session: str, end: int, timeout_s: float = 30.0) -> None:
    """Poll `info` until the session's scrollback reaches `end`."""
    deadline = time.monotonic() + timeout_s
    while raw.request("info", {"session": session})["end"] < end:
        if time.monotonic() > deadline:
            raise TimeoutError(f"session {session} did not write {end} bytes in {timeout_s:g}s")
        time.sleep(0.01)


# -- consuming a session's output stream ------------------------------------------------------

@dataclass
class StreamResult:
    bytes: int = 0
    digest: str = ""
    lost: int = 0
    done_at: float = 0.0
    """time.perf_counter() when the last expected byte arrived."""
    chunks: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


async def until_ready(stream: AsyncIterator[pubsub.OutputChunk | Lost],
                      marker: bytes) -> bytes:
    """Consume the stream up to the producer's READY line; return what followed it."""
    seen = b""
    while marker not in seen:
        item = await anext(stream)
        if isinstance(item, Lost):
            raise RuntimeError(f"lost {item.end - item.offset} bytes before READY")
        seen += item.data
    return seen.split(marker, 1)[1]


async def consume(stream: AsyncIterator[pubsub.OutputChunk | Lost], expected_bytes: int,
                  first: bytes = b"", result: StreamResult | None = None,
                  idle_timeout_s: float | None = None) -> StreamResult:
    """Hash every byte until `expected_bytes` arrived; Lost markers are counted, not hidden.
    With `idle_timeout_s`, a stream that yields nothing for that long raises TimeoutError,
    leaving what arrived so far in `result`."""
    digest = hashlib.sha256(first)
    result = result if result is not None else StreamResult()
    result.bytes = len(first)
    while result.bytes < expected_bytes:
        item = await (anext(stream) if idle_timeout_s is None
                      else _next_while_running(stream, idle_timeout_s))
        if isinstance(item, Lost):
            result.lost += item.end - item.offset
            result.bytes += item.end - item.offset
            continue
        data = item.data
        if result.bytes + len(data) > expected_bytes:
            data = data[: expected_bytes - result.bytes]
        digest.update(data)
        result.bytes += len(data)
        result.chunks += 1
    result.done_at = time.perf_counter()
    result.digest = digest.hexdigest()
    return result


IDLE_TICK_S = 0.25


async def _next_while_running(stream: AsyncIterator[pubsub.OutputChunk | Lost],
                              idle_timeout_s: float) -> pubsub.OutputChunk | Lost:
    """The next item, or TimeoutError once the stream gave nothing for `idle_timeout_s` of this
    process's running time. Counted in short ticks, each at most twice its length: a process
    stopped with SIGSTOP for a minute wakes with every asyncio timer expired, and a plain
    `wait_for` then fired at once, before the stream had a turn ("STUCK at 0.0 MB")."""
    step = asyncio.ensure_future(anext(stream))
    quiet = 0.0
    while quiet < idle_timeout_s:
        before = time.monotonic()
        await asyncio.wait((step,), timeout=IDLE_TICK_S)
        if step.done():
            return step.result()
        quiet += min(time.monotonic() - before, 2 * IDLE_TICK_S)
    step.cancel()
    with contextlib.suppress(BaseException):
        await step
    raise TimeoutError


async def close_stream(stream: AsyncIterator[Any]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


# -- the printed table ------------------------------------------------------------------------

@dataclass
class Section:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([_cell(c) for c in cells])

    def render(self) -> str:
        table = [self.columns, *self.rows]
        widths = [max(len(row[i]) if i < len(row) else 0 for row in table)
                  for i in range(len(self.columns))]
        lines = [self.title]
        for n, row in enumerate(table):
            cells = [row[i].ljust(widths[i]) if i == 0 else row[i].rjust(widths[i])
                     for i in range(len(row))]
            lines.append("  " + "  ".join(cells).rstrip())
            if n == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        lines.extend(f"  * {note}" for note in self.notes)
        return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value >= 100:
            return f"{value:.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "MISSED")


@contextlib.contextmanager
def timed_phase(name: str, verbose: bool = True) -> Iterator[None]:
    start = time.perf_counter()
    if verbose:
        print(f"... {name}", file=sys.stderr, flush=True)
    yield
    if verbose:
        print(f"    {name}: {time.perf_counter() - start:.1f}s", file=sys.stderr, flush=True)


class ReconnectingClient(RawClient):
    """A minimal client whose DEALER retries a missing or restarting daemon every
    RECONNECT_IVL_MS instead of ZeroMQ's default 100 ms, so the moment a daemon starts
    answering is timed to within a few milliseconds. A request sent before the daemon is
    there waits in ZeroMQ's queue and is answered as soon as it is."""

    RECONNECT_IVL_MS = 2

    def __init__(self, directory: Path):
        super().__init__(directory)
        self.dealer.close(linger=0)
        self.dealer = self.ctx.socket(zmq.DEALER)
        self.dealer.setsockopt(zmq.LINGER, 0)
        self.dealer.setsockopt(zmq.RECONNECT_IVL, self.RECONNECT_IVL_MS)
        self.dealer.connect(self.endpoints.control)


def run_families(families: Sequence[str], runners: dict[str, Any], results: dict[str, Any],
                 json_path: str | None) -> int:
    """Run each chosen family (a runner returns one Section or a list of them, and its data),
    print its table, note the load at the end, and write the results as JSON if asked.

    A family that fails (an exception, a timeout) is reported with its error and the run goes
    on with the others; the exit code is then 1."""
    failed = []
    for family in families:
        try:
            with timed_phase(family):
                if family in os.environ.get("PTYD_BENCH_FAIL", "").split(","):
                    raise RuntimeError("failing on purpose (PTYD_BENCH_FAIL, for the tests)")
                sections, data = runners[family]()
        except Exception as e:  # one family's failure must not hide the others' figures
            traceback.print_exc()
            failed.append(family)
            print(f"\n({family}) FAILED: {type(e).__name__}: {e}", flush=True)
            results[family] = {"failed": f"{type(e).__name__}: {e}"}
            continue
        for section in sections if isinstance(sections, list) else [sections]:
            print("\n" + section.render(), flush=True)
        results[family] = data
    results["load_average_at_end"] = os.getloadavg()
    print(f"\nload average {os.getloadavg()[0]:.2f} at end (other processes on this machine "
          "make every figure noisier)", flush=True)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(results, f, indent=2, default=str)
    if failed:
        print(f"families that failed: {', '.join(failed)}", flush=True)
    return 1 if failed else 0
