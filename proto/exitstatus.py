"""The exit code a shell would report for a session's program, from its session object.

One mapping for every client (`ptyd wait`, `ptyd attach`, `ptyd run`, libraries): 128+N for a
program killed by signal N, its exit code otherwise, and UNKNOWN_EXIT_CODE when neither is
known (a session adopted after a daemon crash: it ended, but not how). Unknown is not success.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

UNKNOWN_EXIT_CODE = 1


def shell_code(session: Mapping[str, Any]) -> int:
    """From a session object (or a `session.exited` event): `exit_code`, `exit_signal`."""
    if session.get("exit_signal") is not None:
        return 128 + int(session["exit_signal"])
    code = session.get("exit_code")
    return int(code) if code is not None else UNKNOWN_EXIT_CODE
