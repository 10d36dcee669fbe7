"""What the daemon does for an agent session (`agent: "claude"`) beyond a plain terminal: the
state from hooks and from the screen, input held until the agent can take it, and failures.

Functions of the daemon (its narrow face: context.AgentHost), on its loop; the state machine itself is
daemon/agentstate.py, the screen reading daemon/dialogs.py.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ptyd.proto.keys import PASTE_GAP_S

from . import agentkinds, dialogs
from .agentstate import (
    DIALOG_REASONS,
    ERROR,
    IDLE,
    STARTING,
    WAITING,
    WORKING,
    Change,
    allowed,
)
from .logs import log
from .session import SUBMIT_GRACE_S

if TYPE_CHECKING:
    from .context import AgentHost
    from .session import Session

SCREEN_QUIET_S = 0.3
"""An agent session quiet this long has its screen read for a dialog: a dialog is drawn once and
then waits, while a working agent's spinner keeps the output going."""

RELEASE_AFTER_S = 0.2
"""Held input is typed this long after the agent became idle: Claude may report SessionStart
before its prompt is drawn, and keys typed before that are lost."""


def apply(d: AgentHost, session: Session, change: Change, why: str,
          from_screen: bool = False) -> None:
    """Move the agent to `change` if the state machine allows it."""
    if not from_screen:
        session.output_at_hook = session.scrollback.end
    if not allowed(session.state, change):
        return
    if (change.state, change.reason) == (session.state, session.state_reason) \
            and not change.new_turn:
        return  # the same dialog told again (hook and screen): its first words stay
    if change.state == WAITING and session.state != WAITING:
        session.state_before_dialog = session.state
    d.set_state(session, change.state, why, change.reason, change.text, change.new_turn)
    session.dialog_on_screen = False


def on_output(d: AgentHost, session: Session) -> None:
    """Output from an agent: read its screen once it goes quiet (one timer at most)."""
    session.last_output_mono = time.monotonic()
    if not session.screen_timer_armed:
        session.screen_timer_armed = True
        d.loop.call_later(SCREEN_QUIET_S, _check_quiet, d, session)


def _check_quiet(d: AgentHost, session: Session) -> None:
    quiet = time.monotonic() - session.last_output_mono
    if session.finished:
        session.screen_timer_armed = False
    elif quiet >= SCREEN_QUIET_S:
        session.screen_timer_armed = False
        check_screen(d, session)
    else:
        d.loop.call_later(SCREEN_QUIET_S - quiet, _check_quiet, d, session)


def read_screen(session: Session) -> list[str]:
    ring = session.scrollback
    start = session.term.replay_start(ring.base, ring.end, dialogs.TAIL_BYTES)
    fresh = start in (0, session.term.last_clear, session.term.alt_screen_since)
    return dialogs.screen_lines(ring.read(start, ring.end - start), session.cols, session.rows,
                                from_bottom=not fresh)


def check_screen(d: AgentHost, session: Session) -> None:
    """A dialog at the bottom of the screen means `waiting` (with which one); a dialog seen
    there before and gone now means back to the state before it."""
    if session.finished:
        return
    started = time.monotonic()
    kind = agentkinds.kind(session.agent)
    found = kind.find_dialog(read_screen(session)) if kind is not None else None
    log.debug("session=%s screen read in %.1f ms: %s", session.name,
              (time.monotonic() - started) * 1000, found)
    if found is not None:
        if session.output_at_hook == session.scrollback.end:
            return  # a hook spoke after this screen was drawn: it knows better
        reason, question = found
        apply(d, session, Change(WAITING, reason, question), f"dialog on screen: {reason}",
              from_screen=True)
        session.dialog_on_screen = session.state == WAITING
    elif session.dialog_on_screen and session.state == WAITING:
        session.dialog_on_screen = False
        back = session.state_before_dialog or STARTING
        d.set_state(session, back, "dialog answered")
        if back == IDLE:
            schedule_release(d, session)


def at_dialog(session: Session) -> bool:
    return session.state == WAITING and session.state_reason in DIALOG_REASONS


def holds_input(session: Session, key: bool) -> bool:
    """Text for an agent that cannot take it yet is held while it starts; anything behind
    input held before is held too (order is kept). A key with nothing held before it goes
    through: it answers what is on screen (a dialog the daemon has not read yet)."""
    if session.agent is None or at_dialog(session):
        return False
    return bool(session.held_input) or (session.state == STARTING and not key)


def hold(session: Session, data: bytes) -> None:
    session.held_input.append(data)
    session.held_input_bytes += len(data)


def schedule_release(d: AgentHost, session: Session) -> None:
    if session.held_input and not session.release_armed:
        session.release_armed = True
        session.timers.append(d.loop.call_later(RELEASE_AFTER_S, _release, d, session))


def _release(d: AgentHost, session: Session, mid_line: bool = False) -> None:
    """Type the held input, one request at a time, PASTE_GAP_S apart (text and Enter in one
    read are taken as a paste by Claude Code and the Enter is lost). A line is typed whole:
    the rest of it (`mid_line`: the Enter of a `send_line`) follows though the agent is
    `working` (the text's echo makes one read by silence so), never into a dialog; the next
    line waits for idle."""
    session.release_armed = False
    if session.finished or not session.held_input:
        return
    if session.state not in ((IDLE, ERROR, WORKING) if mid_line else (IDLE, ERROR)):
        return  # never into a dialog: an Enter there would answer it
    data = session.held_input.pop(0)
    session.held_input_bytes -= len(data)
    log.info("session=%s typing %d held bytes", session.name, len(data))
    d.write_input(session, data)
    ends_line = b"\r" in data or b"\n" in data
    if ends_line and agentkinds.by_silence(session.agent):
        # A line typed from the hold is a new turn, as one typed directly (ops/input.py).
        d.set_state(session, WORKING, "held input typed", new_turn=True)
        d.note_activity(session, output=False)
    elif ends_line and not session.held_input:
        # A prompt submitted: its turn starts when the agent's hook says so. Until then (or
        # SUBMIT_GRACE_S) a wait for idle must not take the idle before it.
        session.submitted_at = time.monotonic()
        session.timers.append(d.loop.call_later(SUBMIT_GRACE_S, d.resolve_waiters, session))
    if session.held_input:
        session.release_armed = True
        session.timers.append(d.loop.call_later(PASTE_GAP_S * 2, _release, d, session,
                                                not ends_line))


def on_exit(d: AgentHost, session: Session) -> None:
    """An agent that exits non-zero (1..127) by itself before its first turn failed to start
    (offline onboarding, a bad flag, a refused resume): that is an `error`, with the last words
    on its screen. Killed (by a signal, or exiting 128+N after one) it did not fail."""
    status = session.exit_status
    if session.agent is None or session.turn > 0 or status is None or status.code is None:
        return
    if not 0 < status.code < 128 or session.stop_reason is not None or d.stopping:
        return  # 128+N: it was told to stop (a signal), as by a kill, a timeout, a shutdown
    lines = [line.strip() for line in read_screen(session) if line.strip()]
    text = lines[-1][:300] if lines else None
    code = f"exit code {status.code}"
    apply(d, session, Change(ERROR, "startup_failed", f"{code}: {text}" if text else code),
          "exited before its first turn")

