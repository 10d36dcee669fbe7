"""ptyd.client: drive ptyd daemons from Python, asynchronously or blocking.

    from ptyd.client import Client
    with Client(autostart=True) as c:
        c.spawn(["bash"], name="a1")
        c.input("a1", "echo hi\\r")

It never imports the daemon; it shares only `ptyd.proto` with it.
"""

from ._async_client import AsyncClient
from ._exceptions import (
    BadRequest,
    DaemonNotRunning,
    InternalError,
    LimitExceeded,
    NoSuchSession,
    ProtocolError,
    PtydError,
    RangeEvicted,
    RemoteError,
    SessionExists,
    SessionExited,
    SessionRunning,
    ShuttingDown,
    SpawnFailed,
    Timeout,
    TransportError,
    UnknownOp,
    UnsupportedVersion,
)
from ._stream import Lost
from ._sync_client import Client

__all__ = [
    "AsyncClient",
    "BadRequest",
    "Client",
    "DaemonNotRunning",
    "InternalError",
    "LimitExceeded",
    "Lost",
    "NoSuchSession",
    "ProtocolError",
    "PtydError",
    "RangeEvicted",
    "RemoteError",
    "SessionExists",
    "SessionExited",
    "SessionRunning",
    "ShuttingDown",
    "SpawnFailed",
    "Timeout",
    "TransportError",
    "UnknownOp",
    "UnsupportedVersion",
]
