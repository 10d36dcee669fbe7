"""The daemon's error messages in the CLI's words.

The daemon speaks the protocol ("spawn: parameter 'name' must be ...", "remove with force"); a
person at the shell typed options (`-s NAME`, `--force`). A refused parameter (a bad_request
naming it) is a usage error: exit 2, with the option it came from; other errors keep their
exit 1 and get their protocol words replaced.
"""

from __future__ import annotations

import re

from ptyd.client import BadRequest, PtydError

USAGE_EXIT = 2
FAILURE_EXIT = 1

OPTION_OF_PARAM = {
    "name": "-s/--name",
    "session": "NAME",
    "argv": "the command",
    "cwd": "--cwd",
    "env": "-e/--env",
    "cols": "--size",
    "rows": "--size",
    "scrollback_bytes": "--scrollback",
    "size_policy": "--size-policy",
    "agent": "--agent",
    "timeout": "--timeout",
    "idle_after": "--idle-after",
    "repo": "--repo",
    "task": "--task",
    "integration": "--integration",
    "sandbox_dir": "--sandbox-dir",
    "until": "--until",
    "signal": "-s/--signal",
    "grace": "--grace",
    "viewer": "--viewer",
    "message": "-m/--message",
    "author": "--author",
    "remote": "--remote",
}
"""A request parameter -> the option (or argument) of the CLI that sets it."""

_PARAM_PREFIX = re.compile(r"^[\w.]+: (?:(missing )?parameter '\w+'|'\w+') ?")

_WORDS = (
    ("pass force=True", "use --force"),
    ("force=True", "--force"),
    ("or remove with force", "or use ptyd rm --force"),
    ("spawn it with 'repo' and 'task', or name the branch by 'repo' and 'agent'",
     "start it with ptyd new --repo DIR --task ID, or name the branch with --repo DIR"),
)


def cli_message(error: PtydError) -> tuple[str, int]:
    """(message, exit code) for an error a request of the CLI got."""
    message = str(error)
    param = error.data.get("param") if isinstance(error, BadRequest) else None
    # A value the user gave that the daemon cannot read (the decoder's words: "op: parameter
    # 'x' ..."), or one the daemon names as the culprit without naming a session it looked at.
    # A session that exists but is in the wrong state for the verb ("works on no branch",
    # "paused already": data names the session) is a failure, exit 1, like any other refusal.
    prefix = _PARAM_PREFIX.match(message)
    state_refusal = prefix is None and "session" in (getattr(error, "data", None) or {})
    if isinstance(param, str) and not state_refusal:
        if param in OPTION_OF_PARAM and prefix:
            rest = message[prefix.end():]
            option = OPTION_OF_PARAM[param]
            message = f"{option} is required" if prefix.group(1) else f"{option} {rest}"
        return _in_cli_words(message), USAGE_EXIT
    return _in_cli_words(message), FAILURE_EXIT


def _in_cli_words(message: str) -> str:
    for protocol, cli in _WORDS:
        message = message.replace(protocol, cli)
    return message
