"""ptyd.client: drive ptyd daemons from Python, asynchronously or blocking.

    from ptyd.client import Client
    with Client(autostart=True) as c:
        s = c.spawn(["bash"], name="a1")       # a Session handle (also the session's info)
        s.send_line("echo hi")
        s.expect("hi")                          # escape sequences removed before matching
        print(s.screen())                       # what a person sees, row by row

It never imports the daemon; it shares only `ptyd.proto` with it.
"""

# Names are imported on first use (PEP 562), so `from ptyd.client import Client` costs no
# asyncio and no pyte: the blocking Client needs neither until a session handle is asked for,
# and a one-request command (`ptyd ls`) starts at close to Python's own speed.
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "AsyncClient": "._async_client", "CurveKeys": "._curve", "ExpectMatch": "._expect",
    "AsyncSession": "._session", "Session": "._session", "ScreenState": "._screen", "Lost": "._items",
    "Client": "._sync_client", "LineCooker": "._text", "TextStripper": "._text",
    "strip_ansi": "._text",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES.get(name, "._exceptions"), __name__), name)
    globals()[name] = value
    return value
