"""Connecting to a daemon: the rules the three transports share, written once.

Wire (blocking pyzmq), LeanClient (pure-Python ZMTP, for one-request CLI verbs) and AsyncClient
(asyncio) differ only in how bytes move. Where the daemon is, what must be checked before
anything is opened, when one is started, how long a daemon just started is waited for, what
the hello says, and which exception each failure is: those are decided here, so a fix to any
of them lands in all three. Pure of transports: no pyzmq, no asyncio (`ptyd ls` imports this).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ptyd.proto.errors import ProtocolError as WireError
from ptyd.proto.paths import Endpoints

from ._daemon_dir import (
    check_runtime_dir,
    check_sockets,
    daemon_running,
    log_tail,
    resolve_dir,
    start_daemon,
)
from ._exceptions import (
    ConnectionInterrupted,
    DaemonNotRunning,
    ProtocolError,
    PtydError,
    Timeout,
    remote_error,
)
from ._rules import AUTOSTART_TIMEOUT_S

if TYPE_CHECKING:
    import subprocess

    from ptyd.proto.envelope import Reply

NEW_DAEMON_HELLO_TIMEOUT_S = 0.25
"""Per attempt, while a daemon this client started is still coming up."""


def locate(dir: str | os.PathLike[str] | None, endpoints: Endpoints | None
           ) -> tuple[Path, Endpoints]:
    """The runtime directory (absolute) and the endpoints a client talks to there."""
    directory = resolve_dir(dir)
    return directory, endpoints or Endpoints.in_dir(directory)


def is_local(endpoints: Endpoints) -> bool:
    """A daemon on this machine (ipc), whose runtime directory and lock we can look at."""
    return endpoints.control.startswith("ipc://")


def prepare(directory: Path, endpoints: Endpoints, autostart: bool
            ) -> subprocess.Popen[bytes] | None:
    """Everything before the first byte is sent: check the directory, find the daemon, start
    one if asked. Returns the daemon just started (say hello through `NewDaemon`), or None
    when one already runs or the daemon is remote (nothing here to check or start)."""
    if not is_local(endpoints):
        return None
    # Before anything is opened, created or sent: the directory (and its sockets) must be
    # ours alone, or the daemon there may be a stranger's (UnsafeRuntimeDir).
    if check_runtime_dir(directory):
        check_sockets(endpoints)
    if daemon_running(directory):
        return None
    if not autostart:
        raise DaemonNotRunning(f"no ptyd daemon is running on {directory} "
                               "(ptyd new starts one, ptyd serve runs one)")
    return start_daemon(directory)  # creates the directory 0700 or checks it again


def hello_params(client_name: str) -> dict[str, Any]:
    return {"client": client_name}


class NewDaemon:
    """A daemon this client started, until it answers hello. Each transport says hello in its
    own way (with NEW_DAEMON_HELLO_TIMEOUT_S); after each failed try it asks `failure()`, which
    is the error to raise once waiting more is pointless (why, with the end of the daemon's
    log), None while the daemon may still come."""

    def __init__(self, directory: Path, process: subprocess.Popen[bytes]):
        self.directory = directory
        self.process = process
        self.deadline = time.monotonic() + AUTOSTART_TIMEOUT_S

    def failure(self) -> PtydError | None:
        if self.process.poll() is not None and not daemon_running(self.directory):
            return DaemonNotRunning("the daemon failed to start (exit code "
                                    f"{self.process.returncode}):\n{log_tail(self.directory)}")
        if time.monotonic() > self.deadline:
            return Timeout(f"the daemon started on {self.directory} did not answer within "
                           f"{AUTOSTART_TIMEOUT_S:g}s:\n{log_tail(self.directory)}")
        return None


# -- which exception for which failure ---------------------------------------------------------

def no_reply(directory: Path, endpoints: Endpoints, op: str, limit: float) -> PtydError:
    """A request's reply did not come in time: a local daemon that is gone says so at once
    (DaemonNotRunning), anything else is a Timeout."""
    if is_local(endpoints) and not daemon_running(directory):
        return DaemonNotRunning(f"the ptyd daemon on {directory} is not running")
    return Timeout(f"no reply to {op!r} within {limit:g}s")


def interrupted(op: str) -> PtydError:
    """A request in flight when the daemon re-executed itself, not safe to send again."""
    return ConnectionInterrupted(f"the daemon restarted while {op!r} was in flight; it may or "
                                 "may not have been applied")


def lost(directory: Path, endpoints: Endpoints) -> str:
    """Why every later request fails: the daemon went away (locally: not an upgrade). A remote
    daemon is named by its address: the local runtime directory means nothing there."""
    if is_local(endpoints):
        return f"lost the connection to the ptyd daemon on {directory}"
    return f"lost the connection to the ptyd daemon at {endpoints.control}"


def undecodable(error: WireError) -> PtydError:
    return ProtocolError(f"undecodable reply from the daemon: {error}")


def reply_error(reply: Reply) -> PtydError | None:
    """The RemoteError subclass an error reply stands for (None for a result)."""
    if reply.error is None:
        return None
    return remote_error(reply.error.code, reply.error.message, reply.error.data)
