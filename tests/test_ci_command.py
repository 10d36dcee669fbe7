"""CI runs exactly the test command the README gives (a reader's run is CI's run)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command() -> None:
    readme = " ".join(ROOT.joinpath("README.md").read_text().split())
    stated = re.search(r"the test command `([^`]+)`", readme)
    assert stated is not None, "the README names its test command"
    ci_lines = [line.strip() for line in ROOT.joinpath(".ci", "run").read_text().splitlines()]
    assert stated.group(1) in ci_lines, f"{stated.group(1)!r} is not a line of .ci/run"
