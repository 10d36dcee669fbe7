"""Crash survival: agents outlive a daemon that dies, and its restarted successor takes them back.

Two things make it possible under systemd (or anything speaking its protocols):
- the file descriptor store: each session's PTY master is handed to the service manager
  (`FDSTORE=1`, `FDNAME=pty-<name>`, the fd as SCM_RIGHTS), which passes it back to the next
  daemon as a socket-activation fd of that name;
- a state file (everything but the fds), rewritten at most every SAVE_INTERVAL_S while
  something changed, with each session's last SCROLLBACK_KEPT_BYTES of output.

Output read by the dead daemon after its last save is lost, so an adopted session gets a new
epoch (old offsets no longer hold) and a visible marker line in its scrollback. The agents are
no longer our children (the service manager reaped nothing: with KillMode=process it leaves them
running), so their exit is watched through a pidfd, and their exit status cannot be known.
"""

from __future__ import annotations

import array
import os
import secrets
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgpack

from . import handover
from .logs import log
from .recording import Plan
from .safefiles import read_private, write_atomic

if TYPE_CHECKING:
    from .server import Daemon
    from .session import Session

STATE_FILE = "state.msgpack"
SAVE_INTERVAL_S = 1.0
SCROLLBACK_KEPT_BYTES = 256 << 10
FD_PREFIX = "pty-"
LOSS_MARKER = ("\r\n\x1b[7m[ptyd: the daemon restarted after a crash; output since {when} "
               "may be missing here]\x1b[0m\r\n")


def fd_store_available() -> bool:
    return bool(os.environ.get("NOTIFY_SOCKET")) and os.environ.get("PTYD_FDSTORE", "1") != "0"


def _send(fields: str, fds: list[int]) -> bool:
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address[0] == "@":
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] \
                if fds else []
            sock.sendmsg([fields.encode()], ancillary)
    except OSError as e:
        log.warning("fd store: %s", e)
        return False
    return True


def store_fd(session: str, fd: int) -> bool:
    """Give the service manager a copy of a session's PTY master to keep for our successor."""
    return _send(f"FDSTORE=1\nFDNAME={FD_PREFIX}{session}", [fd])


def forget_fd(session: str) -> bool:
    return _send(f"FDSTOREREMOVE=1\nFDNAME={FD_PREFIX}{session}", [])


def save(d: Daemon) -> None:
    """Write the state file atomically (a crash mid-write leaves the previous one)."""
    sessions = []
    for s in d.sessions.values():
        entry = handover.session_state(s, None)
        ring = entry["scrollback"]
        if len(ring["data"]) > SCROLLBACK_KEPT_BYTES:
            cut = len(ring["data"]) - SCROLLBACK_KEPT_BYTES
            ring["base"] += cut
            ring["data"] = ring["data"][cut:]
        entry["stderr_ring"] = None
        entry["viewers"] = []
        plan = d.recordings.plan_of(s)
        if plan is not None:  # after a crash the recording goes on in a new part
            entry["recording_plan"] = plan.to_wire()
        sessions.append(entry)
    state = {"format": handover.FORMAT, "saved": time.time(), "boot": d.events.boot,
             "next_seq": d.events.next_seq, "sessions": sessions}
    write_atomic(d.config.runtime_dir / STATE_FILE, msgpack.packb(state, use_bin_type=True))


def load(directory: Path) -> dict[str, Any] | None:
    state, _ = read_state(directory)
    return state


def read_state(directory: Path) -> tuple[dict[str, Any] | None, str]:
    """The saved state, or None and why not (for the log: agents depend on it)."""
    path = directory / STATE_FILE
    try:
        state = msgpack.unpackb(read_private(path), raw=False, strict_map_key=False)
    except FileNotFoundError:
        return None, f"{path} does not exist"
    except (OSError, ValueError, msgpack.ExtraData) as e:
        return None, f"cannot read {path}: {e}"
    if not isinstance(state, dict) or state.get("format") != handover.FORMAT:
        return None, f"{path} is not a state file of format {handover.FORMAT}"
    return state, ""


def _close_unadoptable(stored: dict[str, int], why: str) -> None:
    """Closing a PTY master hangs up its terminal: the agent in it gets SIGHUP and usually
    ends. Say so, per session, so nobody wonders where their agents went."""
    for name, fd in stored.items():
        log.error("session=%s cannot be adopted after the crash (%s): closing its terminal, "
                  "which hangs up its program", name, why)
        os.close(fd)


def adopt_after_crash(d: Daemon, fds: dict[str, int]) -> list[tuple[Session, Plan | None]]:
    """Sessions of a crashed predecessor whose PTY came back from the fd store, each with
    what it recorded (its recording goes on in a new part: the old file's end is unknown)."""
    stored = {name[len(FD_PREFIX):]: fd for name, fd in fds.items()
              if name.startswith(FD_PREFIX)}
    if not stored:
        return []
    state, why = read_state(d.config.runtime_dir)
    if state is None:
        _close_unadoptable(stored, why)
        return []
    when = time.strftime("%H:%M:%S", time.localtime(state["saved"]))
    d.events.next_seq = max(d.events.next_seq, state["next_seq"])
    adopted = []
    for entry in state["sessions"]:
        fd = stored.pop(entry["name"], -1)
        if fd < 0 or entry["finished"]:
            if fd >= 0:  # it had exited: nothing runs in its terminal
                os.close(fd)
            continue
        entry["master_fd"], entry["stderr_fd"] = fd, -1
        session = handover.restore_session(entry)
        session.epoch = secrets.randbits(63)  # the offsets of the old epoch no longer hold
        session.stderr_mode, session.stderr_ring = "pty", None
        session.scrollback.append(LOSS_MARKER.format(when=when).encode())
        plan = entry.get("recording_plan")
        adopted.append((session, None if plan is None else Plan.from_wire(plan)))
    # A PTY whose session the state file does not know (spawned after the last save).
    _close_unadoptable(stored, "the state file, saved " + when + ", does not know it")
    return adopted
