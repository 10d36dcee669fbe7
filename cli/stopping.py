"""`ptyd shutdown` returns once the daemon has stopped, so that the next `ptyd new` starts a
fresh daemon instead of reaching the old one while it ends its sessions ("shutting down").
`ptyd upgrade` returns once the successor serves, for the same reason: between its reply and
the re-exec, the old daemon refuses new work with shutting_down."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ptyd.client import TransportError
from ptyd.proto import limits

if TYPE_CHECKING:
    from ptyd.client.lean import LeanClient

STOP_MARGIN_S = 30.0
"""Beyond the kill grace: the daemon reaps the killed sessions, flushes and closes its sockets."""

POLL_INTERVAL_S = 0.05
UPGRADE_WAIT_S = 60.0
"""For the successor to adopt everything: the installed version was already checked before the
reply, so this is an exec and a handover (milliseconds), with room for a loaded machine."""


def wait_stopped(c: LeanClient, grace: float | None, local: bool) -> bool:
    """Whether the daemon stopped within its grace plus STOP_MARGIN_S.

    A local daemon has stopped when its lock on <dir>/daemon.lock is gone (the kernel drops it
    when the process ends), or its process is (a new daemon, autostarted meanwhile by another
    client, holds the lock). A remote one, when it no longer answers `hello` (a stopping daemon
    still does)."""
    from ptyd.client.rundir import daemon_running

    deadline = time.monotonic() + (grace if grace is not None else limits.DEFAULT_KILL_GRACE_S) \
        + STOP_MARGIN_S
    pid = c.server.get("pid")
    while time.monotonic() < deadline:
        if local:
            if not daemon_running(c.dir) or (isinstance(pid, int) and not _alive(pid)):
                return True
        else:
            try:
                c.request("hello", {"client": "ptyd-cli shutdown"}, timeout=1.0)
            except TransportError:
                return True
        time.sleep(POLL_INTERVAL_S)
    return False


def _alive(pid: int) -> bool:
    """Whether process `pid` exists and has not ended (a zombie has ended: it only waits to be
    reaped). Linux's /proc, as everywhere in ptyd."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def wait_upgraded(c: LeanClient, since: int, local: bool,
                  reconnect: Callable[[], LeanClient]) -> dict[str, Any] | None:
    """The successor's `daemon.upgraded` event (it serves from then on), the daemon's
    `daemon.upgrade_failed` (the exec failed: the old daemon goes on), or None if neither came
    within UPGRADE_WAIT_S.

    `since`: the last event number before the upgrade request. Neither the pid (the daemon
    re-executes in place) nor `boot` and `started` (carried across) tell the successor from
    its predecessor; only the successor emits this event. `events` is read-only, so the old
    daemon answers it until it re-executes. A local client then sends it again to the successor
    by itself (the lock, held throughout, tells an upgrade from a death); over TCP there is no
    lock to look at and the connection ends for good, so a new one (`reconnect`) is made."""
    from ptyd.client import AuthenticationFailed, TransportError, UnsafeRuntimeDir

    deadline = time.monotonic() + UPGRADE_WAIT_S
    client: LeanClient | None = c
    try:
        while time.monotonic() < deadline:
            try:
                if client is None:
                    client = reconnect()
                for event in client.events(since)["events"]:
                    if event.get("type") in ("daemon.upgraded", "daemon.upgrade_failed"):
                        return dict(event)
                    since = max(since, int(event.get("seq", since)))
            except TransportError as e:
                if local or isinstance(e, (AuthenticationFailed, UnsafeRuntimeDir)):
                    raise  # locally: the daemon died, no successor to wait for
                if client is not None and client is not c:
                    client.close()
                client = None
            time.sleep(POLL_INTERVAL_S)
        return None
    finally:
        if client is not None and client is not c:
            client.close()
