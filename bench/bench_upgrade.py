"""ptyd upgrade benchmark (issue 8): the daemon replaced under live agents and viewers, by an
upgrade in place and by kill -9 and a relaunch from systemd's fd store.

    python bench/bench_upgrade.py [--quick] [--json FILE] [--only FAMILY]

(a) `upgrade` with 100 live sessions (shells), 10 of them printing continuously and 5 viewers
    (the client library's output streams, in their own processes, hashing): every byte reaches
    every viewer (sha256 against the scrollback), no agent restarts (pids and /proc start times),
    and the pause: as the daemon reports it (`daemon.upgraded` pause_ms, its log) and as viewers
    see it (the longest silence between two chunks around each upgrade, against the longest in
    steady printing);
(b) kill -9 of the daemon with 100 sessions under a harness that plays systemd's fd store
    (bench/_fdstore.py): time from the kill to the successor answering and to every agent
    adopted (same pid, running), and the output lost with the crash (read by the dead daemon
    after its last state save).

Missed targets are reported, not errors (exit 0). --quick shrinks every size (CI, < 40 s).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import msgpack
from _common import (
    BENCH_DIR,
    COLS,
    ROWS,
    BenchDaemon,
    ReconnectingClient,
    Section,
    median,
    run_families,
    verdict,
)
from _fdstore import SupervisedDaemon
from _printer import STARTED, STOPPED

from ptyd.proto import limits

TARGET_PAUSE_MS = 200.0
PRINTER = [sys.executable, str(BENCH_DIR / "_printer.py")]
PRINTER_SCROLLBACK = 64 << 20
"""Large enough that the rings hold everything printed: a viewer's bytes are checked against
the scrollback from offset 0."""
CRASH_MARKER = b"the daemon restarted after a crash"
LINE_NUMBER = re.compile(rb"line (\d{12}) pid")


@dataclass(frozen=True)
class Plan:
    """Sizes of one run: the full run, or the quick one for CI."""

    sessions: int = 100
    printing: int = 10
    viewers: int = 5
    lines_per_s: float = 500.0
    upgrades: int = 3
    steady_s: float = 2.0
    kills: int = 3

    @classmethod
    def quick(cls) -> Plan:
        return cls(sessions=20, printing=4, viewers=2, upgrades=1, steady_s=1.0, kills=1)


# -- agents ------------------------------------------------------------------------------------

def start_time(pid: int) -> int:
    """Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot."""
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rpartition(")")[2].split()[19])


def spawn_agents(request: Any, plan: Plan) -> tuple[list[str], list[str]]:
    """`plan.sessions` shells, of which `plan.printing` run the printer; waits until all print.
    `request(op, params)` sends one request. Returns (all names, printer names)."""
    names = [f"a{i}" for i in range(plan.sessions)]
    printers = names[:: plan.sessions // plan.printing][: plan.printing]
    for name in names:
        argv = [*PRINTER, "--lines-per-s", f"{plan.lines_per_s:g}"] if name in printers \
            else ["sh"]
        params = {"argv": argv, "name": name, "cols": COLS, "rows": ROWS}
        if name in printers:
            params["scrollback_bytes"] = PRINTER_SCROLLBACK
        request("spawn", params)
    deadline = time.monotonic() + 60
    for name in names:  # a shell has printed its prompt, a printer its first line
        want = STARTED if name in printers else b""
        while not request("read", {"session": name, "offset": 0})["data"] or \
                want not in request("read", {"session": name, "offset": 0})["data"]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"session {name} did not start")
            time.sleep(0.02)
    return names, printers


def agent_identities(request: Any, names: list[str]) -> dict[str, tuple[int, int]]:
    out = {}
    for name in names:
        pid = request("info", {"session": name})["pid"]
        out[name] = (pid, start_time(pid))
    return out


def unchanged_agents(before: dict[str, tuple[int, int]], request: Any) -> int:
    """How many agents are the same processes as before (pid and start time), still running."""
    same = 0
    for name, (pid, started) in before.items():
        info = request("info", {"session": name})
        try:
            alive = start_time(pid) == started
        except FileNotFoundError:
            alive = False
        same += info["pid"] == pid and info["status"] == "running" and alive
    return same


def stop_printers(request: Any, printers: list[str]) -> dict[str, int]:
    """Tell every printer to stop; once each has said so, the end offsets of their output."""
    for name in printers:
        request("input", {"session": name, "data": b"s"})
    ends = {}
    deadline = time.monotonic() + 30
    for name in printers:
        while True:
            info = request("info", {"session": name})
            tail = request("read", {"session": name, "offset": max(0, info["end"] - 200)})
            if STOPPED in tail["data"]:
                ends[name] = info["end"]
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"printer {name} did not stop")
            time.sleep(0.02)
    return ends


def scrollback_sha256(request: Any, name: str, end: int) -> str:
    digest, position = hashlib.sha256(), 0
    while position < end:
        data = request("read", {"session": name, "offset": position,
                                "max_bytes": limits.MAX_READ_BYTES})["data"][: end - position]
        digest.update(data)
        position += len(data)
    return digest.hexdigest()


# -- (a) upgrade in place ----------------------------------------------------------------------

class Requester:
    """Requests that ride out a daemon re-executing itself: a minimal client that reconnects
    within milliseconds, and a request that went unanswered (sent as the old daemon closed its
    socket) sent again from a fresh client, until the deadline. For requests that change
    nothing; `once` sends the others."""

    def __init__(self, directory: Path):
        self.raw = ReconnectingClient(directory)
        self.directory = directory

    def __call__(self, op: str, params: dict[str, Any] | None = None,
                 timeout_s: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self.raw.request(op, params, timeout_s=min(1.0, timeout_s))
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise
                self.raw.close()
                self.raw = ReconnectingClient(self.directory)

    def once(self, op: str, params: dict[str, Any] | None = None,
             timeout_s: float = 60.0) -> dict[str, Any]:
        return self.raw.request(op, params, timeout_s)

    def close(self) -> None:
        self.raw.close()


def _await_upgraded(request: Requester, since: int, timeout_s: float = 30.0
                    ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for event in request("events", {"since": since})["events"]:
            if event["type"] == "daemon.upgraded":
                return event
        time.sleep(0.005)
    raise TimeoutError("no daemon.upgraded event")


def _start_viewers(daemon: BenchDaemon, printers: list[str], count: int,
                   sub_reconnect_ms: int | None) -> list[subprocess.Popen[str]]:
    procs = []
    option = [] if sub_reconnect_ms is None else ["--sub-reconnect-ms", str(sub_reconnect_ms)]
    for i in range(count):
        mine = printers[i::count]
        procs.append(subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "_upgrade_viewer.py"), "--dir", str(daemon.dir),
             *option, *mine], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "SUBSCRIBED":
            raise RuntimeError("a viewer did not start")
    return procs


def startup_ms(runs: int) -> float:
    """What the successor does before it can read a PTY again: start the interpreter and import
    the daemon (median of `runs`)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import ptyd.daemon.main"], check=True)
        times.append((time.perf_counter() - start) * 1000)
    return median(times)


def bench_upgrade(plan: Plan, sub_reconnect_ms: int | None = None
                  ) -> tuple[Section, dict[str, Any]]:
    with BenchDaemon("upgrade") as daemon:
        request = Requester(daemon.dir)
        try:
            names, printers = spawn_agents(request, plan)
            viewers = _start_viewers(daemon, printers, plan.viewers, sub_reconnect_ms)
            before = agent_identities(request, names)
            pid = request("hello")["pid"]
            time.sleep(plan.steady_s)
            upgrades = []
            for _ in range(plan.upgrades):
                since = request("events", {"since": 0})["last"]
                asked = time.perf_counter()
                request.once("upgrade")
                event = _await_upgraded(request, since)
                served = time.perf_counter()
                upgrades.append({"asked": asked, "served": served,
                                 "request_to_served_ms": (served - asked) * 1000,
                                 "pause_ms": event["pause_ms"],
                                 "sessions": event["sessions"]})
                time.sleep(plan.steady_s)
            ends = stop_printers(request, printers)
            windows = [[u["asked"], u["served"] + 1.0] for u in upgrades]
            seen: dict[str, Any] = {}
            for proc in viewers:
                out, _ = proc.communicate(json.dumps({"ends": ends, "windows": windows}) + "\n",
                                          timeout=120)
                seen.update(json.loads(out.strip().splitlines()[-1]))
            truth = {name: scrollback_sha256(request, name, end) for name, end in ends.items()}
            same = unchanged_agents(before, request)
            same_pid = request("hello")["pid"] == pid
            sessions_after = len(request("list")["sessions"])
        finally:
            request.close()
        logged = [float(x) for x in re.findall(
            r"adopted \d+ session\(s\) after a ([0-9.]+) ms pause",
            (daemon.dir / "bench-daemon.log").read_text(errors="replace"))]
    startup = startup_ms(5)
    section, data = _upgrade_section(plan, upgrades, seen, truth, same, same_pid,
                                     sessions_after, logged)
    section.add("  successor's start-up alone: python -c 'import ptyd.daemon.main' (ms)",
                f"{startup:.0f}", None, "-")
    if sub_reconnect_ms is not None:
        section.notes.append(f"experiment: viewers' SUB sockets reconnect every "
                             f"{sub_reconnect_ms} ms (ZeroMQ's default: 100 ms)")
    data.update(startup_ms=startup, sub_reconnect_ms=sub_reconnect_ms)
    return section, data


def _upgrade_section(plan: Plan, upgrades: list[dict[str, Any]], seen: dict[str, Any],
                     truth: dict[str, str], same: int, same_pid: bool, sessions_after: int,
                     logged: list[float]) -> tuple[Section, dict[str, Any]]:
    intact = sum(seen[n]["sha256"] == h and not seen[n]["lost"] for n, h in truth.items())
    gaps = [g for s in seen.values() for g in s["upgrade_gaps_ms"]]
    steady = [s["steady_max_gap_ms"] for s in seen.values()]
    pauses = [u["pause_ms"] for u in upgrades]
    section = Section(
        f"(a) upgrade in place x{plan.upgrades}: {plan.sessions} sessions, {plan.printing} "
        f"printing {plan.lines_per_s:g} lines/s, {plan.viewers} viewer processes "
        f"(AsyncClient.output from offset 0)",
        ["measure", "value", "target", "verdict"])
    total = sum(s["bytes"] for s in seen.values())
    section.add(f"streams intact: sha256 = scrollback, no Lost ({total / 1e6:.1f} MB)",
                f"{intact}/{len(truth)}", "all", verdict(intact == len(truth)))
    section.add("agents unchanged (pid, /proc start time, running)",
                f"{same}/{plan.sessions}", "all", verdict(same == plan.sessions))
    section.add("daemon pid unchanged; sessions after", f"{same_pid}; {sessions_after}",
                f"True; {plan.sessions}",
                verdict(same_pid and sessions_after == plan.sessions))
    section.add("pause, daemon's daemon.upgraded pause_ms: median / max",
                f"{median(pauses):.0f} / {max(pauses):.0f}", f"< {TARGET_PAUSE_MS:.0f}",
                verdict(max(pauses) < TARGET_PAUSE_MS))
    section.add("pause seen by viewers: longest silence, median / max over streams",
                f"{median(gaps):.0f} / {max(gaps):.0f}", f"< {TARGET_PAUSE_MS:.0f}",
                verdict(max(gaps) < TARGET_PAUSE_MS))
    beyond = [s["upgrade_gaps_ms"][i] - u["pause_ms"] for s in seen.values()
              for i, u in enumerate(upgrades)]
    section.add("  viewers' silence beyond the daemon's pause (reconnect, gap-fill)",
                f"{median(beyond):.0f} / {max(beyond):.0f}", None, "-")
    section.add("  steady printing: longest silence per stream, median / max",
                f"{median(steady):.0f} / {max(steady):.0f}", None, "-")
    section.add("upgrade request -> successor answering (ms): median / max",
                f"{median([u['request_to_served_ms'] for u in upgrades]):.0f} / "
                f"{max(u['request_to_served_ms'] for u in upgrades):.0f}", None, "-")
    section.notes.append(f"daemon log pauses (ms): {', '.join(f'{x:.1f}' for x in logged)}")
    data = {"upgrades": upgrades, "viewers": seen, "intact": intact, "agents_unchanged": same,
            "daemon_pid_unchanged": same_pid, "sessions_after": sessions_after,
            "logged_pause_ms": logged, "silence_beyond_pause_ms": beyond,
            "target_met": intact == len(truth) and same == plan.sessions
            and max(gaps) < TARGET_PAUSE_MS and max(pauses) < TARGET_PAUSE_MS}
    return section, data


# -- (b) kill -9 and adoption --------------------------------------------------------------------

def _stored_and_saved(daemon: SupervisedDaemon, moment: float, sessions: int) -> bool:
    """Every PTY is in the fd store, and a state file with every session was saved since
    `moment`."""
    if len(daemon.store.stored()) != sessions:
        return False
    try:
        state = msgpack.unpackb((daemon.dir / "state.msgpack").read_bytes(), raw=False,
                                strict_map_key=False)
    except (OSError, ValueError):
        return False
    return state["saved"] >= moment and len(state["sessions"]) == sessions


def _wait(predicate: Any, timeout_s: float, what: str) -> float:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.002)
    return time.perf_counter()


def _lost_lines(data: bytes) -> int | None:
    """Printer lines missing across the last crash marker in a scrollback."""
    at = data.rfind(CRASH_MARKER)
    before = LINE_NUMBER.findall(data[:at])
    after = LINE_NUMBER.findall(data[at:])
    if at < 0 or not before or not after:
        return None
    return int(after[0]) - int(before[-1]) - 1


def bench_crash(plan: Plan) -> tuple[Section, dict[str, Any]]:
    daemon = SupervisedDaemon("crash")
    kills = []
    try:
        daemon.start()
        daemon.first_answer(15)
        names, printers = spawn_agents(daemon.request, plan)
        before = agent_identities(daemon.request, names)
        for _ in range(plan.kills):
            _wait(functools.partial(_stored_and_saved, daemon, time.time(), plan.sessions), 15,
                  "the fds were not stored and the state saved")
            time.sleep(0.5)  # printing goes on past the save: what the crash may cost
            daemon.kill()
            killed = time.perf_counter()
            alive = sum(_alive(pid) for pid, _ in before.values())
            daemon.start(with_stored_fds=True)
            answered = daemon.first_answer(30)

            def adopted() -> bool:
                listed = {s["name"]: s for s in daemon.request("list")["sessions"]}
                return all(n in listed and listed[n]["pid"] == before[n][0]
                           and listed[n]["status"] == "running" for n in names)

            all_adopted = _wait(adopted, 30, "not every agent was adopted")
            lost = [_lost_lines(daemon.request("read", {"session": n, "offset": 0,
                                                        "clamp": True})["data"])
                    for n in printers]
            kills.append({"alive_after_kill": alive, "answer_ms": (answered - killed) * 1000,
                          "adopted_ms": (all_adopted - killed) * 1000,
                          "lost_lines": lost})
        same = unchanged_agents(before, daemon.request)
    finally:
        daemon.close()
    lost_all = [x for k in kills for x in k["lost_lines"] if x is not None]
    section = Section(
        f"(b) kill -9 of the daemon x{plan.kills}, {plan.sessions} sessions ({plan.printing} "
        f"printing {plan.lines_per_s:g} lines/s); relaunched at once with the fd store's PTYs",
        ["measure", "value", "target", "verdict"])
    section.add("agents alive after the kill", f"{min(k['alive_after_kill'] for k in kills)}/"
                f"{plan.sessions}", "all",
                verdict(all(k["alive_after_kill"] == plan.sessions for k in kills)))
    section.add("kill -> successor answers (ms): median / max",
                f"{median([k['answer_ms'] for k in kills]):.0f} / "
                f"{max(k['answer_ms'] for k in kills):.0f}", "reported", "-")
    section.add(f"kill -> all {plan.sessions} agents adopted (ms): median / max",
                f"{median([k['adopted_ms'] for k in kills]):.0f} / "
                f"{max(k['adopted_ms'] for k in kills):.0f}", "reported", "-")
    section.add("agents unchanged at the end (pid, start time, running)",
                f"{same}/{plan.sessions}", "all", verdict(same == plan.sessions))
    if lost_all:
        section.add("printer lines lost per crash (read after the last save): median / max",
                    f"{median(lost_all):.0f} / {max(lost_all)}", "reported (loss marker shown)",
                    "-")
    section.notes.append("systemd would add RestartSec= (default 100 ms) before the relaunch")
    return section, {"kills": kills, "agents_unchanged": same}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


# -- the run -------------------------------------------------------------------------------------

FAMILIES = ("upgrade", "crash")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI): under 40 s")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--only", choices=FAMILIES, action="append",
                        help="run only this family (repeatable)")
    parser.add_argument("--sub-reconnect-ms", type=int, metavar="MS",
                        help="experiment: the viewers' SUB sockets reconnect this often")
    args = parser.parse_args(argv)
    plan = Plan.quick() if args.quick else Plan()
    print(f"ptyd upgrade benchmark ({'quick' if args.quick else 'full'} run): "
          f"{os.cpu_count()} cores, Linux {platform.release()}, Python "
          f"{platform.python_version()}; load average {os.getloadavg()[0]:.2f} at start",
          flush=True)
    runners = {"upgrade": lambda: bench_upgrade(plan, args.sub_reconnect_ms),
               "crash": lambda: bench_crash(plan)}
    results: dict[str, Any] = {"plan": asdict(plan), "load_average_at_start": os.getloadavg()}
    return run_families(args.only or FAMILIES, runners, results, args.json)


if __name__ == "__main__":
    sys.exit(main())
