"""Start-up of one-request `ptyd` commands against a bare Python start-up, in the same run.

`ptyd ls`, `ptyd send`, `ptyd --version` and `python -c pass` are started in interleaved rounds
(the machine's drift hits all alike); the target is <= 3x Python's p50. Then `python -X importtime`
of `ptyd ls` names the modules that cost the most, so a regression says where it comes from.

The package is byte-compiled first (compileall, as pip does at install): with
PYTHONDONTWRITEBYTECODE set, as in some CI shells, every run would otherwise compile the sources
again and measure the compiler.
"""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import BenchDaemon, RawClient, Section, clean_env, median, percentile, verdict

TARGET_STARTUP_RATIO = 3.0
REPO = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ("cli", "proto", "client", "attach")


def _ptyd_command() -> list[str]:
    """The installed `ptyd` script next to this interpreter, else `python -m ptyd`."""
    script = Path(sys.executable).parent / "ptyd"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ptyd"]


def _time_ms(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL, cwd="/")
    return (time.perf_counter() - start) * 1000


def top_importers(argv: list[str], env: dict[str, str], count: int = 8
                  ) -> list[tuple[str, float, float]]:
    """(module, self ms, cumulative ms) of the costliest imports of `argv`, by self time."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *argv], env=env,
                          capture_output=True, text=True, cwd="/", check=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, total, name = line.removeprefix("import time:").split("|")
        rows.append((name.strip(), int(own) / 1000, int(total) / 1000))
    return sorted(rows, key=lambda r: -r[1])[:count]


def precompile() -> None:
    """Byte-compile the package as `pip install` does, so that no cold start measures the
    compiler (PYTHONDONTWRITEBYTECODE, set in some shells, would otherwise make every one)."""
    for sub in PACKAGE_DIRS:
        compileall.compile_dir(str(REPO / sub), quiet=1)


def bench_startup(runs: int) -> tuple[Section, dict[str, Any]]:
    precompile()
    env = clean_env()
    ptyd = _ptyd_command()
    with BenchDaemon("startup") as daemon, RawClient(daemon.dir) as raw:
        raw.request("spawn", {"argv": ["cat"], "name": "s", "cols": 80, "rows": 24, "cwd": "/"})
        at = ["--dir", str(daemon.dir)]
        cases = {"python": [sys.executable, "-c", "pass"],
                 "version": [*ptyd, "--version"],
                 "ls": [*ptyd, *at, "ls"],
                 "send": [*ptyd, *at, "send", "s", "x"]}
        if shutil.which("tmux"):
            cases["tmux"] = ["tmux", "-L", f"ptyd-bench-{os.getpid()}", "-f", "/dev/null", "ls"]
        times: dict[str, list[float]] = {case: [] for case in cases}
        for argv in cases.values():  # warm the page cache once
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           cwd="/")
        for _ in range(runs):
            for case, argv in cases.items():
                if case == "tmux":  # no server runs on that socket: tmux ls exits 1, quickly
                    start = time.perf_counter()
                    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    times[case].append((time.perf_counter() - start) * 1000)
                else:
                    times[case].append(_time_ms(argv, env))
        importers = top_importers(["-m", "ptyd", *at, "ls"], env)
    python = median(times["python"])
    section = Section(
        f"(e) start-up of one-request commands ({runs} interleaved runs each, package "
        "byte-compiled as installed)",
        ["case", "p50 ms", "p90 ms", "x python", "target", "verdict"])
    labels = {"python": "python -c pass (reference)", "version": "ptyd --version",
              "ls": "ptyd ls (one session)", "send": "ptyd send s x",
              "tmux": "tmux ls (reference, no server)"}
    data: dict[str, Any] = {"python_p50_ms": python}
    for case, values in times.items():
        p50 = median(values)
        judged = case in ("version", "ls", "send")
        ok = p50 <= TARGET_STARTUP_RATIO * python if judged else None
        section.add(labels[case], p50, percentile(values, 90), p50 / python,
                    f"<= {TARGET_STARTUP_RATIO:g}x python" if judged else None, verdict(ok))
        data[case] = {"p50_ms": p50, "p90_ms": percentile(values, 90),
                      "x_python": p50 / python, "target_met": ok}
    section.notes.append("python -X importtime of `ptyd ls`, costliest modules by self time: "
                         + ", ".join(f"{name} {own:.1f}/{total:.1f} ms"
                                     for name, own, total in importers))
    data["top_importers"] = [{"module": n, "self_ms": o, "cumulative_ms": t}
                             for n, o, t in importers]
    return section, data
