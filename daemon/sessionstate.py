"""Which of a session's fields survive an upgrade or a crash, declared once.

Every field of `session.Session` is in exactly one of three places below, and a test
(tests/daemon/test_sessionstate.py) fails when a new field is in none, so a field added to the
session cannot be silently lost across an upgrade:

- CARRIED: copied as is into the handover state (daemon/handover.py) at `key`, read back with
  the field's default when a predecessor's older state lacks it;
- ENCODED: carried in their own form by handover.py (rings, terminal modes, viewers, ...);
- TRANSIENT: what lives only in this process (timers, futures, queued writes): rebuilt or lost.

The handover layout (the keys) is format 1: an older daemon hands over to a newer one and back,
so keys only ever get added.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Carried:
    attr: str
    """The Session attribute."""
    key: tuple[str, ...] = ()
    """Where it lives in a handover entry (a nested map); () means the attribute's own name."""

    @property
    def path(self) -> tuple[str, ...]:
        return self.key or (self.attr,)


def _in(group: str, **attrs: str) -> tuple[Carried, ...]:
    return tuple(Carried(attr, (group, key)) for attr, key in attrs.items())


CARRIED: tuple[Carried, ...] = (
    *(Carried(a) for a in (
        "name", "argv", "cwd", "env", "pid", "master_fd", "stderr_fd", "cols", "rows", "epoch",
        "created", "started_mono", "ended_mono", "exited_at", "reaped", "eof", "finished",
        "state", "state_since", "agent", "agent_session_id", "idle_after", "stop_reason",
        "size_policy", "stderr_mode", "resumed_from")),
    *_in("agent_state", state_reason="reason", state_text="text", turn="turn",
         state_seq="seq", state_before_dialog="before_dialog",
         dialog_on_screen="dialog_on_screen"),
    *_in("containment", cgroup="cgroup", keep_processes="keep_processes"),
    *_in("git", repo="repo", branch="branch", integration="integration",
         sandbox_dir="sandbox_dir", dirty="dirty", dirty_at="dirty_at"),
    *_in("worktree", setup_status="setup_status"),  # a setup's outcome is read at the exit
    *_in("pause", spawn_params="request", paused="paused"),  # `resume` after an upgrade too
)

ENCODED: frozenset[str] = frozenset({
    "exit_status",  # [code, signal] at "exit"
    "scrollback", "stderr_ring",  # {capacity, base, data}
    "term",  # the terminal modes a viewer's replay needs
    "viewers",  # by id: the peer identity is new after reconnecting
    "held_input", "held_input_bytes",  # agent_state.held; the byte count follows from it
    "timeout_at",  # monotonic here: carried as Unix time (upgrade.snapshot)
})

TRANSIENT: frozenset[str] = frozenset({
    "waiters",  # futures of `wait` requests: their clients ask again
    "timers", "kill_timer", "screen_timer_armed", "idle_timer_armed", "release_armed",
    "last_output_mono", "output_at_hook",  # rearmed by the next output
    "pending_input", "pending_input_bytes",  # input not yet written: lost, as on a crash
    "submitted_at",  # a released prompt's turn awaited: a few seconds, not worth carrying
    "foreign",  # set by whoever adopts after a crash
    "holds",  # the daemon's callback, set when the session is added
    "notify",  # the spawn's own notify rules: parsed again from the carried spawn_params
})
