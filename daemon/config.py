"""The daemon's settings, with the defaults a new user gets.

`configfile.py` fills them from the configuration files and the command line; the daemon reads
them where it uses them (`d.config.scrollback_bytes` at each spawn), so a reload (SIGHUP) that
replaces a field takes effect for what comes next.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ptyd.proto import limits
from ptyd.proto.locations import default_recording_dir

from .git.setup import WorktreeSetup
from .notify import NotifyRule

DEFAULT_RECORDING_MAX_BYTES = 64 << 20
DEFAULT_RECORDING_KEEP = 5


@dataclass(frozen=True)
class RecordingConfig:
    """What a new session records when its spawn does not say (and where)."""

    format: str | None = None
    """"asciicast", "log", or None (no recording)."""
    input: bool = False
    """asciicast only: also record what was typed, as "i" events."""
    hidden_input: bool = False
    """With `input`: also what was typed while the terminal did not echo it (a password)."""
    dir: Path = field(default_factory=lambda: default_recording_dir(
        os.environ, os.path.expanduser("~")))
    max_bytes: int = DEFAULT_RECORDING_MAX_BYTES
    """A recording file is rotated (NAME.cast -> NAME.cast.1 -> ...) when it reaches this."""
    keep: int = DEFAULT_RECORDING_KEEP
    """Files kept per session name, the current one included."""


@dataclass(frozen=True)
class RemoteConfig:
    """TCP endpoints, served only with ZeroMQ CURVE on both sockets (validated: both endpoints
    and both key settings are present)."""

    control: str
    publish: str
    server_secret_key: Path
    authorized_keys: Path
    """A directory of client public keys; only those may connect."""


@dataclass
class DaemonConfig:
    runtime_dir: Path
    scrollback_bytes: int = limits.DEFAULT_SCROLLBACK_BYTES
    max_sessions: int = limits.MAX_SESSIONS
    max_total_scrollback_bytes: int | None = None
    """Cap on the scrollback capacity of all sessions together; None: no cap."""
    max_pending_waits: int = limits.MAX_PENDING_WAITS
    kill_grace_s: float = limits.DEFAULT_KILL_GRACE_S
    publish_hwm: int = 256
    """Messages queued per subscriber before the daemon drops for that subscriber (it then
    sees a gap in offsets and fills it with `read`). A fast producer's chunks are up to ~64 kB,
    so a stalled subscriber costs the daemon at most ~16 MB."""
    heartbeat_interval_s: float = limits.HEARTBEAT_INTERVAL_S
    log_level: str = "info"
    env_default: dict[str, str] = field(default_factory=dict)
    """Added to the daemon's own environment for a spawn that sends no `env`."""
    env_set: dict[str, str] = field(default_factory=dict)
    """Set in every session's environment, over the client's."""
    recording: RecordingConfig = field(default_factory=RecordingConfig)
    remote: RemoteConfig | None = None
    notify: tuple[NotifyRule, ...] = ()
    """[[notify]] rules: commands or webhooks run when a session enters a state."""
    worktrees: dict[str, WorktreeSetup] = field(default_factory=dict)
    """[worktree."<repository>"]: how new worktrees of that repository are prepared."""
    reloader: Callable[[], DaemonConfig] | None = field(default=None, repr=False,
                                                        compare=False)
    """Loads the configuration again from the same files and command line (SIGHUP)."""

    # The remote settings by flat names, as daemon/remote.py reads them.
    @property
    def remote_control(self) -> str | None:
        return self.remote.control if self.remote else None

    @property
    def remote_publish(self) -> str | None:
        return self.remote.publish if self.remote else None

    @property
    def remote_secret_key(self) -> Path | None:
        return self.remote.server_secret_key if self.remote else None

    @property
    def remote_authorized_keys(self) -> Path | None:
        return self.remote.authorized_keys if self.remote else None

    def session_env(self, requested: Mapping[str, str] | None,
                    extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment a new session starts from: the one its spawn sent, or the daemon's
        own plus [env.default] when it sent none; then the spawn's `extra_env`; [env.set] over
        all. (ptyd then scrubs multiplexer variables and sets TERM, PTYD_SESSION and PTYD_DIR.)"""
        env = dict(requested) if requested is not None else {**os.environ, **self.env_default}
        env.update(extra or {})
        env.update(self.env_set)
        return env
