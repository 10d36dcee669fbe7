"""The quick runs of the attach, service and upgrade benchmarks work end to end: each exits 0,
prints every table with its verdicts, and writes its JSON. Their figures are not judged here
(a benchmark is not a test); a missing tmux or dtach is skipped and said so, not an error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import load_factor

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"
MULTIPLEXERS = ("tmux", "dtach")
QUICK_RUN_S = 40
"""What a quick run is meant to take on an idle machine; the subprocess gets this plus a margin,
stretched by the load factor (pytest-xdist's other workers, coverage, a loaded machine)."""
HEADINGS = {
    "bench_attach.py": ("(a) keystroke -> echo", "(b) start of the client -> fully drawn",
                        "(c) a fast producer with one attached viewer",
                        "(d) a viewer that stops reading",
                        "(e) start-up of one-request commands"),
    "bench_service.py": ("(a) ", "(b) request round trip", "(c) viewers of one busy session",
                         "(d) remote over loopback TCP with CURVE"),
    "bench_upgrade.py": ("(a) upgrade in place", "(b) kill -9 of the daemon"),
}
JSON_KEYS = {
    "bench_attach.py": {"echo", "screen", "throughput", "stall", "startup"},
    "bench_service.py": {"sessions", "fanout", "remote"},
    "bench_upgrade.py": {"upgrade", "crash"},
}


def run_bench(script: str, *args: str, timeout: float = 2.5 * QUICK_RUN_S
              ) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, str(BENCH_DIR / script), "--quick", *args],
                          capture_output=True, text=True, timeout=timeout * load_factor())
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.timeout(3 * QUICK_RUN_S)
@pytest.mark.parametrize("script", sorted(HEADINGS))
def test_quick_run_prints_every_table_and_writes_json(script: str, tmp_path: Path) -> None:
    results_file = tmp_path / "results.json"
    proc = run_bench(script, "--json", str(results_file))
    for heading in HEADINGS[script]:
        assert heading in proc.stdout, f"{heading!r} missing from:\n{proc.stdout}"
    assert "verdict" in proc.stdout and "load average" in proc.stdout
    results = json.loads(results_file.read_text())
    assert set(results) >= JSON_KEYS[script]
    if script == "bench_attach.py":  # a missing reference is skipped and said so
        installed = [tool for tool in MULTIPLEXERS if shutil.which(tool)]
        assert results["tools"] == installed
        for tool in MULTIPLEXERS:
            if tool not in installed:
                assert f"{tool} skipped: not installed" in proc.stdout


@pytest.mark.timeout(2 * QUICK_RUN_S)
def test_attach_bench_runs_without_the_multiplexer_references() -> None:
    proc = run_bench("bench_attach.py", "--no-multiplexers", "--only", "echo", "--only",
                     "throughput", timeout=1.5 * QUICK_RUN_S)
    assert "ptyd attach, attached client" in proc.stdout
    assert "tmux 3" not in proc.stdout and "dtach 0" not in proc.stdout
    assert "tmux skipped: --no-multiplexers" in proc.stdout


@pytest.mark.timeout(2 * QUICK_RUN_S)
def test_a_failing_family_is_reported_and_the_others_still_run(tmp_path: Path) -> None:
    results_file = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(BENCH_DIR / "bench_attach.py"), "--quick",
                           "--only", "echo", "--only", "startup", "--no-multiplexers",
                           "--json", str(results_file)],
                          capture_output=True, text=True,
                          timeout=1.5 * QUICK_RUN_S * load_factor(),
                          env={**os.environ, "PTYD_BENCH_FAIL": "echo"})
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "(echo) FAILED: RuntimeError" in proc.stdout
    assert "(e) start-up of one-request commands" in proc.stdout, "the next family still ran"
    assert "families that failed: echo" in proc.stdout
    results = json.loads(results_file.read_text())
    assert "failed" in results["echo"] and results["startup"]["ls"]["p50_ms"] > 0
