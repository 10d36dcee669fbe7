"""Agent state: is the program working, waiting for a decision, idle at its prompt, or failed?

The state machine of every session, in one place (docs/protocol.md §7.19 has the same table;
the moves are made by lifecycle.set_state, agentdriver.py and ops/hook.py, under `allowed`):

| state      | entered on                                                        | left on |
|------------|-------------------------------------------------------------------|---------|
| `starting` | spawn                                                             | anything below |
| `working`  | hook UserPromptSubmit (a new turn), PreToolUse, PostToolUse; no hooks: output, or input with a line end (a new turn) | |
| `waiting`  | hook PermissionRequest, Notification permission_prompt / elicitation_dialog; a dialog on screen (trust, permission, bypass, login, mcp, dialog) | a hook; the dialog gone from the screen: back to the state before it |
| `idle`     | hook SessionStart, Stop, Notification idle_prompt; no hooks: quiet for idle_after | |
| `error`    | hook StopFailure; an agent that exits 1..127 by itself before its first turn | only a new turn (UserPromptSubmit) or the exit |
| `exited`   | the program exited and its output is drained                      | never |

For Claude Code the state comes from its own hooks (exact, not guessed): the daemon gives each
such session a settings file whose hook commands run `ptyd hook`, which reports the event here.
Hooks do not fire while Claude shows a dialog of its own (folder trust, bypass warning, login),
so the screen is looked at as well: see daemon/dialogs.py. For any other program the fallback is
output silence.

A *turn* is one prompt and the work it causes: it starts at UserPromptSubmit (Claude), or, for a
program without hooks, at an `input` holding a line end (CR or LF). `turn` counts them from 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

STARTING, WORKING, WAITING, IDLE, ERROR, EXITED = (
    "starting", "working", "waiting", "idle", "error", "exited")
DEFAULT_IDLE_AFTER_S = 2.0

DIALOG_REASONS = frozenset({"trust", "permission", "bypass", "login", "mcp", "dialog"})
"""`state_reason`s of `waiting` that mean a choice on screen: text typed there would answer it
(and be lost), so `input` refuses text then (keys pass). Not `elicitation`: a form that asks
for text."""

MAX_TEXT_CHARS = 300
_REASON_RE = re.compile(r"[a-z0-9_]{1,64}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.?)")

AGENT_SESSION_ID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
"""What Claude Code's hooks send as `session_id` (a UUID, 36 characters): the only form
accepted, since it later becomes an argument of `claude --resume`."""


@dataclass(frozen=True, slots=True)
class Change:
    """A state an event puts the agent in: `reason`/`text` become state_reason/state_text."""

    state: str
    reason: str | None = None
    text: str | None = None
    new_turn: bool = False


def clean_text(value: Any, limit: int = MAX_TEXT_CHARS) -> str | None:
    """Text from an agent, safe to show: control characters (escape sequences) become spaces,
    runs of blanks one space, at most `limit` characters."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(_CONTROL_RE.sub(" ", _ANSI_RE.sub("", value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_reason(payload: dict[str, Any]) -> str:
    """StopFailure's error kind (`authentication_failed`, `rate_limit`, ...): `error` first
    (field names vary across versions), a short lower-case word, else `unknown`."""
    for key in ("error", "error_type", "reason"):
        value = payload.get(key)
        if isinstance(value, dict):
            value = value.get("type")
        if isinstance(value, str):
            word = value.strip().lower().replace("-", "_").replace(" ", "_")
            if _REASON_RE.fullmatch(word):
                return word
    return "unknown"


def for_hook(event: str, payload: dict[str, Any]) -> Change | None:
    """The state a hook event puts the agent in, or None for no change."""
    if event == "SessionStart" or event == "Stop":
        return Change(IDLE)
    if event == "UserPromptSubmit":
        return Change(WORKING, new_turn=True)
    if event in ("PreToolUse", "PostToolUse"):
        return Change(WORKING)
    if event == "PermissionRequest":
        tool = clean_text(payload.get("tool_name"), 64)
        return Change(WAITING, "permission", f"Claude wants to use {tool}" if tool else None)
    if event == "StopFailure":
        text = clean_text(payload.get("last_assistant_message")) or clean_text(
            payload.get("error_details")) or clean_text(payload.get("message"))
        return Change(ERROR, error_reason(payload), text)
    if event == "Notification":
        kind = str(payload.get("notification_type") or "")
        message = clean_text(payload.get("message"))
        lowered = (message or "").lower()
        if kind == "permission_prompt" or (not kind and "permission" in lowered):
            return Change(WAITING, "permission", message)
        if kind == "elicitation_dialog":
            return Change(WAITING, "elicitation", message)
        if kind == "idle_prompt" or (not kind and "waiting for your input" in lowered):
            return Change(IDLE)
    return None


def allowed(current: str, change: Change) -> bool:
    """Whether `change` may apply now: an exited session stays exited; a failed turn stays
    `error` until a new prompt is submitted (a late idle must not hide the failure)."""
    if current == EXITED:
        return False
    if current == ERROR:
        return change.new_turn or change.state in (EXITED, ERROR)
    return True


@dataclass(frozen=True, slots=True)
class WaitFor:
    """What a `wait` waits for: one of `states`, entered in a turn after `after_turn` and by a
    state change numbered after `since_seq` (so a wait right after an input never returns on
    the idle from before it). The exit always ends a wait. An agent with input held for it
    (`held`) is not idle for a wait: that input is about to be typed."""

    states: tuple[str, ...] = (EXITED,)
    after_turn: int | None = None
    since_seq: int | None = None

    def met(self, state: str, turn: int, state_seq: int, held: bool = False) -> bool:
        if state == EXITED:
            return True
        return (state in self.states and not (held and state == IDLE)
                and (self.after_turn is None or turn > self.after_turn)
                and (self.since_seq is None or state_seq > self.since_seq))


_ESCAPE_RE = re.compile(rb"\x1b(?:\[[0-9;:<=>?]*[ -/]*[@-~]|O.|\].*?(?:\x07|\x1b\\)|[@-_])",
                        re.DOTALL)


def is_key(data: bytes) -> bool:
    """Input that is a keypress, not text: only control bytes (Enter, Tab, C-c, Backspace) and
    escape sequences (arrows, function keys), or one single character (a dialog's `1`/`y`).
    Keys answer dialogs and always go through; text is held or refused (see ops/input.py)."""
    if data.startswith(b"\x1b[200~"):
        return False  # a bracketed paste is text, whatever it holds
    rest = _ESCAPE_RE.sub(b"", data)
    printable = bytes(b for b in rest if b >= 0x20 and b != 0x7f)
    return len(printable.decode("utf-8", "replace")) <= 1
