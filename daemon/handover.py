"""Hand every session to a successor daemon: the state that is not in the file descriptors.

An upgrade re-executes the daemon in place: the process id stays, so agents stay its children;
their PTY masters, the lock and any systemd sockets stay open across exec; and everything else a
session is (name, command, sizes, epoch and offsets, scrollback, terminal modes, agent state,
exit status, viewers) goes through this snapshot, written to a private file and read back by the
new program before it serves anyone.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import msgpack

from .logs import log
from .notify import parse_rules
from .safefiles import read_private, write_atomic
from .scrollback import Scrollback
from .session import ExitStatus, Session
from .sessionstate import CARRIED
from .termstate import TermState
from .viewers import Viewer

FORMAT = 1
STATE_FILE = "handover.msgpack"


class HandoverError(Exception):
    """The snapshot cannot be read or does not fit this version; the message says why."""


def _ring(ring: Scrollback | None) -> dict[str, Any] | None:
    if ring is None:
        return None
    base, data = ring.snapshot()
    return {"capacity": ring.capacity, "base": base, "data": data}


def _unring(value: dict[str, Any] | None) -> Scrollback | None:
    if value is None:
        return None
    return Scrollback.restore(value["capacity"], value["base"], value["data"])


def session_state(s: Session, timeout_at: float | None) -> dict[str, Any]:
    """The session as a map of plain values (sessionstate.py says which fields, and where)."""
    entry: dict[str, Any] = {}
    for field_ in CARRIED:
        *groups, key = field_.path
        target = entry
        for group in groups:
            target = target.setdefault(group, {})
        target[key] = getattr(s, field_.attr)
    term = s.term
    entry["agent_state"]["held"] = s.held_input
    entry.update({
        "exit": None if s.exit_status is None else [s.exit_status.code, s.exit_status.signal],
        "timeout_at": timeout_at,
        "scrollback": _ring(s.scrollback), "stderr_ring": _ring(s.stderr_ring),
        "term": {"modes": list(term.modes.items()), "keypad": term.keypad_application,
                 "title": term.title, "alt_since": term.alt_screen_since,
                 "last_clear": term.last_clear},
        "viewers": [{"id": v.id, "read_only": v.read_only, "cols": v.cols, "rows": v.rows,
                     "attached": v.attached} for v in s.viewers.values()],
    })
    return entry


_ABSENT = object()


def _lookup(entry: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = entry
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return _ABSENT  # a predecessor's older state: the field keeps its default
        value = value[key]
    return value


def restore_session(d: dict[str, Any]) -> Session:
    ring = _unring(d["scrollback"])
    assert ring is not None
    s = Session(name=d["name"], argv=d["argv"], cwd=d["cwd"], pid=d["pid"],
                master_fd=d["master_fd"], cols=d["cols"], rows=d["rows"], scrollback=ring)
    for field_ in CARRIED:
        value = _lookup(d, field_.path)
        if value is not _ABSENT:
            setattr(s, field_.attr, value)
    s.stderr_ring = _unring(d["stderr_ring"])
    s.exit_status = None if d["exit"] is None else ExitStatus(*d["exit"])
    s.held_input = list((d.get("agent_state") or {}).get("held") or [])
    s.held_input_bytes = sum(len(b) for b in s.held_input)
    t = d["term"]
    s.term = TermState(modes=dict(t["modes"]), keypad_application=t["keypad"], title=t["title"],
                       alt_screen_since=t["alt_since"], last_clear=t["last_clear"])
    for v in d["viewers"]:
        # The peer identity is new after reconnecting; viewers speak for themselves by id.
        s.viewers[v["id"]] = Viewer(v["id"], s.name, b"", v["read_only"], v["cols"], v["rows"],
                                    attached=v["attached"])
    rules = (s.spawn_params or {}).get("notify")
    if rules:  # the spawn's own notify rules, checked when it was made
        try:
            s.notify = parse_rules(list(rules))
        except ValueError as e:
            log.error("session=%s notify rules not carried over: %s", s.name, e)
    for fd in (s.master_fd, s.stderr_fd):
        if fd >= 0:
            os.set_inheritable(fd, False)
            os.set_blocking(fd, False)
    return s


def write(path: Path, state: dict[str, Any]) -> None:
    write_atomic(path, msgpack.packb({"format": FORMAT, "written": time.time(), **state},
                                     use_bin_type=True))


def read(path: Path) -> dict[str, Any]:
    try:
        state = msgpack.unpackb(read_private(path), raw=False, strict_map_key=False)
    except (OSError, ValueError, msgpack.ExtraData) as e:
        raise HandoverError(f"cannot read the handover state {path}: {e}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise HandoverError(f"{path} is not a handover state of format {FORMAT}")
    return state
