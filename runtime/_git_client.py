"""The daemon connection under BranchManager and WorkspaceManager, and the error translation.

The managers are clients of the daemon: its `git.*` and `sandbox.*` ops do the work (see
daemon/git). Managers given no `client` share one `ptyd.client.Client` per daemon directory and
process (a Client is a thread and a ZeroMQ context: one per manager would add up, and the Client
is thread-safe), started on first use, autostarting the daemon if none runs, closed at exit.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from ptyd.client import Client, DaemonNotRunning, RemoteError
from ptyd.proto.errors import ErrorCode
from ptyd.proto.gitworkspace import error_from_wire
from ptyd.proto.paths import runtime_dir

StrPath = str | os.PathLike[str]

GIT_REQUEST_TIMEOUT_S = 600.0
"""How long a git request may take, queueing in the daemon included: a push over a slow network
may take minutes (the daemon bounds a silent server itself)."""

_SHARED: dict[Path, Client] = {}
_shared_pid = os.getpid()
_SHARED_LOCK = threading.Lock()


def connect(client: Client | None, daemon_dir: StrPath | None) -> Client:
    """`client` if given, else this process's shared client of the daemon in `daemon_dir`
    (default: the user's daemon, as `ptyd.client.Client()` finds it, e.g. through $PTYD_DIR)."""
    if client is not None:
        return client
    global _shared_pid
    # Resolved now, as Client would: $PTYD_DIR may differ from one call to the next.
    key = runtime_dir(os.environ, os.getuid(), tempfile.gettempdir(), daemon_dir).absolute()
    with _SHARED_LOCK:
        if _shared_pid != os.getpid():  # forked: the parent's client threads are not ours
            _SHARED.clear()
            _shared_pid = os.getpid()
        shared = _SHARED.get(key)
        if shared is None:
            shared = _SHARED[key] = Client(key, autostart=True, client_name="ptyd-runtime-git")
        return shared


def request(client: Client, op: str, params: dict[str, Any]) -> dict[str, Any]:
    """One git request; a `git_error` reply raises its GitWorkspaceError subclass."""
    try:
        return client.request(op, params, timeout=GIT_REQUEST_TIMEOUT_S)
    except RemoteError as e:
        if e.code == ErrorCode.GIT_ERROR:
            raise error_from_wire(e.message, e.data) from None
        raise
    except DaemonNotRunning:
        _forget(client)  # the daemon went away: the next request connects (and starts) anew
        raise


def absolute(path: StrPath) -> str:
    """A path as the daemon needs it: absolute (its working directory is not ours)."""
    return os.path.abspath(path)


def _forget(client: Client) -> None:
    with _SHARED_LOCK:
        for key, shared in list(_SHARED.items()):
            if shared is client:
                del _SHARED[key]
                threading.Thread(target=client.close, daemon=True).start()


@atexit.register
def _close_shared() -> None:
    with _SHARED_LOCK:
        if _shared_pid == os.getpid():
            for shared in _SHARED.values():
                shared.close()
        _SHARED.clear()
