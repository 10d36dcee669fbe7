"""The foundation benchmark's quick run works end to end. Its figures are not judged here (a
benchmark is not a test): only that it runs, verifies its streams and prints its table."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import load_factor

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_foundation.py"
SECTIONS = ("(a) output throughput", "(b) request round trip", "(c) keystroke echo",
            "(d) ", "(e) subscriber that stops reading")
MULTIPLEXERS = ("tmux", "dtach")


def run_bench(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", *args], capture_output=True,
                          text=True, timeout=timeout * load_factor())
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.timeout(120)
def test_quick_run_prints_every_section_and_writes_json(tmp_path: Path) -> None:
    results_file = tmp_path / "results.json"
    proc = run_bench("--json", str(results_file), timeout=100)
    for heading in SECTIONS:
        assert heading in proc.stdout
    assert "ptyd -> AsyncClient.output, sha256 checked" in proc.stdout
    results = json.loads(results_file.read_text())
    assert set(results) >= {"throughput", "rtt", "echo", "idle", "stall"}
    installed = [tool for tool in MULTIPLEXERS if shutil.which(tool)]
    assert results["tools"] == installed
    for tool in MULTIPLEXERS:
        if tool not in installed:  # a missing reference is skipped and said so, not an error
            assert f"{tool} skipped: not installed" in proc.stdout


@pytest.mark.timeout(60)
def test_runs_without_the_multiplexer_references() -> None:
    proc = run_bench("--no-multiplexers", "--only", "throughput", "--only", "echo", timeout=50)
    assert "bare PTY, Python os.read loop (reference)" in proc.stdout
    assert "attached client" not in proc.stdout
    assert "tmux skipped: --no-multiplexers" in proc.stdout
