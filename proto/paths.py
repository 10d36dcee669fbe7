"""Where a daemon listens: computed from the environment, without touching the filesystem.

Precedence, like tmux -S/-L: an explicit directory, then $PTYD_DIR, then
$XDG_RUNTIME_DIR/ptyd, then <tmp>/ptyd-<uid>. A daemon and its clients agree by computing the
same directory; inside it live the control and publish sockets and the daemon's lock.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DIR_ENV = "PTYD_DIR"
CONTROL_SOCKET = "ctl.sock"
PUBLISH_SOCKET = "pub.sock"
LOCK_FILE = "daemon.lock"
LOG_FILE = "daemon.log"


def runtime_dir(env: Mapping[str, str], uid: int, tmpdir: str = "/tmp",
                explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit)
    if env.get(DIR_ENV):
        return Path(env[DIR_ENV])
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / "ptyd"
    return Path(tmpdir) / f"ptyd-{uid}"


@dataclass(frozen=True)
class Endpoints:
    """The two ZeroMQ endpoints of a daemon."""

    control: str
    publish: str

    @classmethod
    def in_dir(cls, directory: Path) -> Endpoints:
        return cls(f"ipc://{directory / CONTROL_SOCKET}", f"ipc://{directory / PUBLISH_SOCKET}")
