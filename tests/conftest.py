"""Shared test fixtures: a real daemon per test, real clients, the agent stand-ins in tests/agents.

Everything here is real: the daemon is `python -m ptyd serve` in its own process, on ipc
sockets in a fresh private directory; waiting is always on a condition with a deadline.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from ptyd.client import Client, DaemonNotRunning, Timeout

AGENTS = Path(__file__).parent / "agents"
PYTHON = sys.executable

def load_factor() -> float:
    """How much slower than an idle machine this one is now: PTYD_TEST_LOAD_FACTOR, or the
    load average per core when higher. Read at each use: the load changes during a run (other
    pytest-xdist workers, a `stress-ng` started with the suite). The load average trails the
    load by a minute, so the suite's own workers per core count from the first test."""
    cores = os.cpu_count() or 1
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return max(1.0, float(os.environ.get("PTYD_TEST_LOAD_FACTOR", "1")),
               os.getloadavg()[0] / cores, workers / cores)


def slack(seconds: float) -> float:
    """An upper time bound that a loaded machine may stretch: `seconds * load_factor() * 3`.
    Only for bounds that state a property ("answers without waiting for the push"), never as
    a benchmark; benchmarks live in tests/bench."""
    return seconds * load_factor() * 3


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """pytest-timeout's bound (60 s, or the test's own mark) stretched by the load factor when
    the test starts: a test is bounded against a hang, not against a busy machine."""
    marker = item.get_closest_marker("timeout")
    base = (marker.args[0] if marker is not None and marker.args
            else marker.kwargs.get("timeout") if marker is not None
            else item.config.getini("timeout"))
    if base:
        item.add_marker(pytest.mark.timeout(float(base) * load_factor()), append=False)
    yield

# Hypothesis' per-example deadline is a wall-clock bound: on a loaded machine it fails tests that
# are correct. Examples stay bounded by their count and by pytest-timeout.
settings.register_profile("ptyd", deadline=None)
settings.load_profile("ptyd")


def agent(name: str, *args: str) -> list[str]:
    """argv running one of the stand-in programs under tests/agents."""
    return [PYTHON, str(AGENTS / f"{name}.py"), *args]


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.01,
               message: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; fail the test at the deadline:
    `timeout` seconds on an idle machine, stretched by the load factor."""
    timeout *= load_factor()
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def short_tempdir() -> Path:
    """ipc socket paths must fit in sun_path (107 bytes): pytest's tmp_path can be too long."""
    return Path(tempfile.mkdtemp(prefix="ptyd-t-", dir="/tmp"))


@dataclass
class DaemonProcess:
    dir: Path
    proc: subprocess.Popen[bytes]
    log_path: Path

    def client(self, **kw: Any) -> Client:
        return Client(self.dir, **kw)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def cli(self, *args: str, input: bytes | None = None, timeout: float = 30,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli("--dir", str(self.dir), *args, input=input, timeout=timeout, env=env)

    def wait_upgraded(self, since_seq: int) -> None:
        """Until the successor of an upgrade asked for after event `since_seq` serves (its
        `daemon.upgraded`); the old daemon answers `events` until it re-executes."""
        def upgraded() -> bool:
            try:
                with self.client(timeout=1) as c:
                    return any(e["type"] == "daemon.upgraded"
                               for e in c.events(since_seq)["events"])
            except Exception:
                return False
        wait_until(upgraded, 20, message="the successor to adopt")


def run_cli(*args: str, input: bytes | None = None, timeout: float = 30,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([PYTHON, "-m", "ptyd", *args], input=input, capture_output=True,
                          timeout=timeout * load_factor(), env=env)
    return subprocess.CompletedProcess(proc.args, proc.returncode,
                                       proc.stdout.decode(errors="replace"),
                                       proc.stderr.decode(errors="replace"))


def free_tcp_ports(n: int = 2) -> list[int]:
    """`n` distinct ports free on 127.0.0.1 now: taken together (all bound at once), never as
    P and P+1, which another test's connection may hold while two suites share a machine."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def free_port_pair() -> tuple[int, int]:
    """Ports P and P+1, both free on 127.0.0.1 now (checked together): a remote daemon's
    control and publish ports when the publish port is implied (`endpoint` in a remotes file)."""
    for _ in range(100):
        with socket.socket() as first, socket.socket() as second:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            try:
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port, port + 1
    raise AssertionError("no two consecutive free ports on 127.0.0.1")


def start_daemon(directory: Path, *extra: str) -> DaemonProcess:
    directory.mkdir(mode=0o700, exist_ok=True)
    log_path = directory.parent / f"{directory.name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([PYTHON, "-m", "ptyd", "--dir", str(directory), "serve",
                                 "--log-level", "debug", *extra],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    daemon = DaemonProcess(directory, proc, log_path)

    def answers() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"daemon exited with {proc.returncode}:\n{daemon.log()}")
        try:
            with Client(directory, timeout=1):
                return True
        except (DaemonNotRunning, Timeout):  # not listening yet, or listening but not serving
            return False

    wait_until(answers, 15, 0.02, "the daemon to answer")
    return daemon


def stop_daemon(daemon: DaemonProcess) -> int:
    if daemon.proc.poll() is None:
        try:
            with daemon.client(timeout=5) as c:
                c.shutdown(grace=2)
        except Exception:
            # Already stopping (the test shut it down: `shutting_down`, or its sockets are gone):
            # let it finish. A SIGTERM now could land after its loop closed, where the default
            # action kills it (-15), failing a daemon that did nothing wrong.
            try:
                daemon.proc.wait(5 * load_factor())
            except subprocess.TimeoutExpired:
                daemon.proc.send_signal(signal.SIGTERM)
        try:
            return daemon.proc.wait(20 * load_factor())
        except subprocess.TimeoutExpired:
            daemon.proc.kill()
            daemon.proc.wait()
            pytest.fail(f"daemon did not stop:\n{daemon.log()}")
    return daemon.proc.returncode


@pytest.fixture
def rundir() -> Iterator[Path]:
    base = short_tempdir()
    yield base / "run"
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def daemon(rundir: Path) -> Iterator[DaemonProcess]:
    """A real daemon on a private runtime directory; asserts it shuts down cleanly."""
    d = start_daemon(rundir)
    yield d
    code = stop_daemon(d)
    assert code == 0, f"daemon exited with {code}:\n{d.log()}"
    assert "Traceback" not in d.log(), d.log()


@pytest.fixture
def client(daemon: DaemonProcess) -> Iterator[Client]:
    with daemon.client() as c:
        yield c


def screen_text(c: Client, name: str) -> str:
    """All output of a session so far, decoded, for substring checks."""
    info = c.info(name)
    return bytes(c.read(name, info["base"], max_bytes=4 << 20)["data"]).decode(errors="replace")


def wait_for_output(c: Client, name: str, text: str, timeout: float = 10.0) -> str:
    return wait_until(lambda: text in (out := screen_text(c, name)) and out, timeout,
                      message=f"{text!r} in session {name!r}")


def zombies_of(pid: int) -> list[int]:
    """Child processes of `pid` that are zombies (exited, never reaped)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z" and int(fields[1]) == pid:
            found.append(int(entry))
    return found


def connected_and_asleep(pid: int) -> bool:
    """A `ptyd` command is past its start-up (it holds a socket: connected to the daemon, its
    Ctrl-C handling in place) and its main thread sleeps, blocked on the daemon's answer. It
    may speak ZeroMQ through libzmq (threads) or the lean client's plain socket (none)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        fds = [os.readlink(f) for f in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return False
    return state == "S" and any(fd.startswith("socket:") for fd in fds)



@contextlib.contextmanager
def stopped(pid: int) -> Iterator[None]:
    """`pid` stopped (SIGSTOP) for the block, as a frozen client is, and resumed (SIGCONT)
    however the block ends."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)
