"""Per-session Claude Code settings whose hooks report to this daemon.

The file is passed with `--settings`, which Claude Code merges over the user's own settings, so
nothing of the user's is touched. Each hook runs `<python> -m ptyd.hook`, which reads the hook's
JSON on stdin and sends it to the daemon named by PTYD_DIR, for the session named by
PTYD_SESSION (both are in every session's environment).
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from .safefiles import make_private_dir, write_atomic

HOOK_EVENTS = ("SessionStart", "UserPromptSubmit", "Notification", "PermissionRequest",
               "PreToolUse", "PostToolUse", "Stop", "StopFailure", "SessionEnd")
TOOL_EVENTS = ("PreToolUse", "PostToolUse", "PermissionRequest")
HOOK_TIMEOUT_S = 10


def hook_command() -> str:
    """`ptyd.hook` alone (a bare ZeroMQ request, no asyncio or client library): Claude Code runs
    it on every tool call, so it must start fast."""
    return shlex.join([sys.executable, "-m", "ptyd.hook"])


def settings(extra: dict[str, Any] | None) -> dict[str, Any]:
    command = {"type": "command", "command": hook_command(), "timeout": HOOK_TIMEOUT_S}
    hooks: dict[str, Any] = {}
    for event in HOOK_EVENTS:
        entry: dict[str, Any] = {"hooks": [command]}
        if event in TOOL_EVENTS:
            entry["matcher"] = "*"
        hooks[event] = [entry]
    merged = dict(extra or {})
    user_hooks = merged.pop("hooks", {})
    for event, entries in (user_hooks or {}).items():  # the caller's own hooks run as well
        hooks.setdefault(event, []).extend(entries if isinstance(entries, list) else [])
    return {**merged, "hooks": hooks}


def write_settings(directory: Path, session: str, extra: dict[str, Any] | None) -> Path:
    """Write <runtime dir>/sessions/<name>/claude-settings.json (0600) and return its path."""
    session_dir = directory / "sessions" / session
    make_private_dir(session_dir.parent)
    make_private_dir(session_dir)
    path = session_dir / "claude-settings.json"
    write_atomic(path, json.dumps(settings(extra), indent=2).encode())
    return path


def claude_argv(argv: list[str], settings_path: Path) -> list[str]:
    """Insert `--settings FILE` right after the program, before the user's own arguments."""
    return [argv[0], "--settings", str(settings_path), *argv[1:]]
