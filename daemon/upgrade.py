"""Upgrade or restart in place: the daemon re-executes itself and its successor adopts everything.

Agents notice nothing: they stay children of the same process id, keep their terminals (the PTY
masters survive exec), and at most see their writes wait for the few milliseconds the daemon is
not reading. Viewers and subscribers see their connection drop and come back (ZeroMQ reconnects
and re-subscribes by itself); offsets and epochs hold, so they resume without gap or duplicate.

Before anything is torn down, the installed version is checked in a separate process: if it
cannot be imported or cannot read this daemon's handover format, the upgrade is refused and the
running daemon goes on.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

from . import agentdriver, handover
from .agentstate import IDLE
from .logs import log

if TYPE_CHECKING:
    from .server import Daemon

PRECHECK = ("import ptyd.daemon.server, ptyd.daemon.handover as h; "
            "print(h.FORMAT)")
PRECHECK_TIMEOUT_S = 30.0
VIEWER_RETURN_S = 10.0
"""A viewer carried over must re-subscribe within this long, else it is dropped."""


async def precheck(d: Daemon, python: str) -> str | None:
    """None if the installed version can take over; otherwise why not."""
    if not os.access(python, os.X_OK):
        return f"{python} is not an executable interpreter"
    code, output = await d.run_helper([python, "-c", PRECHECK], PRECHECK_TIMEOUT_S)
    if code != 0:
        return f"the installed ptyd cannot start: {output.strip()[-400:]}"
    if output.strip() != str(handover.FORMAT):
        return (f"the installed ptyd reads handover format {output.strip()!r}, this daemon "
                f"writes {handover.FORMAT}: restart the daemon instead")
    return None


def snapshot(d: Daemon) -> dict[str, Any]:
    now = time.monotonic()
    sessions = []
    for s in d.sessions.values():
        timeout_at = s.timeout_at - now + time.time() if s.timeout_at is not None else None
        entry = handover.session_state(s, timeout_at)
        recording = d.recordings.handover(s)
        if recording is not None:  # the file goes on in the successor, fd and all
            entry["recording"] = recording
        if s.kill_timer is not None:  # within its grace: the successor SIGKILLs on time
            entry["containment"]["kill_at"] = s.kill_timer.when() - now + time.time()
        sessions.append(entry)
    return {
        "boot": d.events.boot, "next_seq": d.events.next_seq,
        "events": d.events.since(d.events.first_seq, 1 << 30), "started": d.started,
        "lock_fd": d.lock.fd, "inherited": d.inherited, "sessions": sessions,
        "exec_mono": now, "argv": sys.argv,
    }


def exec_successor(d: Daemon, python: str) -> None:
    """Write the snapshot, keep what must survive open across exec, and exec. No return."""
    state = snapshot(d)
    path = d.config.runtime_dir / handover.STATE_FILE
    handover.write(path, state)
    keep = [d.lock.fd, *d.inherited.values()]
    for s in d.sessions.values():
        keep += [fd for fd in (s.master_fd, s.stderr_fd) if fd >= 0]
    keep += [entry["recording"]["fd"] for entry in state["sessions"] if "recording" in entry]
    for fd in keep:
        os.set_inheritable(fd, True)
    d.close_sockets()
    argv = [python, "-m", "ptyd", *_serve_args(), "--adopt", str(path)]
    log.info("upgrade: exec %s", argv)
    os.execv(python, argv)


def _serve_args() -> list[str]:
    """The command line this daemon was started with, without a previous --adopt."""
    args = list(sys.argv[1:])
    if "--adopt" in args:
        i = args.index("--adopt")
        del args[i:i + 2]
    return args


def adopt(d: Daemon, state: dict[str, Any]) -> int:
    """Take over the sessions of the predecessor; returns how many."""
    d.events.boot = state["boot"]
    d.events.next_seq = state["next_seq"]
    for event in state["events"]:
        d.events.restore(event)
    d.started = state["started"]
    loop = asyncio.get_running_loop()
    now_wall, now = time.time(), time.monotonic()
    for entry in state["sessions"]:
        session = handover.restore_session(entry)
        d.adopt_session(session)
        if entry.get("recording") is not None:
            d.recordings.adopt(session, entry["recording"])
        if entry["timeout_at"] is not None and session.running:
            d.schedule_timeout(session, max(0.0, entry["timeout_at"] - now_wall))
        kill_at = (entry.get("containment") or {}).get("kill_at")
        if kill_at is not None:
            d.terminate(session, signal.SIGTERM, max(0.0, kill_at - now_wall))
        if session.state == IDLE and session.running:
            agentdriver.schedule_release(d, session)  # input held for an agent gone idle
        for viewer in session.viewers.values():
            d.adopt_viewer(viewer)
            loop.call_later(VIEWER_RETURN_S, d.drop_viewer_unless_subscribed, viewer.id)
    pause_ms = (now - state["exec_mono"]) * 1000
    log.info("upgrade: adopted %d session(s) after a %.1f ms pause", len(state["sessions"]),
             pause_ms)
    d.emit("daemon.upgraded", pid=os.getpid(), pause_ms=round(pause_ms, 1),
           sessions=len(state["sessions"]))
    return len(state["sessions"])
