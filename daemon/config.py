"""The daemon's settings, with the defaults a new user gets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ptyd.proto import limits


@dataclass
class DaemonConfig:
    runtime_dir: Path
    scrollback_bytes: int = limits.DEFAULT_SCROLLBACK_BYTES
    max_sessions: int = limits.MAX_SESSIONS
    max_pending_waits: int = limits.MAX_PENDING_WAITS
    kill_grace_s: float = limits.DEFAULT_KILL_GRACE_S
    publish_hwm: int = 1000
    """Messages queued per subscriber before the daemon drops for that subscriber (it then
    sees a gap in offsets and fills it with `read`). A fast producer's chunks are ~16 kB."""
    heartbeat_interval_s: float = limits.HEARTBEAT_INTERVAL_S
    log_level: str = "info"
