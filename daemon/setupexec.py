"""Run a worktree's setup command in the session's terminal, then become the agent.

    python -I -m ptyd.daemon.setupexec STATUS_FILE TIMEOUT SETUP_JSON PENDING_FILE -- AGENT...

The daemon starts this as the session's program when a new worktree has a `setup` command
(daemon/git/setup.py), so the setup's output goes to the session's scrollback as it happens
and the agent starts only after it succeeded: then this process execs the agent (same pid, so
the session, its hooks and its containment are the agent's). On failure it writes
{"exit_code": N, "why": ...} to STATUS_FILE, for the daemon to set the state `error` with
`setup_failed`, and exits with the setup's code. PENDING_FILE (the worktree's record that its
setup is still to run) is removed once it succeeded, so it runs once per worktree. Kept to the standard library: it runs with the
agent's environment, before anything else.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys


def main(argv: list[str]) -> int:
    status_file, timeout, setup, pending = argv[0], float(argv[1]), json.loads(argv[2]), argv[3]
    agent = argv[5:]
    print(f"ptyd: preparing the worktree: {shlex.join(setup)}", flush=True)
    try:
        code = subprocess.run(setup, stdin=subprocess.DEVNULL, timeout=timeout).returncode
        why = f"exit code {code}" if code >= 0 else f"killed by signal {-code}"
        code = code if code >= 0 else 128 - code
    except subprocess.TimeoutExpired:  # run() killed it
        code, why = 124, f"timed out after {timeout:g}s"
    except OSError as e:
        code, why = 127, f"cannot run {setup[0]}: {e.strerror}"
    if code == 0:
        print("ptyd: worktree ready, starting the agent", flush=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(pending)
        try:
            os.execvp(agent[0], agent)
        except OSError as e:
            code, why = 127, f"cannot run the agent {agent[0]}: {e.strerror}"
    else:
        print(f"ptyd: worktree setup failed ({why}); the agent is not started", flush=True)
    with open(status_file, "w") as f:
        json.dump({"exit_code": code, "why": why}, f)
    return min(max(code, 1), 125)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
