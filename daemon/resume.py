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
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgpack

from ptyd.proto import locations

from .agentstate import AGENT_SESSION_ID_RE
from .logs import log

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
            data = msgpack.unpackb(self.path.read_bytes(), raw=False)
        except FileNotFoundError:
            return
        except (OSError, ValueError) as e:
            log.error("cannot read persistent sessions from %s: %s", self.path, e)
            return
        if isinstance(data, dict) and data.get("format") == FORMAT:
            self.entries = dict(data.get("sessions", {}))

    def save(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(msgpack.packb({"format": FORMAT, "sessions": self.entries},
                                  use_bin_type=True))
        os.replace(tmp, self.path)

    def remember(self, session: Session, request: dict[str, Any]) -> None:
        self.entries[session.name] = {
            "request": request, "agent_session_id": session.agent_session_id,
            "started": session.created, "finished": False,
            "resumed_from": getattr(session, "resumed_from", None),
        }
        self.save()

    def update(self, session: Session, **fields: Any) -> None:
        entry = self.entries.get(session.name)
        if entry is not None:
            entry.update(fields)
            self.save()

    def forget(self, name: str) -> None:
        if self.entries.pop(name, None) is not None:
            self.save()


def resume_argv(entry: dict[str, Any]) -> list[str]:
    """The command that continues the conversation. The id came from a hook: only a UUID is
    used, and joined to its option (`--resume=ID`), so no value can ever read as an option."""
    argv = list(entry["request"]["argv"])
    agent_id = entry.get("agent_session_id")
    given = {arg.split("=", 1)[0] for arg in argv}
    if entry["request"].get("agent") == "claude" and isinstance(agent_id, str) \
            and AGENT_SESSION_ID_RE.fullmatch(agent_id) \
            and not {"--resume", "-r", "--continue", "-c"} & given:
        argv.append(f"--resume={agent_id}")
    return argv


def relaunch_all(d: Daemon) -> list[str]:
    """Start every persistent session that was running when the last daemon went away."""
    from .ops import spawn  # the same path as a client's spawn

    relaunched = []
    for name, entry in list(d.resume_registry.entries.items()):
        if entry.get("finished") or name in d.sessions:
            continue
        request = dict(entry["request"], argv=resume_argv(entry), name=name)
        try:
            info = spawn.spawn_session(d, request, resumed_from=entry["started"])
        except Exception as e:  # a session that cannot come back must not stop the others
            log.error("session=%s could not be resumed: %s", name, e)
            continue
        relaunched.append(info["name"])
        log.info("session=%s resumed (first started %s)", name,
                 time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry["started"])))
    return relaunched
