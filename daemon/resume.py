"""Persistent sessions: relaunched when the daemon starts after a reboot (or any full stop).

A session spawned with `persistent` is written to a small registry in the state directory
($XDG_STATE_HOME/ptyd, which survives reboots, unlike the runtime directory): its command,
directory, environment, size and agent settings. When a daemon starts fresh (not an upgrade,
not an adoption after a crash) it relaunches every entry that was still running when its
predecessor went away, with the same command, directory, environment and size; a Claude Code
agent with a known session id is started with `--resume <id>`, so its conversation continues.

An entry is dropped when its session is removed, and marked finished when the program exits by
itself; a session ended by the daemon stopping (SIGHUP/SIGKILL at shutdown, as at a reboot) is
relaunched next time.

The environment is not stored whole, in clear: a spawn usually sends the caller's entire
environment (tokens of other tools included), most of which the daemon's own environment has
too. The registry keeps only the difference: the variables the spawn set to another value than
the daemon's environment has (those the caller set explicitly, such as `ptyd new -e`) and the
names of the daemon's variables the spawn left out. A relaunch rebuilds the environment from the
daemon's environment of that time and this difference.

The registry is written atomically; a write that fails (a full disk) is logged and the entries
stay in memory, so sessions and their exits are unaffected, except that the spawn of a new
persistent session is refused (it could not be relaunched).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgpack

from ptyd.proto import locations

from .agentkinds import resume_argv
from .logs import log
from .safefiles import make_private_dir, read_private, write_atomic

if TYPE_CHECKING:
    from .server import Daemon
    from .session import Session

FORMAT = 1


def registry_path(runtime_dir: Path) -> Path:
    """One registry per daemon (per runtime directory), in the durable state directory."""
    state = locations.default_state_dir(os.environ, str(Path.home()))
    tag = hashlib.sha256(str(runtime_dir).encode()).hexdigest()[:16]
    return state / f"persistent-{tag}.msgpack"


class Registry:
    def __init__(self, path: Path):
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}

    def load(self) -> None:
        try:
            data = msgpack.unpackb(read_private(self.path), raw=False)
        except FileNotFoundError:
            return
        except (OSError, ValueError) as e:
            log.error("cannot read persistent sessions from %s: %s", self.path, e)
            return
        if isinstance(data, dict) and data.get("format") == FORMAT:
            self.entries = dict(data.get("sessions", {}))

    def save(self) -> None:
        """Write the registry; OSError (a full disk, a planted link) if it cannot."""
        make_private_dir(self.path.parent)
        write_atomic(self.path, msgpack.packb({"format": FORMAT, "sessions": self.entries},
                                              use_bin_type=True))

    def remember(self, name: str, request: dict[str, Any], started: float,
                 resumed_from: float | None) -> None:
        """Register a session about to be spawned; OSError if the registry cannot be written
        (then nothing is registered and the spawn must be refused)."""
        self.entries[name] = {
            "request": without_inherited_env(request, os.environ), "agent_session_id": None,
            "started": started, "finished": False, "resumed_from": resumed_from,
        }
        try:
            self.save()
        except OSError:
            del self.entries[name]
            raise

    def withdraw(self, name: str, previous: dict[str, Any] | None) -> None:
        """Undo remember() for a spawn that failed: the entry as it was before, if any."""
        if previous is None:
            self.forget(name)
        else:
            self.entries[name] = previous
            self._save_or_log()

    def update(self, session: Session, **fields: Any) -> None:
        entry = self.entries.get(session.name)
        if entry is not None:
            entry.update(fields)
            self._save_or_log()

    def forget(self, name: str) -> None:
        if self.entries.pop(name, None) is not None:
            self._save_or_log()

    def _save_or_log(self) -> None:
        """A change that already happened (an exit, a removal) is kept in memory even when the
        disk is full; the log says the file is behind, and the next successful save catches up."""
        try:
            self.save()
        except OSError as e:
            log.error("cannot write persistent sessions to %s: %s", self.path, e)


def without_inherited_env(request: dict[str, Any], inherited: Mapping[str, str]
                          ) -> dict[str, Any]:
    """The spawn request to store: its `env` replaced by the difference from `inherited` (the
    daemon's environment): `env_set` (new or changed values), `env_unset` (names left out)."""
    env = request.get("env")
    if env is None:
        return dict(request)
    stored = {k: v for k, v in request.items() if k != "env"}
    stored["env_set"] = {k: v for k, v in env.items() if inherited.get(k) != v}
    stored["env_unset"] = sorted(k for k in inherited if k not in env)
    return stored


def with_env(stored: dict[str, Any], inherited: Mapping[str, str]) -> dict[str, Any]:
    """The spawn request again from a stored one: the environment rebuilt over `inherited`."""
    if "env_set" not in stored:
        return dict(stored)  # an entry written before the environment was stored as a difference
    request = {k: v for k, v in stored.items() if k not in ("env_set", "env_unset")}
    unset = set(stored.get("env_unset") or ())
    request["env"] = {**{k: v for k, v in inherited.items() if k not in unset},
                      **stored["env_set"]}
    return request


def relaunch_all(d: Daemon) -> list[str]:
    """Start every persistent session that was running when the last daemon went away."""
    from .ops import spawn  # the same path as a client's spawn

    relaunched = []
    for name, entry in list(d.resume_registry.entries.items()):
        if entry.get("finished") or name in d.sessions:
            continue
        request = dict(with_env(entry["request"], os.environ), argv=resume_argv(entry),
                       name=name)
        try:
            info = spawn.spawn_session(d, request, resumed_from=entry["started"])
        except Exception as e:  # a session that cannot come back must not stop the others
            log.error("session=%s could not be resumed: %s", name, e)
            continue
        relaunched.append(info["name"])
        log.info("session=%s resumed (first started %s)", name,
                 time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry["started"])))
    return relaunched
