"""The daemon's side of a worktree's `setup` command (daemon/git/setup.py): the session's
program becomes daemon/setupexec.py, which runs the setup in the session's terminal and then
execs the agent; if the setup failed, the session ends in `error` with `setup_failed`."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .agentstate import ERROR
from .logs import log
from .safefiles import read_private

if TYPE_CHECKING:
    from .context import AgentHost
    from .git.setup import WorktreeSetup
    from .session import Session


def status_file(runtime_dir: Path, epoch: int) -> Path:
    return runtime_dir / f"setup-{epoch}.json"


def wrap(argv: list[str], plan: WorktreeSetup, status: Path) -> list[str]:
    """The session's program: the setup, then (exec) the agent's argv."""
    # -I: the agent's environment (PYTHONPATH, PYTHONHOME) must not change what runs here.
    return [sys.executable, "-I", "-m", "ptyd.daemon.setupexec", str(status),
            repr(plan.setup_timeout), json.dumps(list(plan.setup)), plan.source, "--", *argv]


def on_exit(d: AgentHost, session: Session) -> bool:
    """At the session's exit: if its setup failed, state `error` with `setup_failed` and the
    exit code (True: the failure is explained, no other reason applies)."""
    if session.setup_status is None:
        return False
    path = Path(session.setup_status)
    try:
        outcome = json.loads(read_private(path))  # not through a link the agent planted
    except (OSError, ValueError):
        return False  # setup passed (the agent ran) or the wrapper died: the usual rules
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
    why = str(outcome.get("why") or "failed") if isinstance(outcome, dict) else "failed"
    log.warning("session=%s worktree setup failed: %s", session.name, why)
    d.set_state(session, ERROR, "worktree setup failed", "setup_failed", why)
    return True
