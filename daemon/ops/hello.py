"""hello: who the daemon is, which protocol version and features it speaks, its limits."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ptyd.proto import limits, ops, specs

from ..session import MAX_PENDING_INPUT_BYTES
from ..version import installed_version

if TYPE_CHECKING:
    from ..context import Context

FEATURES = ("sync-subscribe", "events-catch-up", "req-delimiter", "viewers", "agent-state",
            "claude-hooks", "stderr-pipe", "timeouts", "upgrade", "crash-survival",
            "remote-curve", "process-containment", "agent-turns", "agent-trust",
            "memory-budgets", "generic-agent", "pause-resume", "notify", "worktree-setup",
            "input-ack")


def handle(d: Context, msg: ops.Hello, peer: bytes) -> dict[str, Any]:
    config = d.config
    return {
        "protocol": limits.PROTOCOL_VERSION,
        "minor": limits.PROTOCOL_MINOR,
        "version": installed_version(),
        "pid": os.getpid(),
        "boot": d.events.boot,
        "last_seq": d.events.last_seq,
        "started": d.started,
        "ops": sorted(specs.BY_NAME),
        "features": list(FEATURES),
        "endpoints": {"control": d.endpoints.control, "publish": d.endpoints.publish},
        # Clients find a forgotten session's recording here, never by re-reading our files.
        "recording_dir": str(config.recording.dir),
        "limits": {
            "max_request_bytes": limits.MAX_REQUEST_BYTES,
            "max_input_bytes": limits.MAX_INPUT_BYTES,
            "max_read_bytes": limits.MAX_READ_BYTES,
            "max_sessions": config.max_sessions,
            "max_pending_waits": config.max_pending_waits,
            "default_scrollback_bytes": config.scrollback_bytes,
            "max_scrollback_bytes": limits.MAX_SCROLLBACK_BYTES,
            "event_log_len": limits.EVENT_LOG_LEN,
            "publish_hwm": config.publish_hwm,
            "max_pending_input_bytes": MAX_PENDING_INPUT_BYTES,
            "max_name_chars": limits.MAX_NAME_CHARS,
            "max_argv_items": limits.MAX_ARGV_ITEMS,
            "max_env_items": limits.MAX_ENV_ITEMS,
            "max_string_bytes": limits.MAX_STRING_BYTES,
            "max_cols": limits.MAX_COLS,
            "max_rows": limits.MAX_ROWS,
            "max_wait_s": limits.MAX_WAIT_S,
            "max_frame_bytes": limits.MAX_FRAME_BYTES,
            "heartbeat_interval_s": config.heartbeat_interval_s,
            "max_queued_reply_bytes": d.reply_budget.max_total_bytes,
            "max_peer_queued_reply_bytes": d.reply_budget.max_peer_bytes,
            "min_reply_room_bytes": d.reply_budget.min_room_bytes,
            "tracked_reply_bytes": limits.TRACKED_REPLY_BYTES,
            "control_sndhwm": limits.CONTROL_SNDHWM,
            "max_peers": limits.MAX_PEERS,
            "max_total_scrollback": config.max_total_scrollback_bytes,
        },
    }


SERVES = {"hello": (ops.Hello, handle)}
