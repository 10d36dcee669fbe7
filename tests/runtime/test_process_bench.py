"""The runtime benchmark's quick run works end to end (its figures are not judged here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_runtime.py"


@pytest.mark.timeout(240)
def test_the_quick_runtime_benchmark_runs_and_every_agent_succeeds(tmp_path: Path) -> None:
    results_file = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--json", str(results_file)],
                          capture_output=True, text=True, timeout=220)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    assert "(a) 20 agents spawned from 8 threads" in proc.stdout
    assert "(b) expect() on a 10 MB stream" in proc.stdout
    results = json.loads(results_file.read_text())
    assert results["spawn"]["ptyd"]["ok"] == results["spawn"]["ptyd"]["agents"] == 20
    assert results["spawn"]["subprocess"]["ok"] == 20
    assert results["expect"]["matched"] and results["expect"]["lost_bytes"] == 0
