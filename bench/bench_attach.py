"""ptyd attach benchmark (issue 4): `ptyd attach` in a terminal, side by side with tmux and dtach
attached clients measured in the same run.

    python bench/bench_attach.py [--quick] [--json FILE] [--only FAMILY] [--no-multiplexers]

(a) keystroke-to-echo latency: a key written to the outer terminal until its echo comes back out
    of it, through `ptyd attach` (program in the session echoes in raw mode), against a bare PTY,
    tmux and dtach attached the same way, and ptyd's own floors (minimal DEALER + SUB, AsyncClient);
    cases interleaved in rounds so the machine's drift hits all alike;
(b) time from starting `ptyd attach` to a fully drawn, correct first screen with 10 MB of
    scrollback behind it: an inline-drawing agent's last bytes are a sentinel; the screen is judged
    with pyte against what a terminal that saw the whole session shows; cold (the real command)
    and warm (interpreter and imports ready) against `tmux attach`;
(c) throughput of a fast producer with one attached viewer against tmux and dtach attached;
(d) a viewer that stops reading (SIGSTOP of its attach client): the agent's and another viewer's
    throughput, and after SIGCONT whether it catches up or shows the loss marker;
(e) start-up of `ptyd ls`, `ptyd send`, `ptyd --version` against `python -c pass`, with the
    costliest imports (python -X importtime).

Every case runs on a fresh daemon in a temporary directory. Missed targets are reported, not
errors (exit 0). --quick shrinks every size so the run fits well under 40 s (CI).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import _terminals as refs
import zmq
from _common import (
    BENCH_DIR,
    COLS,
    ROWS,
    BenchDaemon,
    Latency,
    RawClient,
    Section,
    clean_env,
    close_stream,
    cpu_seconds,
    drain_and_close,
    median,
    memory_kb,
    read_until,
    run_families,
    spawn_on_pty,
    verdict,
    wait_output,
)
from _inline_agent import SENTINEL
from _startup import bench_startup, precompile
from _warm_attach import READY as WARM_READY
from _watched import WatchedTerminal, diff_lines, screen_lines
from producer import READY_ON_TTY, expected_output

from ptyd.client import AsyncClient
from ptyd.proto import pubsub

MB = 1e6
DETACH_KEY = b"\x1c"  # Ctrl-\, ptyd attach's default
LOSS_TEXT = b"bytes of output were lost before this viewer"
"""What ptyd attach draws when bytes were evicted before it could read them (attach/replay.py)."""


@dataclass(frozen=True)
class Plan:
    """Sizes of one run: the full run, or the quick one for CI."""

    echo_keys: int = 2000
    echo_rounds: int = 4
    history_bytes: int = 10_000_000
    screen_runs: int = 7
    throughput_bytes: int = 100_000_000
    repeats: int = 3
    stall_bytes: int = 100_000_000
    stall_rounds: int = 2
    frozen_extra_s: float = 2.0
    """How long the frozen viewer stays stopped after the agent has finished."""
    startup_runs: int = 30

    @classmethod
    def quick(cls) -> Plan:
        return cls(echo_keys=200, echo_rounds=2, history_bytes=1_000_000, screen_runs=2,
                   throughput_bytes=4_000_000, repeats=1, stall_bytes=4_000_000, stall_rounds=1,
                   frozen_extra_s=0.3, startup_runs=4)


TARGET_ECHO_DTACH_RATIO = 1.5
TARGET_FIRST_SCREEN_MS = 100.0
TARGET_LIBRARY_ECHO_US = (150.0, 1000.0)
"""Programmatic echo through AsyncClient (input -> PTY -> echo -> output stream): p50, p99."""
TARGET_STALL_RATIO = 0.9
"""'Does not slow': within this machine's run-to-run noise of B watching alone (a frozen viewer
costs no more than no viewer)."""


def attach_argv(daemon: BenchDaemon, session: str, *options: str) -> list[str]:
    return [*BenchDaemon.COMMAND, "--dir", str(daemon.dir), "attach", session, *options]


def tool_label(tool: str) -> str:
    return f"{refs.tool_version(tool)}, attached client"


# -- (a) keystroke echo ------------------------------------------------------------------------

def _drain(master: int) -> None:
    """Throw away whatever the terminal still holds (echoes typed by another case)."""
    os.set_blocking(master, False)
    try:
        while True:
            time.sleep(0.02)
            try:
                if not os.read(master, 65536):
                    return
            except BlockingIOError:
                return
    finally:
        os.set_blocking(master, True)


def _echo_terminal(master: int, n: int) -> list[int]:
    """Write one key, read until the terminal shows it; one sample (ns) per key."""
    _drain(master)
    samples = []
    for i in range(n):
        key = refs.ECHO_KEYS[i % 26: i % 26 + 1]
        start = time.perf_counter_ns()
        os.write(master, key)
        while key not in os.read(master, 65536):
            pass
        samples.append(time.perf_counter_ns() - start)
    return samples


def _echo_minimal(raw: RawClient, sub: zmq.Socket[bytes], session: str, n: int) -> list[int]:
    # The library case types into the same session: its echoes wait in this SUB socket's queue,
    # and a stale echo of the same letter would be taken for this key's (a floor of 37 us that
    # was never measured: the daemon's own work per keystroke is more than that).
    while sub.poll(0):
        sub.recv_multipart()
    samples = []
    for i in range(n):
        key = refs.ECHO_KEYS[i % 26: i % 26 + 1]
        start = time.perf_counter_ns()
        msgid = raw.send("input", {"session": session, "data": key})
        while True:
            chunk = pubsub.decode_published(sub.recv_multipart())
            if isinstance(chunk, pubsub.OutputChunk) and key in chunk.data:
                break
        samples.append(time.perf_counter_ns() - start)
        raw.receive(msgid)
    return samples


async def _echo_library(daemon: BenchDaemon, session: str, n: int, warmup: int = 20
                        ) -> list[int]:
    async with AsyncClient(daemon.dir) as client:
        stream = client.output(session, (await client.info(session))["end"])
        samples = []
        try:
            for i in range(warmup + n):
                key = refs.ECHO_KEYS[i % 26: i % 26 + 1]
                start = time.perf_counter_ns()
                # As a person types: the reply is not waited for (the daemon answers only a
                # failure, which the next input would raise).
                await client.input(session, key, wait=False)
                while True:
                    item = await anext(stream)
                    if isinstance(item, pubsub.OutputChunk) and key in item.data:
                        break
                if i >= warmup:
                    samples.append(time.perf_counter_ns() - start)
        finally:
            await close_stream(stream)
    return samples


def bench_echo(plan: Plan, tools: list[str], skipped: dict[str, str]
               ) -> tuple[Section, dict[str, Any]]:
    per_round = plan.echo_keys // plan.echo_rounds
    labels = {"bare": "bare PTY write -> read (reference)",
              **{tool: tool_label(tool) for tool in tools},
              "minimal": "ptyd floor: minimal DEALER input + SUB",
              "library": "ptyd floor: AsyncClient input + output",
              "mini": "ptyd floor: 40-line attach loop in a terminal",
              "attach": "ptyd attach, attached client"}
    samples: dict[str, list[int]] = {case: [] for case in labels}
    with ExitStack() as stack:
        terminals: dict[str, int] = {}
        proc, master = spawn_on_pty(refs.ECHO_PROGRAM)
        stack.callback(drain_and_close, proc, master)
        stack.callback(os.write, master, refs.QUIT)
        terminals["bare"] = master
        for tool in tools:
            terminals[tool] = stack.enter_context(refs.attached(tool, refs.ECHO_PROGRAM))
        daemon = stack.enter_context(BenchDaemon("echo"))
        raw = stack.enter_context(RawClient(daemon.dir))
        # One session per client: a client attached to another case's session would receive
        # (and draw) every echo of that case too, two processes woken per key on 2 cores.
        for name in ("echo-attach", "echo-mini", "echo-lib"):
            raw.request("spawn", {"argv": refs.ECHO_PROGRAM, "name": name, "cols": COLS,
                                  "rows": ROWS})
            wait_output(raw, name, len(b"READY"))
        proc, master = spawn_on_pty(attach_argv(daemon, "echo-attach"), env=clean_env())
        stack.callback(drain_and_close, proc, master)
        stack.callback(os.write, master, refs.QUIT)  # ends the program, and so the attach
        terminals["attach"] = master
        # The least an attach client can do (bench/_mini_attach.py), on its own session.
        proc, master = spawn_on_pty([sys.executable, str(BENCH_DIR / "_mini_attach.py"),
                                     str(daemon.dir), "echo-mini"], env=clean_env())
        stack.callback(drain_and_close, proc, master)
        stack.callback(os.write, master, DETACH_KEY)
        terminals["mini"] = master
        for master in terminals.values():
            read_until(master, b"READY")
        sub = raw.subscribe(pubsub.output_topic("echo-lib"))
        stack.callback(sub.close, 0)
        for master in terminals.values():  # warm every path up before the first sample
            _echo_terminal(master, 20)
        _echo_minimal(raw, sub, "echo-lib", 20)
        for _ in range(plan.echo_rounds):
            for case in labels:
                if case == "minimal":
                    samples[case] += _echo_minimal(raw, sub, "echo-lib", per_round)
                elif case == "library":
                    samples[case] += asyncio.run(_echo_library(daemon, "echo-lib", per_round))
                else:
                    samples[case] += _echo_terminal(terminals[case], per_round)
    lat = {case: Latency.of_ns(s) for case, s in samples.items()}
    section = Section(
        f"(a) keystroke -> echo on the outer terminal ({plan.echo_keys} keys per case, "
        f"{plan.echo_rounds} interleaved rounds; the program echoes in raw mode)",
        ["case", "p50 us", "p99 us", "x tmux p50/p99", "x dtach p50/p99", "target", "verdict"])
    ok = None
    attach = lat["attach"]
    if "tmux" in lat:  # the target: tmux's p50 and p99, in the same run
        ok = attach.p50_us <= lat["tmux"].p50_us and attach.p99_us <= lat["tmux"].p99_us
    if ok is not None and "dtach" in lat:
        ok = ok and (attach.p50_us <= TARGET_ECHO_DTACH_RATIO * lat["dtach"].p50_us
                     and attach.p99_us <= TARGET_ECHO_DTACH_RATIO * lat["dtach"].p99_us)
    library = lat["library"]
    library_ok = (library.p50_us <= TARGET_LIBRARY_ECHO_US[0]
                  and library.p99_us <= TARGET_LIBRARY_ECHO_US[1])
    targets = {"attach": (f"<= tmux, <= {TARGET_ECHO_DTACH_RATIO}x dtach", ok),
               "library": ("<= {:.0f}/{:.0f}".format(*TARGET_LIBRARY_ECHO_US), library_ok)}
    for case, label in labels.items():
        x = lat[case]
        ratios = [f"{x.p50_us / lat[t].p50_us:.1f}/{x.p99_us / lat[t].p99_us:.1f}"
                  if t in lat else None for t in ("tmux", "dtach")]
        target, met = targets.get(case, (None, None))
        section.add(label, x.p50_us, x.p99_us, *ratios, target, verdict(met))
    section.notes.append("floors: the same echo program driven through the daemon without a "
                         "terminal in between, and a 40-line attach loop in a terminal (the "
                         "same work on its own session): attach minus that = what attach's own "
                         "work costs")
    section.notes.extend(f"{tool} skipped: {why}" for tool, why in skipped.items())
    data = {case: asdict(x) for case, x in lat.items()}
    data["target_met"] = ok
    data["library_target_met"] = library_ok
    return section, data


# -- (b) first screen --------------------------------------------------------------------------

def _inline_agent_argv(history_bytes: int) -> list[str]:
    return [sys.executable, str(BENCH_DIR / "_inline_agent.py"), str(history_bytes)]


def _reference_screen(raw: RawClient, session: str) -> tuple[list[str], tuple[int, int], int]:
    """What a terminal that saw the whole session shows, from the scrollback's tail (plain
    lines before the prompt region: a tail that starts at a line start rebuilds it exactly).
    Also returns the bytes held."""
    deadline = time.monotonic() + 120
    while True:
        info = raw.request("info", {"session": session})
        tail_from = max(info["base"], info["end"] - (64 << 10))
        data = raw.request("read", {"session": session, "offset": tail_from,
                                    "max_bytes": 64 << 10})["data"]
        if data.endswith(SENTINEL):
            break
        if time.monotonic() > deadline:
            raise TimeoutError("the inline agent did not finish drawing")
        time.sleep(0.05)
    data = data[data.index(b"\r\n") + 2:]
    lines, cursor = screen_lines(data)
    return lines, cursor, info["end"] - info["base"]


def _first_screen(argv: list[str], reference: tuple[list[str], tuple[int, int]],
                  go: bytes | None = None, quit_key: bytes = DETACH_KEY) -> dict[str, Any]:
    """Start `argv` on a terminal (or, with `go`, wait for it to say WARM-READY and then type
    `go`); time until the sentinel is on the terminal; judge the screen with pyte."""
    term = WatchedTerminal(argv, markers=[WARM_READY, SENTINEL], keep_bytes=16 << 20)
    try:
        start = term.started
        if go is not None:
            term.wait_for(WARM_READY, 30)
            start = time.perf_counter()
            term.write(go)
        drawn = term.wait_for(SENTINEL, 30)
        term.wait_quiet(0.1)
        lines, cursor = screen_lines(bytes(term.kept))
        want_lines, want_cursor = reference
        problem = diff_lines(lines, want_lines) or (
            f"cursor at {cursor}, want {want_cursor}" if cursor != want_cursor else "")
        return {"ms": (drawn - start) * 1000, "correct": not problem, "problem": problem,
                "bytes_drawn": term.bytes}
    finally:
        term.close(quit_key)


def _tmux_first_screens(plan: Plan, runs: int,
                        reference: tuple[list[str], tuple[int, int]]) -> list[dict[str, Any]]:
    workdir = Path(tempfile.mkdtemp(prefix="ptyd-bench-tmux-screen-"))
    tmux = ["tmux", "-S", str(workdir / "sock"), "-f", "/dev/null"]
    try:
        subprocess.run([*tmux, "new-session", "-d", "-s", "agent", "-x", str(COLS), "-y",
                        str(ROWS), shlex.join(_inline_agent_argv(plan.history_bytes)), ";",
                        "set-option", "-g", "status", "off"], check=True, env=clean_env(),
                       cwd=BENCH_DIR)
        deadline = time.monotonic() + 120
        while SENTINEL.decode() not in subprocess.run(
                [*tmux, "capture-pane", "-p", "-t", "agent"], capture_output=True,
                text=True).stdout:
            if time.monotonic() > deadline:
                raise TimeoutError("tmux: the inline agent did not finish drawing")
            time.sleep(0.05)
        return [_first_screen([*tmux, "attach", "-t", "agent"], reference, quit_key=b"\x02d")
                for _ in range(runs)]
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


def _startup_ms(runs: int) -> float:
    """The interpreter and the imports `ptyd attach` needs, nothing else (median)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import ptyd.main, ptyd.attach"], check=True)
        times.append((time.perf_counter() - start) * 1000)
    return median(times)


def bench_first_screen(plan: Plan, tools: list[str]) -> tuple[Section, dict[str, Any]]:
    precompile()  # cold means a fresh interpreter, not sources compiled again
    runs: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
    with BenchDaemon("screen") as daemon, RawClient(daemon.dir) as raw:
        raw.request("spawn", {"argv": _inline_agent_argv(plan.history_bytes), "name": "agent",
                              "cols": COLS, "rows": ROWS, "cwd": str(BENCH_DIR),
                              "scrollback_bytes": int(plan.history_bytes * 1.2) + (1 << 20)})
        *reference, held = _reference_screen(raw, "agent")
        ref = (reference[0], reference[1])
        for _ in range(plan.screen_runs):  # interleaved
            runs["cold"].append(_first_screen(attach_argv(daemon, "agent"), ref))
            runs["warm"].append(_first_screen(
                [sys.executable, str(BENCH_DIR / "_warm_attach.py"), str(daemon.dir), "agent"],
                ref, go=b"\n"))
    if "tmux" in tools:
        runs["tmux"] = _tmux_first_screens(plan, plan.screen_runs, ref)
    startup = _startup_ms(plan.screen_runs)
    section = Section(
        f"(b) start of the client -> fully drawn first screen, {held / MB:.1f} MB of scrollback "
        f"behind it (inline-drawing agent, {plan.screen_runs} runs each; pyte judges the screen)",
        ["case", "p50 ms", "max ms", "screen correct", "target", "verdict"])
    labels = {"cold": "ptyd attach (the command: start-up + attach)",
              "warm": "ptyd attach, interpreter and imports ready",
              "tmux": f"{refs.tool_version('tmux')} attach (reference)"}
    data: dict[str, Any] = {"history_bytes_held": held, "startup_ms": startup}
    for case, results in runs.items():
        times = [r["ms"] for r in results]
        correct = all(r["correct"] for r in results)
        problems = {r["problem"] for r in results if r["problem"]}
        is_cold = case == "cold"
        ok = median(times) < TARGET_FIRST_SCREEN_MS and correct if is_cold else None
        section.add(labels[case], median(times), max(times),
                    "yes" if correct else f"NO ({len(problems)} kinds)",
                    f"< {TARGET_FIRST_SCREEN_MS:.0f}" if is_cold else None, verdict(ok))
        section.notes.extend(f"{case}: {p}" for p in sorted(problems))
        data[case] = {"runs": results, "p50_ms": median(times), "max_ms": max(times),
                      "correct": correct, "target_met": ok}
    section.add("python -c 'import ptyd.main, ptyd.attach' (start-up alone)", startup, None,
                None, None, "-")
    section.notes.append("dtach keeps no screen state: it cannot draw a first screen "
                         "(-r winch only asks the program to repaint)")
    return section, data


# -- (c) throughput ----------------------------------------------------------------------------

def _ptyd_attached_throughput(daemon: BenchDaemon, raw: RawClient, name: str,
                              total_bytes: int) -> dict[str, Any]:
    """As refs.attached_throughput: the start byte typed on the outer terminal, the clock
    stopped when the end marker is on it."""
    raw.request("spawn", {"argv": refs.producer_argv(total_bytes, trailer=True), "name": name,
                          "cols": COLS, "rows": ROWS})
    wait_output(raw, name, len(READY_ON_TTY))
    proc, master = spawn_on_pty(attach_argv(daemon, name), env=clean_env())
    try:
        read_until(master, b"READY")
        daemon_cpu, client_cpu = cpu_seconds(daemon.pid), cpu_seconds(proc.pid)
        start = time.perf_counter()
        os.write(master, b"g")
        read_until(master, refs.END_MARKER.encode(), timeout_s=600)
        seconds = time.perf_counter() - start
        return {"seconds": seconds,
                "daemon_cpu_pct": (cpu_seconds(daemon.pid) - daemon_cpu) / seconds * 100,
                "client_cpu_pct": (cpu_seconds(proc.pid) - client_cpu) / seconds * 100}
    finally:
        os.write(master, refs.QUIT)  # ends the producer's linger, the session, the attach
        drain_and_close(proc, master)
        raw.request("remove", {"session": name, "force": True})


def bench_throughput(plan: Plan, tools: list[str], skipped: dict[str, str]
                     ) -> tuple[Section, dict[str, Any]]:
    length = expected_output(plan.throughput_bytes)[0]
    cases = ["bare", "attach", *tools]
    seconds: dict[str, list[float]] = {case: [] for case in cases}
    ptyd_runs = []
    with BenchDaemon("throughput") as daemon, RawClient(daemon.dir) as raw:
        for rep in range(plan.repeats):  # interleaved, so drift hits every case alike
            for case in cases:
                if case == "bare":
                    seconds[case].append(refs.bare_pty_throughput(plan.throughput_bytes, length))
                elif case == "attach":
                    run = _ptyd_attached_throughput(daemon, raw, f"tp{rep}",
                                                    plan.throughput_bytes)
                    ptyd_runs.append(run)
                    seconds[case].append(run["seconds"])
                else:
                    seconds[case].append(refs.attached_throughput(case, plan.throughput_bytes))
    rate = {case: length / median(times) / MB for case, times in seconds.items()}
    section = Section(
        f"(c) a fast producer with one attached viewer: {plan.throughput_bytes / MB:g} MB of "
        f"80-column lines ({length / MB:.1f} MB after ONLCR), start key typed on the outer "
        f"terminal until the end marker is on it; median of {plan.repeats}",
        ["case", "MB/s", "x tmux", "x bare", "target", "verdict"])
    labels = {"bare": "bare PTY, Python os.read loop (reference)",
              "attach": "ptyd attach, attached client"}
    # The target is dtach (the faster reference); without it, tmux.
    judge = "dtach" if "dtach" in rate else "tmux" if "tmux" in rate else None
    ok = rate["attach"] >= rate[judge] if judge else None
    for case in cases:
        is_attach = case == "attach"
        section.add(labels.get(case, tool_label(case)), rate[case],
                    f"{rate[case] / rate['tmux']:.2f}" if "tmux" in rate else None,
                    f"{rate[case] / rate['bare']:.2f}",
                    f">= {judge}" if is_attach and judge else None,
                    verdict(ok) if is_attach else "-")
    last = ptyd_runs[-1]
    section.notes.append(f"ptyd (last run): daemon {last['daemon_cpu_pct']:.0f}% of a core, "
                         f"attach client {last['client_cpu_pct']:.0f}%")
    section.notes.extend(f"{tool} skipped: {why}" for tool, why in skipped.items())
    return section, {"bytes_on_tty": length, "seconds": seconds, "mb_per_s": rate,
                     "ptyd_runs": ptyd_runs, "target_met": ok}


# -- (d) a viewer that stops reading -----------------------------------------------------------

STALL_MODES = ("one", "two", "frozen")


def _stall_run(daemon: BenchDaemon, raw: RawClient, plan: Plan, mode: str, name: str
               ) -> dict[str, Any]:
    """One producer run watched by viewer B (reading), and for `two` and `frozen` also by
    viewer A, which `frozen` stops (SIGSTOP) before the start and resumes after the end."""
    length = expected_output(plan.stall_bytes)[0]
    end = refs.END_MARKER.encode()
    argv = [*refs.producer_argv(plan.stall_bytes, trailer=False), "--trailer", refs.END_MARKER]
    raw.request("spawn", {"argv": argv, "name": name, "cols": COLS, "rows": ROWS})  # it exits
    wait_output(raw, name, len(READY_ON_TTY))
    markers = [b"READY", end, LOSS_TEXT]
    viewers = {"B": WatchedTerminal(attach_argv(daemon, name), markers)}
    if mode != "one":
        viewers["A"] = WatchedTerminal(attach_argv(daemon, name), markers)
    try:
        for viewer in viewers.values():
            viewer.wait_for(b"READY")
        if mode == "frozen":
            viewers["A"].signal(signal.SIGSTOP)
        rss = memory_kb(daemon.pid)["rss"]
        start = time.perf_counter()
        raw.request("input", {"session": name, "data": b"g"})
        raw.request("wait", {"session": name, "timeout": 600.0}, timeout_s=610)
        out: dict[str, Any] = {"mode": mode, "agent_s": time.perf_counter() - start,
                               "daemon_rss_growth_kb": memory_kb(daemon.pid)["rss"] - rss}
        out["b_s"] = viewers["B"].wait_for(end, 120) - start
        out["b_lost"] = viewers["B"].seen[LOSS_TEXT] is not None
        if mode == "two":
            out["a_s"] = viewers["A"].wait_for(end, 120) - start
        elif mode == "frozen":
            time.sleep(plan.frozen_extra_s)
            out["a_rss_kb"] = memory_kb(viewers["A"].proc.pid)["rss"]
            resumed = time.perf_counter()
            viewers["A"].signal(signal.SIGCONT)
            out["a_catchup_s"] = viewers["A"].wait_for(end, 300) - resumed
            out["a_lost_marker"] = viewers["A"].seen[LOSS_TEXT] is not None
            out["a_bytes_drawn"] = viewers["A"].bytes
        out["exit_codes"] = {v: t.close() for v, t in viewers.items()}
        out["mb"] = length / MB
        return out
    finally:
        for viewer in viewers.values():
            viewer.signal(signal.SIGCONT)
            if not viewer.closed:
                viewer.close()
        raw.request("remove", {"session": name, "force": True})


def bench_stall(plan: Plan) -> tuple[Section, dict[str, Any]]:
    length = expected_output(plan.stall_bytes)[0]
    runs = []
    with BenchDaemon("stall") as daemon, RawClient(daemon.dir) as raw:
        for rnd in range(plan.stall_rounds):
            for mode in STALL_MODES:
                runs.append(_stall_run(daemon, raw, plan, mode, f"{mode}{rnd}"))
    by_mode = {m: [r for r in runs if r["mode"] == m] for m in STALL_MODES}
    agent = {m: length / median([r["agent_s"] for r in rs]) / MB for m, rs in by_mode.items()}
    viewer_b = {m: length / median([r["b_s"] for r in rs]) / MB for m, rs in by_mode.items()}
    section = Section(
        f"(d) a viewer that stops reading: {length / MB:.1f} MB through a session with the default "
        f"4 MiB scrollback, viewer A frozen (SIGSTOP) from before the start until "
        f"{plan.frozen_extra_s:g} s after the end; median of {plan.stall_rounds}",
        ["case", "agent MB/s", "viewer B MB/s", "x one viewer (agent/B)", "daemon +RSS MB",
         "A after SIGCONT", "target", "verdict"])
    labels = {"one": "one viewer (B) reading", "two": "two viewers (A, B) reading",
              "frozen": "two viewers, A frozen"}
    ok = (agent["frozen"] >= TARGET_STALL_RATIO * agent["one"]
          and viewer_b["frozen"] >= TARGET_STALL_RATIO * viewer_b["one"])
    for mode in STALL_MODES:
        last = by_mode[mode][-1]
        growth = median([r["daemon_rss_growth_kb"] for r in by_mode[mode]]) * 1024 / MB
        after = None
        if mode == "frozen":
            caught = [r for r in by_mode[mode] if r.get("a_catchup_s") is not None]
            ok = ok and len(caught) == len(by_mode[mode])
            after = (f"end drawn in {median([r['a_catchup_s'] for r in caught]):.2f} s, loss "
                     f"marker {'shown' if last['a_lost_marker'] else 'not needed'}")
        section.add(labels[mode], agent[mode], viewer_b[mode],
                    f"{agent[mode] / agent['one']:.2f}/{viewer_b[mode] / viewer_b['one']:.2f}",
                    growth, after, f">= {TARGET_STALL_RATIO}x one" if mode == "frozen"
                    else None, verdict(ok) if mode == "frozen" else "-")
    lossy = sum(r["b_lost"] for r in runs)
    section.notes.append(f"viewer B showed the loss marker in {lossy} of {len(runs)} runs "
                         "(a live viewer slower than the producer with a 4 MiB ring)")
    frozen = by_mode["frozen"][-1]
    section.notes.append(f"frozen client's RSS when resumed {frozen['a_rss_kb'] / 1024:.0f} MiB; "
                         f"it drew {frozen['a_bytes_drawn'] / MB:.1f} MB in all")
    return section, {"bytes_on_tty": length, "runs": runs, "agent_mb_per_s": agent,
                     "viewer_b_mb_per_s": viewer_b, "target_met": ok}


# -- the run -----------------------------------------------------------------------------------

FAMILIES = ("echo", "screen", "throughput", "stall", "startup")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (CI): under 40 s")
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
    print(f"ptyd attach benchmark ({'quick' if args.quick else 'full'} run): "
          f"{os.cpu_count()} cores, Linux {platform.release()}, Python "
          f"{platform.python_version()}, references: bare PTY"
          + "".join(f", {refs.tool_version(t)}" for t in tools)
          + f"; load average {os.getloadavg()[0]:.2f} at start", flush=True)
    runners = {"echo": lambda: bench_echo(plan, tools, skipped),
               "screen": lambda: bench_first_screen(plan, tools),
               "throughput": lambda: bench_throughput(plan, tools, skipped),
               "stall": lambda: bench_stall(plan),
               "startup": lambda: bench_startup(plan.startup_runs)}
    results: dict[str, Any] = {"plan": asdict(plan), "tools": tools, "skipped": skipped,
                               "load_average_at_start": os.getloadavg()}
    return run_families(args.only or FAMILIES, runners, results, args.json)


if __name__ == "__main__":
    sys.exit(main())
