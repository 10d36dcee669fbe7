"""Helpers for tests that run the fake Claude Code CLI (tests/agents/fake_claude)."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FAKE_CLAUDE = Path(__file__).resolve().parent / "fake_claude"


def fake_claude_command(directory: Path) -> Path:
    """An executable `claude` in `directory` running the fake with this interpreter: the
    script's own `#!/usr/bin/env python3` may find a slow shim (pyenv) first."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "claude"
    path.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} "
                    f"{shlex.quote(str(FAKE_CLAUDE))} \"$@\"\n")
    path.chmod(0o755)
    return path


def claude_home(directory: Path, *, onboarded: bool = True, trusted: Iterable[Path] = ()
                ) -> Path:
    """A HOME whose .claude.json has (or lacks) onboarding and trusted folders."""
    directory.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {"theme": "dark"}
    if onboarded:
        config["hasCompletedOnboarding"] = True
    config["projects"] = {str(p): {"hasTrustDialogAccepted": True} for p in trusted}
    (directory / ".claude.json").write_text(json.dumps(config))
    return directory


def hook_log(path: Path) -> list[dict[str, Any]]:
    """The hook events the fake fired, as FAKE_CLAUDE_LOG recorded them."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]
