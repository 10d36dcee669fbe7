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

from .agentstate import STARTING
from .safefiles import read_private, write_atomic
from .scrollback import Scrollback
from .session import ExitStatus, Session
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
    term = s.term
    return {
        "name": s.name, "argv": s.argv, "cwd": s.cwd, "env": s.env, "pid": s.pid,
        "master_fd": s.master_fd, "stderr_fd": s.stderr_fd, "cols": s.cols, "rows": s.rows,
        "epoch": s.epoch, "created": s.created, "started_mono": s.started_mono,
        "ended_mono": s.ended_mono, "exited_at": s.exited_at,
        "exit": None if s.exit_status is None else [s.exit_status.code, s.exit_status.signal],
        "reaped": s.reaped, "eof": s.eof, "finished": s.finished,
        "state": s.state, "state_since": s.state_since, "agent": s.agent,
        "agent_state": {"reason": s.state_reason, "text": s.state_text, "turn": s.turn,
                        "seq": s.state_seq, "before_dialog": s.state_before_dialog,
                        "dialog_on_screen": s.dialog_on_screen, "held": s.held_input},
        "agent_session_id": s.agent_session_id, "idle_after": s.idle_after,
        "stop_reason": s.stop_reason, "size_policy": s.size_policy,
        "stderr_mode": s.stderr_mode, "timeout_at": timeout_at,
        "resumed_from": s.resumed_from,
        "containment": {"cgroup": s.cgroup, "keep_processes": s.keep_processes},
        "git": {"repo": s.repo, "branch": s.branch, "integration": s.integration,
                "sandbox_dir": s.sandbox_dir, "dirty": s.dirty, "dirty_at": s.dirty_at},
        "scrollback": _ring(s.scrollback), "stderr_ring": _ring(s.stderr_ring),
        "term": {"modes": list(term.modes.items()), "keypad": term.keypad_application,
                 "title": term.title, "alt_since": term.alt_screen_since,
                 "last_clear": term.last_clear},
        "viewers": [{"id": v.id, "read_only": v.read_only, "cols": v.cols, "rows": v.rows,
                     "attached": v.attached} for v in s.viewers.values()],
    }


def restore_session(d: dict[str, Any]) -> Session:
    ring = _unring(d["scrollback"])
    assert ring is not None
    s = Session(name=d["name"], argv=d["argv"], cwd=d["cwd"], pid=d["pid"],
                master_fd=d["master_fd"], cols=d["cols"], rows=d["rows"], scrollback=ring,
                env=d["env"], epoch=d["epoch"], created=d["created"],
                started_mono=d["started_mono"])
    s.stderr_fd, s.stderr_ring, s.stderr_mode = d["stderr_fd"], _unring(d["stderr_ring"]), \
        d["stderr_mode"]
    s.ended_mono, s.exited_at = d["ended_mono"], d["exited_at"]
    s.exit_status = None if d["exit"] is None else ExitStatus(*d["exit"])
    s.reaped, s.eof, s.finished = d["reaped"], d["eof"], d["finished"]
    s.state, s.state_since = d.get("state", STARTING), d["state_since"]
    s.agent, s.agent_session_id = d["agent"], d["agent_session_id"]
    s.idle_after, s.stop_reason, s.size_policy = d["idle_after"], d["stop_reason"], \
        d["size_policy"]
    s.resumed_from = d.get("resumed_from")
    contained = d.get("containment") or {}  # absent in a predecessor's older state
    s.cgroup, s.keep_processes = contained.get("cgroup"), contained.get("keep_processes", False)
    agent_state = d.get("agent_state") or {}  # absent from a predecessor before it existed
    s.state_reason, s.state_text = agent_state.get("reason"), agent_state.get("text")
    s.turn, s.state_seq = agent_state.get("turn", 0), agent_state.get("seq", 0)
    s.state_before_dialog = agent_state.get("before_dialog")
    s.dialog_on_screen = agent_state.get("dialog_on_screen", False)
    s.held_input = list(agent_state.get("held") or [])
    s.held_input_bytes = sum(len(b) for b in s.held_input)
    for key, value in (d.get("git") or {}).items():
        setattr(s, key, value)
    t = d["term"]
    s.term = TermState(modes=dict(t["modes"]), keypad_application=t["keypad"], title=t["title"],
                       alt_screen_since=t["alt_since"], last_clear=t["last_clear"])
    for v in d["viewers"]:
        # The peer identity is new after reconnecting; viewers speak for themselves by id.
        s.viewers[v["id"]] = Viewer(v["id"], s.name, b"", v["read_only"], v["cols"], v["rows"],
                                    attached=v["attached"])
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
