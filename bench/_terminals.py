"""The references ptyd is measured against, in the same run: a bare PTY read by a Python loop,
and tmux and dtach each with an attached client running in a PTY that we read as a terminal
emulator would.

Every case runs the same producer (bench/producer.py --wait): the clock starts when the one
byte that releases it is written, and stops when the last byte (bare PTY, counted) or the end
marker (tmux, dtach: what their client draws is not the raw stream) has been read.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from _common import (
    BENCH_DIR,
    PRODUCER,
    ROWS,
    Latency,
    clean_env,
    drain_and_close,
    read_until,
    spawn_on_pty,
)
from producer import READY_ON_TTY

END_MARKER = "PTYD-BENCH-END"
ECHO_PROGRAM = [sys.executable, str(BENCH_DIR / "echo.py")]
"""Echoes each keystroke itself, as a TUI agent does (raw mode, no tty echo)."""
QUIT = b"\x1d"
"""Ends both the echo program and a lingering producer."""
ECHO_KEYS = b"abcdefghijklmnopqrstuvwxyz"
MULTIPLEXERS = ("tmux", "dtach")


def available(tool: str) -> bool:
    return shutil.which(tool) is not None


def tool_version(tool: str) -> str:
    if tool == "tmux":
        return subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip()
    if tool == "dtach":  # dtach has no version flag; its usage text names the version
        usage = subprocess.run(["dtach", "--help"], capture_output=True, text=True).stdout
        return usage.splitlines()[0].replace(" - version", "") if usage else "dtach"
    return tool


def producer_argv(total_bytes: int, trailer: bool) -> list[str]:
    argv = [sys.executable, PRODUCER, str(total_bytes), "--wait"]
    if trailer:  # keep the pane open after the data, so the client gets to draw all of it
        argv += ["--trailer", END_MARKER, "--linger", "120"]
    return argv


# -- bare PTY -----------------------------------------------------------------------------------

def bare_pty_throughput(total_bytes: int, expected_len: int) -> float:
    """Seconds for a plain blocking os.read loop to take `expected_len` bytes from the PTY."""
    proc, master = spawn_on_pty(producer_argv(total_bytes, trailer=False))
    try:
        read_until(master, READY_ON_TTY)
        got = 0
        start = time.perf_counter()
        os.write(master, b"g")
        while got < expected_len:
            got += len(os.read(master, 65536))
        elapsed = time.perf_counter() - start
        if got != expected_len:
            raise RuntimeError(f"bare PTY: read {got} bytes, expected {expected_len}")
        return elapsed
    finally:
        drain_and_close(proc, master)


def bare_pty_echo(iterations: int) -> Latency:
    proc, master = spawn_on_pty(ECHO_PROGRAM)
    try:
        read_until(master, b"READY")
        return _echo_loop(master, iterations)
    finally:
        os.write(master, QUIT)
        drain_and_close(proc, master)


# -- tmux and dtach with an attached client -------------------------------------------------------

@contextlib.contextmanager
def attached(tool: str, argv: list[str]) -> Iterator[int]:
    """Run argv inside `tool`, with its client attached to a PTY; yield that PTY's master."""
    workdir = Path(tempfile.mkdtemp(prefix=f"ptyd-bench-{tool}-"))
    socket = str(workdir / "sock")
    if tool == "tmux":
        client = ["tmux", "-S", socket, "-f", "/dev/null", "new-session", "-x", "80", "-y",
                  str(ROWS), shlex.join(argv)]
    else:  # dtach: -E no detach key, -z no suspend key, -r none no redraw on attach
        client = ["dtach", "-c", socket, "-E", "-z", "-r", "none", *argv]
    proc, master = spawn_on_pty(client, env=clean_env())
    try:
        yield master
    finally:
        with contextlib.suppress(OSError):
            os.write(master, QUIT)  # ends the program in the pane, and with it the session
        drain_and_close(proc, master)
        if tool == "tmux":
            subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


def attached_throughput(tool: str, total_bytes: int) -> float:
    """Seconds from the start byte until the attached client has drawn the end marker."""
    with attached(tool, producer_argv(total_bytes, trailer=True)) as master:
        read_until(master, b"READY")
        start = time.perf_counter()
        os.write(master, b"g")
        read_until(master, END_MARKER.encode(), timeout_s=600)
        return time.perf_counter() - start


def attached_echo(tool: str, iterations: int) -> Latency:
    with attached(tool, ECHO_PROGRAM) as master:
        read_until(master, b"READY")
        return _echo_loop(master, iterations)


# -- helpers --------------------------------------------------------------------------------------

def _echo_loop(master: int, iterations: int) -> Latency:
    """Write one key, read until the terminal shows that key; one sample per key."""
    samples: list[int] = []
    for i in range(iterations):
        key = ECHO_KEYS[i % len(ECHO_KEYS): i % len(ECHO_KEYS) + 1]
        start = time.perf_counter_ns()
        os.write(master, key)
        while key not in os.read(master, 65536):
            pass
        samples.append(time.perf_counter_ns() - start)
    return Latency.of_ns(samples)
