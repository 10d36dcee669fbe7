"""ptyd runtime benchmark: the seed's TerminalManager and expect(), next to plain references.

    python bench/bench_runtime.py [--quick] [--json FILE] [--hooks] [--only spawn|expect]

(a) spawn: N agents (the fake Claude CLI in print mode, tests/agents/fake_claude) spawned
    concurrently from 8 threads through TerminalManager; every one must succeed (exit 0 and its
    exact answer). Total wall time and per-spawn p50/p99 next to the same programs started by
    subprocess under a PTY (setsid -c, as bench_foundation's bare PTY) from 8 threads. The fake
    runs no hooks unless --hooks: each hook is a Python process, which would measure Python's
    start-up rather than spawning.
(b) expect: a producer writes 100 MB of numbered lines, then a marker line.
    AsyncSession.expect(marker) from the go byte to the match (escape stripping, the search
    buffer, the Lost check), next to the raw stream rate of the same producer in the same
    daemon (AsyncClient.output, bytes counted and nothing else). Keeping up means no byte
    evicted before expect() read it, at a rate close to the raw one.

Each part runs a fresh daemon in a temporary directory, shut down at the end. Figures are
printed, with the targets; missing one is reported, not an error (exit 0). --quick: 20 agents
and 10 MB (CI runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _common import BENCH_DIR, BenchDaemon, Section, percentile, spawn_on_pty, timed_phase
from producer import BLOCK_BYTES, READY, blocks_for, expected_output

sys.path.insert(0, str(BENCH_DIR.parent))

from ptyd.client import AsyncClient, Lost
from ptyd.proto import pubsub
from ptyd.runtime.process import TerminalManager
from tests.agents.fake_claude_support import claude_home, fake_claude_command

MB = 1e6
THREADS = 8
PRODUCER = str(BENCH_DIR / "producer.py")
MARKER = "ptyd-bench-end-of-stream"
PROMPT = "hello from the benchmark"
ANSWER = f"Fake reply to: {PROMPT}"


# -- (a) spawning agents ----------------------------------------------------------------------

@dataclass
class SpawnResult:
    agents: int
    ok: int
    spawn_total_s: float
    """From the first spawn call to the return of the last one."""
    done_total_s: float
    """From the first spawn call until every agent had exited and been checked."""
    spawn_p50_ms: float
    spawn_p99_ms: float


def _in_threads(count: int, work: Any) -> tuple[list[float], list[bool], float, float]:
    """Run work(i) -> (spawn latency s, then a checker returning ok) for i in range(count)
    from THREADS threads; (latencies, oks, spawn wall, total wall)."""
    latencies: list[float] = [0.0] * count
    oks: list[bool] = [False] * count
    spawned_at: list[float] = [0.0] * count
    next_index = iter(range(count))
    lock = threading.Lock()
    start = time.perf_counter()

    def worker() -> None:
        checks = []
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                break
            t0 = time.perf_counter()
            check = work(i)
            spawned_at[i] = time.perf_counter()
            latencies[i] = spawned_at[i] - t0
            checks.append((i, check))
        for i, check in checks:
            try:
                oks[i] = bool(check())
            except Exception as e:  # reported as a failed agent, not a crash of the bench
                print(f"agent {i} failed: {e!r}", file=sys.stderr)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, oks, max(spawned_at) - start, time.perf_counter() - start


def bench_spawn_ptyd(count: int, claude: Path, home: Path, base: Path, hooks: bool
                     ) -> SpawnResult:
    env = {} if hooks else {"FAKE_CLAUDE_HOOKS": "0"}
    with BenchDaemon("runtime-spawn") as daemon, \
            TerminalManager(base, daemon_dir=daemon.dir, claude=str(claude),
                            claude_home=home) as manager:

        def work(i: int) -> Any:
            agent_id = f"agent-{i:03d}"
            manager.spawn_claude_agent(agent_id, PROMPT, f"ws/{agent_id}", timeout=300,
                                       env=env)
            def check() -> bool:
                code = manager.wait_for_completion(agent_id, timeout=300)
                output = manager.get_output(agent_id)
                if code != 0 or output != ANSWER:
                    process = manager.processes[agent_id]
                    print(f"{agent_id}: exit {code}, output {output[-300:]!r}, errors "
                          f"{manager.get_errors(agent_id)[-300:]!r}, stop_reason "
                          f"{process.stop_reason}", file=sys.stderr)
                return code == 0 and output == ANSWER

            return check

        latencies, oks, spawn_wall, total = _in_threads(count, work)
    return SpawnResult(count, sum(oks), spawn_wall, total, percentile(latencies, 50) * 1e3,
                       percentile(latencies, 99) * 1e3)


def bench_spawn_subprocess(count: int, claude: Path, home: Path, base: Path) -> SpawnResult:
    env = {**os.environ, "HOME": str(home), "FAKE_CLAUDE_HOOKS": "0",
           "TERM": "xterm-256color"}

    def work(i: int) -> Any:
        proc, master = spawn_on_pty([str(claude), "-p", PROMPT], env)

        def check() -> bool:
            output = b""
            while True:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the terminal hung up
                    break
                if not data:
                    break
                output += data
            os.close(master)
            return proc.wait(300) == 0 and output.decode().strip() == ANSWER

        return check

    latencies, oks, spawn_wall, total = _in_threads(count, work)
    return SpawnResult(count, sum(oks), spawn_wall, total, percentile(latencies, 50) * 1e3,
                       percentile(latencies, 99) * 1e3)


# -- (b) expect on a long stream --------------------------------------------------------------

@dataclass
class ExpectResult:
    megabytes: float
    raw_mb_s: float
    expect_mb_s: float
    lost_bytes: int
    matched: bool


def _producer(nbytes: int) -> list[str]:
    return [sys.executable, PRODUCER, str(nbytes), "--wait", "--trailer", MARKER,
            "--linger", "30"]


async def _raw_rate(c: AsyncClient, nbytes: int) -> float:
    total = expected_output(nbytes)[0]
    await c.spawn(_producer(nbytes), name="raw")
    stream = c.output("raw", 0)
    seen = b""
    async for item in stream:
        assert not isinstance(item, Lost)
        seen += item.data
        if READY.strip() in seen:
            break
    received = len(seen.split(READY.strip(), 1)[1]) - 2  # what came after "READY\r\n"
    start = time.perf_counter()
    await c.input("raw", b"g")
    async for item in stream:
        if isinstance(item, pubsub.OutputChunk):
            received += len(item.data)
        if received >= total:
            break
    elapsed = time.perf_counter() - start
    await stream.aclose()  # type: ignore[attr-defined]
    await c.kill("raw", signal="KILL")
    return total / elapsed / MB


async def _expect_rate(c: AsyncClient, nbytes: int) -> tuple[float, int, bool]:
    total = expected_output(nbytes)[0]
    s = await c.spawn(_producer(nbytes), name="exp")
    lost = 0

    def count_lost(item: pubsub.OutputChunk | Lost) -> None:
        nonlocal lost
        if isinstance(item, Lost):
            lost += item.end - item.offset

    s.on_output(count_lost)
    await s.expect("READY", timeout=30)
    start = time.perf_counter()
    await s.send(b"g")
    match = await s.expect(MARKER, timeout=600)
    elapsed = time.perf_counter() - start
    matched = f"block {blocks_for(nbytes) - 1:012d}" in match.before[-2 * BLOCK_BYTES:]
    await c.kill("exp", signal="KILL")
    return total / elapsed / MB, lost, matched


def bench_expect(nbytes: int) -> ExpectResult:
    async def run() -> ExpectResult:
        with BenchDaemon("runtime-expect") as daemon:
            async with AsyncClient(daemon.dir) as c:
                raw = await _raw_rate(c, nbytes)
                rate, lost, matched = await _expect_rate(c, nbytes)
        return ExpectResult(nbytes / MB, raw, rate, lost, matched)

    return asyncio.run(run())


# -- main ------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 agents, 10 MB (for CI)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--hooks", action="store_true",
                        help="let the fake run the daemon's hooks (one Python process each)")
    parser.add_argument("--only", action="append", choices=("spawn", "expect"),
                        help="run only these parts")
    args = parser.parse_args(argv)
    parts = set(args.only or ("spawn", "expect"))
    agents = 20 if args.quick else 100
    nbytes = 10_000_000 if args.quick else 100_000_000
    results: dict[str, Any] = {"machine": {"python": platform.python_version(),
                                           "cpus": os.cpu_count(),
                                           "platform": platform.platform()}}
    print(f"ptyd runtime benchmark ({'quick' if args.quick else 'full'}), "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}\n")
    with tempfile.TemporaryDirectory(prefix="ptyd-bench-rt-") as tmp:
        work = Path(tmp)
        claude = fake_claude_command(work / "bin")
        home = claude_home(work / "home")
        if "spawn" in parts:
            with timed_phase(f"(a) {agents} agents through TerminalManager"):
                ours = bench_spawn_ptyd(agents, claude, home, work / "ptyd", args.hooks)
            with timed_phase(f"(a) {agents} programs with subprocess under a PTY"):
                ref = bench_spawn_subprocess(agents, claude, home, work / "ref")
            section = Section(f"(a) {agents} agents spawned from {THREADS} threads "
                              "(fake claude -p)", ["", "ok", "spawn wall s", "all done s",
                                                   "spawn p50 ms", "spawn p99 ms"])
            for label, r in (("ptyd TerminalManager", ours),
                             ("subprocess + PTY (reference)", ref)):
                section.add(label, f"{r.ok}/{r.agents}", r.spawn_total_s, r.done_total_s,
                            r.spawn_p50_ms, r.spawn_p99_ms)
            section.notes.append(f"target: all {agents} succeed: "
                                 f"{'met' if ours.ok == agents else 'MISSED'}")
            section.notes.append("hooks " + ("on (a Python process per hook event)" if args.hooks
                                             else "off in the fake (FAKE_CLAUDE_HOOKS=0)"))
            print(section.render() + "\n")
            results["spawn"] = {"ptyd": asdict(ours), "subprocess": asdict(ref),
                                "hooks": args.hooks}
        if "expect" in parts:
            with timed_phase(f"(b) expect() on {nbytes / MB:.0f} MB"):
                r = bench_expect(nbytes)
            section = Section(f"(b) expect() on a {r.megabytes:.0f} MB stream",
                              ["", "MB/s", "lost bytes"])
            section.add("raw stream (AsyncClient.output, bytes counted)", r.raw_mb_s, 0)
            section.add("AsyncSession.expect(marker)", r.expect_mb_s, r.lost_bytes)
            kept_up = r.lost_bytes == 0 and r.matched
            section.notes.append(f"expect/raw = {r.expect_mb_s / r.raw_mb_s:.2f}; target: keeps "
                                 f"up (nothing evicted unread, marker found): "
                                 f"{'met' if kept_up else 'MISSED'}")
            print(section.render() + "\n")
            results["expect"] = asdict(r)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
