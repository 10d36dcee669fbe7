"""What a spawn inherits from its caller, like `subprocess.Popen`: the working directory and the
environment of this process. The daemon is another process (started elsewhere, maybe long ago),
so a client that sends nothing would run the program in the daemon's directory with the
daemon's environment; the client sends the caller's instead.

A remote daemon (tcp://, CURVE) runs on another machine, where this process's paths and
variables mean nothing: there the defaults are the daemon's own directory and environment, and
`extra_env` travels as its own wire param for the daemon to add to its environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

StrPath = str | os.PathLike[str]


def spawn_context(local: bool, cwd: StrPath | None, env: Mapping[str, str] | None,
                  extra_env: Mapping[str, str] | None) -> dict[str, Any]:
    """The `cwd`, `env` and `extra_env` params of a spawn request (None: left out)."""
    if not local:
        return {"cwd": None if cwd is None else os.fspath(cwd),
                "env": None if env is None else dict(env),
                "extra_env": None if extra_env is None else dict(extra_env)}
    # A relative cwd is relative to the caller, as with Popen; the daemon wants it absolute.
    directory = os.path.abspath(os.getcwd() if cwd is None else cwd)
    environment = dict(os.environ if env is None else env)
    environment.update(extra_env or {})
    return {"cwd": directory, "env": environment, "extra_env": None}
