"""ptyd.client: drive ptyd daemons from Python, asynchronously or blocking.

    from ptyd.client import Client
    with Client(autostart=True) as c:
        s = c.spawn(["bash"], name="a1")       # a Session handle (also the session's info)
        s.send_line("echo hi")
        s.expect("hi")                          # escape sequences removed before matching
        print(s.screen())                       # what a person sees, row by row

It never imports the daemon; it shares only `ptyd.proto` with it.
"""

from ._async_client import AsyncClient
from ._curve import CurveKeys
from ._exceptions import (
    EOF,
    TIMEOUT,
    AgentDialog,
    AuthenticationFailed,
    BadRequest,
    ClientClosed,
    ConnectionInterrupted,
    DaemonNotRunning,
    ExpectError,
    ExpectTimeout,
    InternalError,
    LimitExceeded,
    NoSuchSession,
    ProtocolError,
    PtydError,
    RangeEvicted,
    ReadOnly,
    RemoteError,
    SessionExists,
    SessionExited,
    SessionRunning,
    ShuttingDown,
    SpawnFailed,
    Timeout,
    TransportError,
    UnknownOp,
    UnsafeRuntimeDir,
    UnsupportedVersion,
)
from ._expect import ExpectMatch
from ._screen import ScreenState
from ._session import AsyncSession, Session
from ._stream import Lost
from ._sync_client import Client
from ._text import LineCooker, TextStripper, strip_ansi

__all__ = [
    "EOF",
    "TIMEOUT",
    "AgentDialog",
    "AsyncClient",
    "AsyncSession",
    "AuthenticationFailed",
    "BadRequest",
    "Client",
    "ClientClosed",
    "ConnectionInterrupted",
    "CurveKeys",
    "DaemonNotRunning",
    "ExpectError",
    "ExpectMatch",
    "ExpectTimeout",
    "InternalError",
    "LimitExceeded",
    "LineCooker",
    "Lost",
    "NoSuchSession",
    "ProtocolError",
    "PtydError",
    "RangeEvicted",
    "ReadOnly",
    "RemoteError",
    "ScreenState",
    "Session",
    "SessionExists",
    "SessionExited",
    "SessionRunning",
    "ShuttingDown",
    "SpawnFailed",
    "TextStripper",
    "Timeout",
    "TransportError",
    "UnknownOp",
    "UnsafeRuntimeDir",
    "UnsupportedVersion",
    "strip_ansi",
]
