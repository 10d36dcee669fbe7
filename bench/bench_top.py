"""`ptyd top` benchmark (issue 17): 100 sessions on a fresh daemon, the overview in a real PTY.

    python bench/bench_top.py [--sessions N] [--idle SECONDS] [--keys N] [--json FILE]

(a) start-up: from exec of `ptyd top` to the first frame that lists every session (the title
    reads "N sessions"), cold (a fresh interpreter, as a person runs it); target < 300 ms;
    beside it the floor, `ptyd --version` measured alike (the interpreter and the CLI's
    imports), and what the overview adds to it;
(b) idle CPU: utime + stime of the overview over --idle seconds while nothing happens but the
    daemon's heartbeats and the once-a-second FOR column; target < 2 % of a core;
(c) key latency: Down / Up written to the terminal until the redrawn lines come back out of it
    (median and p95 of --keys presses); target < 50 ms.

Standalone (no bench/_common.py). Missed targets are reported, not errors (exit 0).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pexpect

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
TARGETS = {"startup_ms": 300.0, "idle_cpu_percent": 2.0, "key_p95_ms": 50.0}


def ptyd(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "ptyd", "--dir", str(directory), *args],
                          capture_output=True, text=True, timeout=60, check=True)


def start_daemon(directory: Path) -> subprocess.Popen[bytes]:
    directory.mkdir(mode=0o700)
    proc = subprocess.Popen([PYTHON, "-m", "ptyd", "--dir", str(directory), "serve"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while subprocess.run([PYTHON, "-m", "ptyd", "--dir", str(directory), "ls"],
                         capture_output=True, timeout=30).returncode != 0:
        if time.monotonic() > deadline:
            raise SystemExit("the daemon did not start")
        time.sleep(0.05)
    return proc


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spawn_sessions(directory: Path, count: int) -> None:
    from ptyd.client import Client

    with Client(directory) as c:
        for i in range(count):
            c.spawn(["sleep", "3600"], name=f"agent{i:03d}", cols=80, rows=24)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--keys", type=int, default=40)
    parser.add_argument("--startups", type=int, default=5)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="ptyd-bt-", dir="/tmp"))
    directory = base / "run"
    remotes = base / "remotes.toml"
    remotes.write_text("")
    daemon = start_daemon(directory)
    results: dict[str, float] = {}
    try:
        spawn_sessions(directory, args.sessions)
        argv = ["-m", "ptyd", "--dir", str(directory), "top", "--remotes", str(remotes)]
        title = f"{args.sessions} sessions"
        startups = []
        for _ in range(args.startups):
            began = time.perf_counter()
            child = pexpect.spawn(PYTHON, argv, dimensions=(50, 160), timeout=30)
            child.expect_exact(title)
            startups.append((time.perf_counter() - began) * 1000)
            child.send("q")
            child.expect(pexpect.EOF)
            child.close()
        results["startup_ms"] = statistics.median(startups)
        results["startup_max_ms"] = max(startups)
        floors = []  # the interpreter and the CLI's imports alone, measured alike
        for _ in range(args.startups):
            began = time.perf_counter()
            child = pexpect.spawn(PYTHON, ["-m", "ptyd", "--version"], timeout=30)
            child.expect(pexpect.EOF)
            floors.append((time.perf_counter() - began) * 1000)
            child.close()
        results["cli_floor_ms"] = statistics.median(floors)
        results["startup_own_ms"] = results["startup_ms"] - results["cli_floor_ms"]

        child = pexpect.spawn(PYTHON, argv, dimensions=(50, 160), timeout=30)
        child.delaybeforesend = None  # pexpect sleeps 50 ms before each send by default
        child.expect_exact(title)
        time.sleep(1.5)  # the first heartbeat's relist, the git stats (none here)
        _drain(child)
        before, t0 = cpu_seconds(child.pid), time.perf_counter()
        end = t0 + args.idle
        while time.perf_counter() < end:  # keep reading, as a terminal does
            _drain(child, 0.2)
        used = cpu_seconds(child.pid) - before
        results["idle_cpu_percent"] = 100 * used / (time.perf_counter() - t0)

        latencies = []
        for i in range(args.keys):
            _drain(child)
            began = time.perf_counter()
            child.send("\x1b[B" if i % 2 == 0 else "\x1b[A")
            child.read_nonblocking(65536, timeout=5)  # the first bytes of the redraw
            latencies.append((time.perf_counter() - began) * 1000)
            time.sleep(0.02)
        latencies.sort()
        results["key_median_ms"] = statistics.median(latencies)
        results["key_p95_ms"] = latencies[int(0.95 * (len(latencies) - 1))]
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        subprocess.run([PYTHON, "-m", "ptyd", "--dir", str(directory), "shutdown"],
                       capture_output=True, timeout=60)
        daemon.wait(30)
        shutil.rmtree(base, ignore_errors=True)
    print(f"ptyd top, {args.sessions} sessions ({os.cpu_count()} cores)")
    for key, value in results.items():
        target = TARGETS.get(key)
        verdict = "" if target is None else ("  ok" if value < target else f"  MISSED (< {target:g})")
        print(f"  {key:<18} {value:8.1f}{verdict}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def _drain(child: pexpect.spawn, timeout: float = 0.05) -> None:
    try:
        while True:
            child.read_nonblocking(65536, timeout=timeout)
    except (pexpect.TIMEOUT, pexpect.EOF):
        pass


if __name__ == "__main__":
    sys.exit(main())
