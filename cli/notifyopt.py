"""`ptyd new --notify STATES=ACTION`: a notification rule for one session, as a spawn `notify`
entry. ACTION is a URL (a webhook: https, or http to loopback) or a command line, split as the
shell would (no shell runs it):

    --notify 'waiting,error=notify-send ptyd "{session}: {state} {reason}"'
    --notify exited=http://127.0.0.1:8080/hook
"""

from __future__ import annotations

import re
import shlex
from typing import Any

_STATES_RE = re.compile(r"[a-z]+(,[a-z]+)*")


def parse_notify(text: str) -> dict[str, Any]:
    """One --notify value as a rule table; ValueError says what is wrong."""
    states, sep, action = text.partition("=")
    states = states.replace(" ", "")
    if not sep or not _STATES_RE.fullmatch(states) or not action.strip():
        raise ValueError(f"--notify wants STATES=COMMAND or STATES=URL (e.g. "
                         f"'waiting,error=notify-send ptyd {{session}}'), not {text!r}")
    rule: dict[str, Any] = {"states": states.split(",")}
    if re.match(r"https?://", action.strip()):
        rule["webhook"] = action.strip()
    else:
        try:
            rule["command"] = shlex.split(action)
        except ValueError as e:
            raise ValueError(f"--notify {text!r}: {e}") from None
    return rule
