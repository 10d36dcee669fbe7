"""ptyd foundation benchmark: ptyd side by side with references measured in the same run.

    python bench/bench_foundation.py [--quick] [--json FILE]

(a) output throughput of a fast producer to one live subscriber (client library stream, every
    byte hashed) against a bare PTY read by a Python loop, tmux and dtach with attached clients;
(b) request round trip (hello, info) over ipc: a bare DEALER, the blocking and async clients;
(c) keystroke echo round trip (input request -> PTY -> echo -> published chunk) against a bare
    PTY, tmux and dtach;
(d) daemon CPU and memory with idle sessions; scrollback memory against the bytes it holds;
(e) a subscriber that stops reading: the producer's speed with it, and its catch-up after.

Each case runs a fresh daemon in a temporary directory, shut down at the end. The figures are
printed with the issue's targets; missing one is reported, not an error (exit 0). --quick
shrinks every size so the whole run takes well under 30 s (CI runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import _terminals as refs
from _common import (
    BENCH_DIR,
    COLS,
    ROWS,
    BenchDaemon,
    Latency,
    RawClient,
    Section,
    close_stream,
    consume,
    cpu_seconds,
    median,
    memory_kb,
    run_families,
    until_ready,
    verdict,
    wait_output,
)
from producer import READY_ON_TTY, expected_output

from ptyd.client import AsyncClient, Client
from ptyd.proto import limits, pubsub

MB = 1e6


@dataclass(frozen=True)
class Plan:
    """Sizes of one run: the full run, or the quick one for CI."""

    throughput_bytes: int = 200_000_000
    repeats: int = 3
    rtt_requests: int = 5000
    echo_keys: int = 2000
    idle_sessions: int = 200
    cpu_window_s: float = 10.0
    fill_sessions: int = 16
    fill_bytes: int = 4 << 20
    wrap_sessions: int = 4
    wrap_capacity: int = 4 << 20
    stall_bytes: int = 100_000_000
    stall_s: float = 60.0

    @classmethod
    def quick(cls) -> Plan:
        return cls(throughput_bytes=4_000_000, repeats=1, rtt_requests=300, echo_keys=200,
                   idle_sessions=20, cpu_window_s=1.0, fill_sessions=4, fill_bytes=1 << 20,
                   wrap_sessions=2, wrap_capacity=1 << 20, stall_bytes=8_000_000, stall_s=1.0)


TARGET_THROUGHPUT_RATIO = 0.95
TARGET_RTT_P99_US = 1000.0
TARGET_ECHO_P50_US, TARGET_ECHO_P99_US = 150.0, 1000.0
TARGET_IDLE_CPU_PCT = 1.0
TARGET_IDLE_KB_PER_SESSION = 50.0
TARGET_SCROLLBACK_RATIO = 1.1
TARGET_STALL_RATIO = 0.9
"""'Costs the producer nothing': within the run-to-run noise of this machine."""
STUCK_AFTER_S = 10.0
"""A resumed subscriber that gets nothing for this long, with the producer gone and heartbeats
flowing every second, will never finish: it reports being stuck instead of hanging the run."""


def producer_argv(total_bytes: int, *extra: str) -> list[str]:
    return [sys.executable, str(BENCH_DIR / "producer.py"), str(total_bytes), *extra]


# -- (a) throughput ----------------------------------------------------------------------------

async def _ptyd_throughput(daemon: BenchDaemon, name: str, total_bytes: int,
                           expected: tuple[int, str]) -> dict[str, Any]:
    length, digest = expected
    async with AsyncClient(daemon.dir) as client:
        await client.spawn(producer_argv(total_bytes, "--wait"), name=name, cols=COLS, rows=ROWS)
        stream = client.output(name)
        try:
            first = await until_ready(stream, READY_ON_TTY)
            daemon_cpu, own_cpu = cpu_seconds(daemon.pid), time.process_time()
            start = time.perf_counter()
            await client.input(name, b"g")
            result = await consume(stream, length, first)
            elapsed = result.done_at - start
            daemon_cpu = cpu_seconds(daemon.pid) - daemon_cpu
            own_cpu = time.process_time() - own_cpu
        finally:
            await close_stream(stream)
        await client.wait(name, timeout=30)
        await client.remove(name)
    if result.digest != digest or result.lost:
        raise RuntimeError(f"ptyd stream corrupted: {result.bytes} bytes, lost {result.lost}, "
                           f"sha256 {result.digest} != {digest}")
    return {"seconds": elapsed, "chunks": result.chunks,
            "daemon_cpu_pct": daemon_cpu / elapsed * 100,
            "subscriber_cpu_pct": own_cpu / elapsed * 100}


def bench_throughput(plan: Plan, tools: list[str], skipped: dict[str, str]
                     ) -> tuple[Section, dict[str, Any]]:
    expected = expected_output(plan.throughput_bytes)
    length = expected[0]
    cases = ["bare", "ptyd", *tools]
    seconds: dict[str, list[float]] = {case: [] for case in cases}
    ptyd_runs: list[dict[str, Any]] = []
    with BenchDaemon("throughput") as daemon:
        for rep in range(plan.repeats):  # interleaved, so drift hits every case alike
            for case in cases:
                if case == "bare":
                    seconds[case].append(refs.bare_pty_throughput(plan.throughput_bytes, length))
                elif case == "ptyd":
                    run = asyncio.run(_ptyd_throughput(daemon, f"tp{rep}",
                                                       plan.throughput_bytes, expected))
                    ptyd_runs.append(run)
                    seconds[case].append(run["seconds"])
                else:
                    seconds[case].append(refs.attached_throughput(case, plan.throughput_bytes))
    rate = {case: length / median(times) / MB for case, times in seconds.items()}
    bare = rate["bare"]
    section = Section(
        f"(a) output throughput: {plan.throughput_bytes / MB:g} MB of 80-column lines "
        f"({length / MB:.1f} MB after ONLCR), median of {plan.repeats}",
        ["case", "MB/s", "x bare", "target", "verdict"])
    labels = {"bare": "bare PTY, Python os.read loop (reference)",
              "ptyd": "ptyd -> AsyncClient.output, sha256 checked"}
    for case in cases:
        label = labels.get(case, f"{refs.tool_version(case)}, attached client")
        ratio = rate[case] / bare
        target = f">= {TARGET_THROUGHPUT_RATIO}x" if case == "ptyd" else None
        ok = ratio >= TARGET_THROUGHPUT_RATIO if case == "ptyd" else None
        section.add(label, rate[case], f"{ratio:.2f}", target, verdict(ok))
    last = ptyd_runs[-1]
    section.notes.append(
        f"ptyd: every byte verified (sha256, 0 lost); {last['chunks']} chunks "
        f"(avg {length / last['chunks'] / 1024:.1f} KiB); daemon {last['daemon_cpu_pct']:.0f}% "
        f"of a core, subscriber {last['subscriber_cpu_pct']:.0f}% (last run)")
    section.notes.extend(f"{tool} skipped: {why}" for tool, why in skipped.items())
    data = {"bytes_on_tty": length, "seconds": seconds, "mb_per_s": rate,
            "ratio_to_bare": {c: r / bare for c, r in rate.items()}, "ptyd_runs": ptyd_runs,
            "target_met": rate["ptyd"] / bare >= TARGET_THROUGHPUT_RATIO}
    return section, data


# -- (b) request round trip -------------------------------------------------------------------

def _timed(call: Any, n: int, warmup: int = 100) -> Latency:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - start)
    return Latency.of_ns(samples)


async def _async_rtt(daemon: BenchDaemon, n: int) -> dict[str, Latency]:
    out = {}
    async with AsyncClient(daemon.dir) as client:
        for op in ("hello", "info"):
            call = client.hello if op == "hello" else (lambda: client.info("idle"))
            for _ in range(100):
                await call()
            samples = []
            for _ in range(n):
                start = time.perf_counter_ns()
                await call()
                samples.append(time.perf_counter_ns() - start)
            out[op] = Latency.of_ns(samples)
    return out


def bench_rtt(plan: Plan) -> tuple[Section, dict[str, Any]]:
    n = plan.rtt_requests
    results: dict[str, Latency] = {}
    with BenchDaemon("rtt") as daemon, RawClient(daemon.dir) as raw:
        raw.request("spawn", {"argv": ["sleep", "1000"], "name": "idle"})
        results["minimal DEALER: hello"] = _timed(lambda: raw.request("hello"), n)
        results["minimal DEALER: info"] = _timed(
            lambda: raw.request("info", {"session": "idle"}), n)
        with Client(daemon.dir) as client:
            results["Client (blocking): hello"] = _timed(client.hello, n)
            results["Client (blocking): info"] = _timed(lambda: client.info("idle"), n)
        for op, latency in asyncio.run(_async_rtt(daemon, n)).items():
            results[f"AsyncClient: {op}"] = latency
    section = Section(f"(b) request round trip over ipc, idle daemon, {n} requests each",
                      ["case", "p50 us", "p99 us", "target p99", "verdict"])
    for label, lat in results.items():
        section.add(label, lat.p50_us, lat.p99_us, f"<= {TARGET_RTT_P99_US:.0f}",
                    verdict(lat.p99_us <= TARGET_RTT_P99_US))
    data = {label: asdict(lat) for label, lat in results.items()}
    return section, data


# -- (c) keystroke echo ------------------------------------------------------------------------

def _ptyd_echo_minimal(raw: RawClient, session: str, n: int) -> Latency:
    sub = raw.subscribe(pubsub.output_topic(session))
    samples = []
    try:
        for i in range(n + 50):
            key = refs.ECHO_KEYS[i % 26: i % 26 + 1]
            start = time.perf_counter_ns()
            msgid = raw.send("input", {"session": session, "data": key})
            while True:
                chunk = pubsub.decode_published(sub.recv_multipart())
                if isinstance(chunk, pubsub.OutputChunk) and key in chunk.data:
                    break
            if i >= 50:  # the first keys warm up both ends
                samples.append(time.perf_counter_ns() - start)
            raw.receive(msgid)
    finally:
        sub.close(linger=0)
    return Latency.of_ns(samples)


async def _ptyd_echo_library(daemon: BenchDaemon, session: str, n: int) -> Latency:
    async with AsyncClient(daemon.dir) as client:
        stream = client.output(session, (await client.info(session))["end"])
        samples = []
        try:
            for i in range(n + 50):
                key = refs.ECHO_KEYS[i % 26: i % 26 + 1]
                start = time.perf_counter_ns()
                # As a person types: the reply is not waited for (the daemon answers only a
                # failure, which the next input would raise).
                await client.input(session, key, wait=False)
                while True:
                    item = await anext(stream)
                    if isinstance(item, pubsub.OutputChunk) and key in item.data:
                        break
                if i >= 50:
                    samples.append(time.perf_counter_ns() - start)
        finally:
            await close_stream(stream)
    return Latency.of_ns(samples)


def bench_echo(plan: Plan, tools: list[str], skipped: dict[str, str]
               ) -> tuple[Section, dict[str, Any]]:
    n = plan.echo_keys
    results: dict[str, Latency] = {"bare PTY write -> read (reference)": refs.bare_pty_echo(n)}
    for tool in tools:
        results[f"{refs.tool_version(tool)}, attached client"] = refs.attached_echo(tool, n)
    with BenchDaemon("echo") as daemon, RawClient(daemon.dir) as raw:
        raw.request("spawn", {"argv": refs.ECHO_PROGRAM, "name": "echo"})
        wait_output(raw, "echo", len(b"READY"))
        results["ptyd, minimal DEALER + SUB"] = _ptyd_echo_minimal(raw, "echo", n)
        results["ptyd, AsyncClient input + output"] = asyncio.run(
            _ptyd_echo_library(daemon, "echo", n))
    bare = next(iter(results.values()))
    section = Section(f"(c) keystroke echo round trip ({n} keys; program echoes in raw mode)",
                      ["case", "p50 us", "p99 us", "x bare p50", "target p50/p99", "verdict"])
    for label, lat in results.items():
        is_ptyd = label.startswith("ptyd")
        ok = (lat.p50_us <= TARGET_ECHO_P50_US and lat.p99_us <= TARGET_ECHO_P99_US
              if is_ptyd else None)
        section.add(label, lat.p50_us, lat.p99_us, f"{lat.p50_us / bare.p50_us:.1f}",
                    f"<= {TARGET_ECHO_P50_US:.0f}/{TARGET_ECHO_P99_US:.0f}" if is_ptyd else None,
                    verdict(ok))
    section.notes.extend(f"{tool} skipped: {why}" for tool, why in skipped.items())
    return section, {label: asdict(lat) for label, lat in results.items()}


# -- (d) idle sessions and scrollback memory ---------------------------------------------------

def _spawn_writers(raw: RawClient, prefix: str, count: int, write_bytes: int,
                   capacity: int) -> int:
    """`count` sessions that each write `write_bytes` and stay; wait until all of it is held.
    Returns the bytes their scrollbacks hold."""
    on_tty = expected_output(write_bytes)[0]
    names = [f"{prefix}{i}" for i in range(count)]
    for name in names:
        raw.request("spawn", {"argv": producer_argv(write_bytes, "--linger", "3600"),
                              "name": name, "scrollback_bytes": capacity})
    for name in names:
        wait_output(raw, name, on_tty)
    return sum(info["end"] - info["base"]
               for info in (raw.request("info", {"session": n}) for n in names))


def _settled_memory(pid: int) -> dict[str, int]:
    time.sleep(0.5)  # let the loop finish what the last requests started
    return memory_kb(pid)


def bench_idle(plan: Plan) -> tuple[Section, dict[str, Any]]:
    n = plan.idle_sessions
    with BenchDaemon("idle") as daemon, RawClient(daemon.dir) as raw:
        for i in range(3):  # warm the spawn and remove paths before the baseline
            raw.request("spawn", {"argv": ["sleep", "1000"], "name": f"warm{i}"})
            raw.request("remove", {"session": f"warm{i}", "force": True})
        before = _settled_memory(daemon.pid)
        start = time.perf_counter()
        for i in range(n):
            raw.request("spawn", {"argv": ["sleep", "1000"], "name": f"idle{i}"})
        spawn_s = time.perf_counter() - start
        idle = _settled_memory(daemon.pid)
        cpu = cpu_seconds(daemon.pid)
        time.sleep(plan.cpu_window_s)
        cpu_pct = (cpu_seconds(daemon.pid) - cpu) / plan.cpu_window_s * 100
        rss_kb = (idle["rss"] - before["rss"]) / n
        pss_kb = (idle["pss"] - before["pss"]) / n

        fill_held = _spawn_writers(raw, "fill", plan.fill_sessions, plan.fill_bytes,
                                   2 * plan.fill_bytes)
        filled = _settled_memory(daemon.pid)
        wrap_held = _spawn_writers(raw, "wrap", plan.wrap_sessions, 4 * plan.wrap_capacity,
                                   plan.wrap_capacity)
        wrapped = _settled_memory(daemon.pid)

    def ratio(grown_kb: int, sessions: int, held: int) -> tuple[float, float]:
        grown = grown_kb * 1024
        return grown / held, (grown - sessions * rss_kb * 1024) / held

    fill_raw, fill_net = ratio(filled["rss"] - idle["rss"], plan.fill_sessions, fill_held)
    wrap_raw, wrap_net = ratio(wrapped["rss"] - filled["rss"], plan.wrap_sessions, wrap_held)
    section = Section(f"(d) {n} idle sessions (sleep 1000) and scrollback memory",
                      ["case", "value", "target", "verdict"])
    section.add(f"daemon CPU, idle, over {plan.cpu_window_s:g} s (% of one core)", cpu_pct,
                f"< {TARGET_IDLE_CPU_PCT:g}", verdict(cpu_pct < TARGET_IDLE_CPU_PCT))
    section.add("daemon RSS per idle session (kB)", rss_kb, f"< {TARGET_IDLE_KB_PER_SESSION:g}",
                verdict(rss_kb < TARGET_IDLE_KB_PER_SESSION))
    section.add("daemon PSS per idle session (kB)", pss_kb, f"< {TARGET_IDLE_KB_PER_SESSION:g}",
                verdict(pss_kb < TARGET_IDLE_KB_PER_SESSION))
    section.add(f"spawn rate (sessions/s, {n} spawns)", n / spawn_s, None, "-")
    section.add(f"scrollback RSS / bytes held: {plan.fill_sessions} x "
                f"{plan.fill_bytes >> 10} KiB written", fill_net,
                f"<= {TARGET_SCROLLBACK_RATIO}", verdict(fill_net <= TARGET_SCROLLBACK_RATIO))
    section.add(f"scrollback RSS / bytes held: {plan.wrap_sessions} rings of "
                f"{plan.wrap_capacity >> 10} KiB, 4x wrapped", wrap_net,
                f"<= {TARGET_SCROLLBACK_RATIO}", verdict(wrap_net <= TARGET_SCROLLBACK_RATIO))
    section.notes.append(
        f"daemon RSS {before['rss'] / 1024:.1f} MiB before the sessions, "
        f"{idle['rss'] / 1024:.1f} MiB with them; scrollback ratios net of the idle per-session "
        f"cost (raw: {fill_raw:.2f} filled, {wrap_raw:.2f} wrapped)")
    data = {"sessions": n, "cpu_pct": cpu_pct, "rss_kb_per_session": rss_kb,
            "pss_kb_per_session": pss_kb, "spawn_per_s": n / spawn_s,
            "memory_kb": {"before": before, "idle": idle, "filled": filled, "wrapped": wrapped},
            "fill": {"held": fill_held, "ratio": fill_net, "ratio_raw": fill_raw},
            "wrap": {"held": wrap_held, "ratio": wrap_net, "ratio_raw": wrap_raw}}
    return section, data


# -- (e) a subscriber that stops reading -------------------------------------------------------

STALL_MODES = ("none", "live", "nap", "none", "live", "stopped")
"""Interleaved, so the machine's drift (it may be shared) hits the references and the stalls
alike; each run gets a fresh daemon, so its memory growth is its own."""


def _stall_run(plan: Plan, mode: str, run: int, expected: tuple[int, str]) -> dict[str, Any]:
    """One producer run with no subscriber (`none`), one that keeps reading (`live`), one that
    stops iterating while its process lives on (`nap`), or a frozen one (`stopped`: SIGSTOP):
    the producer's time and the daemon's memory growth, then the subscriber's catch-up."""
    length, digest = expected
    name = f"{mode}{run}"
    with BenchDaemon(f"stall-{mode}") as daemon, RawClient(daemon.dir) as raw:
        raw.request("spawn", {"argv": producer_argv(plan.stall_bytes, "--wait"), "name": name,
                              "cols": COLS, "rows": ROWS,
                              "scrollback_bytes": int(length * 1.1) + (1 << 20)})
        wait_output(raw, name, len(READY_ON_TTY))
        child = None
        if mode != "none":
            nap = plan.stall_s if mode == "nap" else 0
            child = subprocess.Popen(
                [sys.executable, str(BENCH_DIR / "_subscriber.py"), "--dir", str(daemon.dir),
                 "--session", name, "--bytes", str(length), "--sha256", digest,
                 "--nap", str(nap), "--stuck-after", str(STUCK_AFTER_S)],
                stdout=subprocess.PIPE, text=True)
            assert child.stdout is not None
            if child.stdout.readline().strip() != "SUBSCRIBED":
                raise RuntimeError("the subscriber did not start")
            if mode == "stopped":
                os.kill(child.pid, signal.SIGSTOP)
        rss_before = memory_kb(daemon.pid)["rss"]
        start, start_wall = time.perf_counter(), time.time()
        raw.request("input", {"session": name, "data": b"g"})
        raw.request("wait", {"session": name, "timeout": 600.0}, timeout_s=610)
        producer_s = time.perf_counter() - start
        held = raw.request("info", {"session": name})["end"] - len(READY_ON_TTY)
        out: dict[str, Any] = {"mode": mode, "producer_s": producer_s, "held_ok": held == length,
                               "daemon_rss_growth_kb": memory_kb(daemon.pid)["rss"] - rss_before}
        if child is None:
            return out
        resumed_wall = None
        if mode == "stopped":
            time.sleep(max(0.0, start_wall + plan.stall_s - time.time()))
            resumed_wall = time.time()
            os.kill(child.pid, signal.SIGCONT)
        stdout, _ = child.communicate(timeout=plan.stall_s + 660)
        result = json.loads(stdout.strip().splitlines()[-1])
        resumed = resumed_wall if resumed_wall is not None else result["resumed_at"]
        out.update(result, catchup_s=result["done_at"] - resumed)
        if mode in ("nap", "stopped"):
            out["ring_read_s"], out["ring_read_ok"] = _ring_catchup(raw, name, expected)
        return out


def _ring_catchup(raw: RawClient, name: str, expected: tuple[int, str]) -> tuple[float, bool]:
    """What any client can do after a pause: read everything after READY back from the ring
    with `read` requests (the largest slices allowed), hashing it."""
    length, digest = expected
    position, end = len(READY_ON_TTY), len(READY_ON_TTY) + length
    hasher = hashlib.sha256()
    start = time.perf_counter()
    while position < end:
        reply = raw.request("read", {"session": name, "offset": position,
                                     "max_bytes": limits.MAX_READ_BYTES})
        data = reply["data"][: end - position]
        hasher.update(data)
        position += len(data)
    return time.perf_counter() - start, hasher.hexdigest() == digest


def bench_stall(plan: Plan) -> tuple[Section, dict[str, Any]]:
    expected = expected_output(plan.stall_bytes)
    length = expected[0]
    runs = [_stall_run(plan, mode, i, expected) for i, mode in enumerate(STALL_MODES)]
    by_mode = {mode: [r for r in runs if r["mode"] == mode] for mode in STALL_MODES}
    rate = {mode: length / median([r["producer_s"] for r in rs]) / MB
            for mode, rs in by_mode.items()}
    section = Section(
        f"(e) subscriber that stops reading for {plan.stall_s:g} s while the producer writes "
        f"{length / MB:.1f} MB (the ring holds it all)",
        ["case", "producer MB/s", "x none", "x live", "daemon +RSS MB", "catch-up s",
         "from ring MB", "caught up", "verdict"])
    labels = {"none": "no subscriber (median of 2)",
              "live": "library stream, reading (median of 2)",
              "nap": "library stream, not iterated (process alive)",
              "stopped": "library stream, process frozen (SIGSTOP)"}
    for mode in ("none", "live", "nap", "stopped"):
        r = by_mode[mode][-1]
        growth = median([x["daemon_rss_growth_kb"] for x in by_mode[mode]]) * 1024 / MB
        if mode == "none":
            section.add(labels[mode], rate[mode], "1.00", f"{rate[mode] / rate['live']:.2f}",
                        growth, None, None, None, "-")
            continue
        caught_up = r["hash_ok"] and not r["lost"] and not r["stuck"]
        state = "yes, sha256 ok" if caught_up else (
            f"STUCK at {r['bytes'] / MB:.1f} MB" if r["stuck"] else "CORRUPT")
        stalled = mode in ("nap", "stopped")
        ok = rate[mode] / rate["none"] >= TARGET_STALL_RATIO and caught_up and r["held_ok"]
        section.add(labels[mode], rate[mode], f"{rate[mode] / rate['none']:.2f}",
                    f"{rate[mode] / rate['live']:.2f}", growth,
                    r["catchup_s"] if stalled else None,
                    r["ring_bytes"] / MB if stalled else None, state,
                    verdict(ok) if stalled else "-")
    for mode in ("nap", "stopped"):
        r = by_mode[mode][-1]
        section.add(f"  then a minimal client `read`s all of it from the ring ({mode})", None,
                    None, None, None, r["ring_read_s"], length / MB,
                    "yes, sha256 ok" if r["ring_read_ok"] else "CORRUPT",
                    verdict(r["ring_read_ok"]))
    section.notes.append(
        f"target: producer speed unchanged (>= {TARGET_STALL_RATIO}x no subscriber) and every "
        "byte delivered after the pause; daemon +RSS includes the ring "
        f"({length / MB:.0f} MB), the rest is queued for the subscriber")
    section.notes.append(
        f"subscriber peak RSS: napping {by_mode['nap'][-1]['maxrss_kb'] / 1024:.0f} MiB, "
        f"frozen {by_mode['stopped'][-1]['maxrss_kb'] / 1024:.0f} MiB, reading "
        f"{by_mode['live'][-1]['maxrss_kb'] / 1024:.0f} MiB")
    return section, {"bytes_on_tty": length, "runs": runs, "mb_per_s": rate}


# -- the run -----------------------------------------------------------------------------------

FAMILIES = ("throughput", "rtt", "echo", "idle", "stall")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (CI): under 30 s")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--only", choices=FAMILIES, action="append",
                        help="run only this family (repeatable)")
    parser.add_argument("--no-multiplexers", action="store_true",
                        help="skip the tmux and dtach references")
    args = parser.parse_args(argv)
    plan = Plan.quick() if args.quick else Plan()
    skipped = {tool: "--no-multiplexers" if args.no_multiplexers else "not installed"
               for tool in refs.MULTIPLEXERS
               if args.no_multiplexers or not refs.available(tool)}
    tools = [tool for tool in refs.MULTIPLEXERS if tool not in skipped]
    print(f"ptyd foundation benchmark ({'quick' if args.quick else 'full'} run): "
          f"{os.cpu_count()} cores, Linux {platform.release()}, Python "
          f"{platform.python_version()}, references: bare PTY"
          + "".join(f", {refs.tool_version(t)}" for t in tools)
          + f"; load average {os.getloadavg()[0]:.2f} at start", flush=True)
    runners = {"throughput": lambda: bench_throughput(plan, tools, skipped),
               "rtt": lambda: bench_rtt(plan),
               "echo": lambda: bench_echo(plan, tools, skipped),
               "idle": lambda: bench_idle(plan),
               "stall": lambda: bench_stall(plan)}
    results: dict[str, Any] = {"plan": asdict(plan), "tools": tools, "skipped": skipped}
    return run_families(args.only or FAMILIES, runners, results, args.json)


if __name__ == "__main__":
    sys.exit(main())
