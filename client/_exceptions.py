"""Exceptions raised by the ptyd client library.

    PtydError
    ├── ProtocolError          a malformed or unexpected message on the wire
    ├── RemoteError            the daemon answered with an error (one subclass per code)
    │   ├── BadRequest
    │   ├── UnsupportedVersion
    │   ├── UnknownOp
    │   ├── LimitExceeded
    │   ├── NoSuchSession
    │   ├── SessionExists
    │   ├── SessionExited
    │   ├── SessionRunning
    │   ├── RangeEvicted
    │   ├── SpawnFailed
    │   ├── ReadOnly
    │   ├── ShuttingDown
    │   ├── AgentDialog
    │   └── InternalError
    ├── TransportError         the daemon could not be reached
    │   ├── DaemonNotRunning
    │   ├── ConnectionInterrupted   the daemon re-executed itself with a change in flight
    │   ├── AuthenticationFailed    a remote daemon refused our CURVE key
    │   ├── ClientClosed            the (blocking) Client was closed before or during the call
    │   ├── UnsafeRuntimeDir        the runtime directory is not ours alone: nothing was sent
    │   └── Timeout
    └── ExpectError            expect() or wait_until_quiet() ended without what was asked
        ├── EOF                the output ended (the session exited) first
        └── ExpectTimeout      (also TIMEOUT) the timeout passed first

EOF and TIMEOUT double as the special patterns of expect(), as in pexpect: put them in the
pattern list to have expect() return their index instead of raising.
"""

from __future__ import annotations

from typing import Any

from ptyd.proto.errors import ErrorCode


class PtydError(Exception):
    """Base of every error this library raises."""


class ProtocolError(PtydError):
    """A message from the daemon could not be understood."""


class RemoteError(PtydError):
    """The daemon refused a request; `code`, `message` and `data` are as sent."""

    code: str = ""

    def __init__(self, message: str, data: dict[str, Any] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.data = data or {}
        if code is not None:
            self.code = code


class BadRequest(RemoteError):
    """A parameter had the wrong type, size or range."""
    code = ErrorCode.BAD_REQUEST


class UnsupportedVersion(RemoteError):
    """The daemon speaks another protocol major version."""
    code = ErrorCode.UNSUPPORTED_VERSION


class UnknownOp(RemoteError):
    """The daemon does not know this operation (it may be older than this library)."""
    code = ErrorCode.UNKNOWN_OP


class LimitExceeded(RemoteError):
    """A size or count limit was reached; `data['limit']` names it."""
    code = ErrorCode.LIMIT_EXCEEDED


class NoSuchSession(RemoteError):
    """No session has that name."""
    code = ErrorCode.NO_SUCH_SESSION


class SessionExists(RemoteError):
    """A session with that name already exists."""
    code = ErrorCode.SESSION_EXISTS


class SessionExited(RemoteError):
    """The session has exited; the operation needs a running one."""
    code = ErrorCode.SESSION_EXITED


class SessionRunning(RemoteError):
    """The session is still running; the operation needs an exited one."""
    code = ErrorCode.SESSION_RUNNING


class RangeEvicted(RemoteError):
    """The asked offset is older than the scrollback holds; `data` has base and end."""
    code = ErrorCode.RANGE_EVICTED


class SpawnFailed(RemoteError):
    """The program could not be started."""
    code = ErrorCode.SPAWN_FAILED


class ReadOnly(RemoteError):
    """Input from a viewer that attached read-only."""
    code = ErrorCode.READ_ONLY


class ShuttingDown(RemoteError):
    """The daemon is stopping."""
    code = ErrorCode.SHUTTING_DOWN


class AgentDialog(RemoteError):
    """Text for an agent that waits at a dialog (folder trust, a permission prompt): it would
    answer the dialog and be lost. `data` says which (`state_reason`, `state_text`); answer with
    keys, or send the text with `force=True`."""
    code = ErrorCode.AGENT_DIALOG


class InternalError(RemoteError):
    """The daemon failed internally (its log says more); it goes on serving."""
    code = ErrorCode.INTERNAL


class TransportError(PtydError):
    """The daemon could not be reached or stopped answering."""


class DaemonNotRunning(TransportError):
    """No daemon listens on the runtime directory, or it went away."""


class AuthenticationFailed(TransportError):
    """A remote daemon refused us (CURVE): unknown or wrong key, or no CURVE at all."""


class UnsafeRuntimeDir(TransportError):
    """The runtime directory (or a socket or file in it) is a symlink, someone else's, or open
    to group or others: its daemon may be a stranger's, so nothing was sent to it."""


class ConnectionInterrupted(TransportError):
    """The daemon restarted in place (ptyd upgrade) while a request that changes something was
    in flight: it may or may not have been applied. Requests that change nothing are resent."""


class ClientClosed(TransportError):
    """The blocking Client was closed before the call, or while it was in flight."""


class Timeout(TransportError):
    """No reply came within the timeout."""


class ExpectError(PtydError):
    """expect() (or wait_until_quiet()) ended without what was asked; `before` is the text
    received and not consumed by an earlier match, as expect() would have returned it."""

    def __init__(self, message: str, before: str = ""):
        super().__init__(message)
        self.before = before


class EOF(ExpectError):
    """The session's output ended (it exited) before any pattern matched."""


class ExpectTimeout(ExpectError):
    """No pattern matched within the timeout (the session is still running)."""


TIMEOUT = ExpectTimeout
r"""pexpect's name for the timeout pattern: `session.expect([r"\$ ", EOF, TIMEOUT])`."""


_BY_CODE: dict[str, type[RemoteError]] = {
    cls.code: cls
    for cls in (BadRequest, UnsupportedVersion, UnknownOp, LimitExceeded, NoSuchSession,
                SessionExists, SessionExited, SessionRunning, RangeEvicted, SpawnFailed,
                ReadOnly, ShuttingDown, AgentDialog, InternalError)
}


def remote_error(code: str, message: str, data: dict[str, Any] | None) -> RemoteError:
    """The exception for an error reply; an unknown (newer) code becomes a plain RemoteError."""
    cls = _BY_CODE.get(code, RemoteError)
    return cls(message, data, code=code)
