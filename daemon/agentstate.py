"""Agent state: is the program working, waiting for a person, or idle at its prompt?

For Claude Code the state comes from its own hooks (exact, not guessed): the daemon gives each
such session a settings file whose hook commands run `ptyd hook`, which reports the event here.
For any other program the fallback is output silence: `working` while it prints, `idle` once it
has been quiet for `idle_after` seconds.
"""

from __future__ import annotations

from typing import Any

STARTING, WORKING, WAITING, IDLE, EXITED = "starting", "working", "waiting", "idle", "exited"
DEFAULT_IDLE_AFTER_S = 2.0

# Hook event -> state it means. Notification depends on its type (see state_for_hook).
_HOOK_STATES = {
    "SessionStart": IDLE,          # at its prompt, nothing asked yet
    "UserPromptSubmit": WORKING,
    "PreToolUse": WORKING,
    "PostToolUse": WORKING,        # e.g. a permission was granted and the tool ran
    "PermissionRequest": WAITING,
    "Stop": IDLE,                  # the turn is over
    "StopFailure": IDLE,           # the turn ended with an API error (e.g. not logged in)
}


def state_for_hook(event: str, payload: dict[str, Any]) -> str | None:
    """The state a hook event puts the agent in, or None for no change."""
    if event == "Notification":
        kind = str(payload.get("notification_type") or "")
        message = str(payload.get("message") or "").lower()
        if kind == "permission_prompt" or (not kind and "permission" in message):
            return WAITING
        if kind == "idle_prompt" or (not kind and "waiting for your input" in message):
            return IDLE
        return None
    return _HOOK_STATES.get(event)
