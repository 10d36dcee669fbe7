"""Error codes of the wire protocol and the exception that carries one.

Codes are stable strings: clients branch on them, people read the message. New codes may be
added (additively); a client treats an unknown code like `internal`.
"""

from __future__ import annotations

import enum
from typing import Any


class ErrorCode(enum.StrEnum):
    BAD_REQUEST = "bad_request"
    """The request could not be decoded or a field has the wrong type, size or range."""
    UNSUPPORTED_VERSION = "unsupported_version"
    """The envelope names a protocol major version this daemon does not speak."""
    UNKNOWN_OP = "unknown_op"
    """The op is not one this daemon knows (check `hello`'s `ops`)."""
    LIMIT_EXCEEDED = "limit_exceeded"
    """A size, count or rate limit was reached; `data` names the limit."""
    NO_SUCH_SESSION = "no_such_session"
    SESSION_EXISTS = "session_exists"
    SESSION_EXITED = "session_exited"
    """The op needs a running session (input, resize, signal) and this one has exited."""
    SESSION_RUNNING = "session_running"
    """The op needs an exited session (remove without force) and this one still runs."""
    RANGE_EVICTED = "range_evicted"
    """The asked offset (or event number) is older than is kept; `data` says what is: `base`
    and `end` for scrollback, `first` and `boot` for events."""
    SPAWN_FAILED = "spawn_failed"
    """The program could not be started (not found, not executable, bad cwd)."""
    READ_ONLY = "read_only"
    """Input from a viewer that attached read-only."""
    SHUTTING_DOWN = "shutting_down"
    """The daemon is stopping and takes no new work."""
    UPGRADE_FAILED = "upgrade_failed"
    """The installed version cannot take over; the running daemon goes on unchanged."""
    GIT_ERROR = "git_error"
    """A `git.*` or `sandbox.*` op (or `spawn` with `repo`) was refused or failed; `data` is
    `{kind, paths}`: which refusal (see ptyd.proto.gitworkspace), and the files concerned."""
    AGENT_DIALOG = "agent_dialog"
    """`input` of text to an agent that waits at a dialog (folder trust, a permission prompt):
    the text would answer the dialog and be lost. `data`: `{session, state_reason,
    state_text}`. Keys still go through; `force` types the text anyway."""
    INTERNAL = "internal"
    """A bug in the daemon: the request failed, the daemon goes on serving."""


class ProtocolError(Exception):
    """An error as it travels on the wire: a stable code, a human message, optional data."""

    def __init__(self, code: ErrorCode | str, message: str, data: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.data = data
        self.request_id: int | None = None  # set when the failing request's id is known

    def to_wire(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": self.data}

    def __repr__(self) -> str:
        return f"ProtocolError({self.code!r}, {self.message!r}, {self.data!r})"


def bad_request(message: str, **data: Any) -> ProtocolError:
    return ProtocolError(ErrorCode.BAD_REQUEST, message, data or None)
