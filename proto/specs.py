"""One declaration per operation: its parameters (name, type, required), its capability, its
decoder. The rest is derived from or checked against this table:

- the daemon's `hello.ops`, and which ops it serves while shutting down (`read_only`);
- the decoder: tests/proto/test_specs.py decodes each op and checks it reads exactly the
  declared parameters (a parameter the decoder knows and the spec does not fails the test);
- the dispatch table (daemon/ops/__init__.py `OPS`): a test checks it has exactly these names;
- docs/protocol.md: tests/proto/test_protocol_doc.py reads the document's parameter tables and
  fails when a parameter is missing from it, or is required in one and not the other.

Adding an op: its dataclass and decoder in proto/ops.py, one row here, one handler module with
one row in `OPS`, its section in the document. Types are written as the document writes them:
`name` (a session name), `str`, `int`, `number`, `bool`, `bytes`, `map`, `[str]`, `path` (an
absolute path), `viewer-id`, `signal` (int or str), `state(s)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import ops
from .fields import Params
from .limits import (
    MAX_COLS,
    MAX_EVENTS_PER_READ,
    MAX_READ_BYTES,
    MAX_ROWS,
    MAX_SCROLLBACK_BYTES,
    MAX_WAIT_S,
    MIN_SCROLLBACK_BYTES,
    MIN_SIZE,
)


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: str
    required: bool = False
    range: tuple[float, float] | None = None
    """Inclusive bounds of an `int` or `number` (the decoder refuses a value outside them)."""


@dataclass(frozen=True, slots=True)
class OpSpec:
    name: str
    params: tuple[Param, ...]
    read_only: bool = False
    """Changes nothing, so the daemon still serves it while it shuts down."""

    @property
    def decoder(self) -> Callable[[Params], Any]:
        return ops.DECODERS[self.name]

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)


def _req(name: str, type_: str, range_: tuple[float, float] | None = None) -> Param:
    return Param(name, type_, required=True, range=range_)


WAIT_S = (0, MAX_WAIT_S)
U64 = (0, ops.U64)
COLS, ROWS = (MIN_SIZE, MAX_COLS), (MIN_SIZE, MAX_ROWS)


SESSION = _req("session", "name")
GIT_TARGET = (Param("session", "name"), Param("repo", "path"), Param("agent", "str"),
              Param("integration", "str"), Param("sandbox_dir", "path"))
"""The agent's branch, named by `session` or by `repo` and `agent` (docs §13.2)."""
GIT_REPO = (_req("repo", "path"), Param("integration", "str"), Param("sandbox_dir", "path"))
SANDBOXES = (_req("sandbox_dir", "path"), Param("repo", "path"))
AGENT = _req("agent", "str")

SPECS: tuple[OpSpec, ...] = (
    OpSpec("hello", (Param("client", "str"),), read_only=True),
    OpSpec("spawn", (
        _req("argv", "[str]"), Param("name", "name"), Param("cwd", "path"), Param("env", "map"),
        Param("extra_env", "map"), Param("cols", "int", range=COLS),
        Param("rows", "int", range=ROWS),
        Param("scrollback_bytes", "int", range=(MIN_SCROLLBACK_BYTES, MAX_SCROLLBACK_BYTES)),
        Param("size_policy", "str"), Param("agent", "str"), Param("agent_settings", "map"),
        Param("idle_after", "number", range=(0.01, MAX_WAIT_S)),
        Param("timeout", "number", range=WAIT_S), Param("stderr", "str"), Param("record", "str"),
        Param("record_input", "bool"), Param("trust", "bool"), Param("keep_processes", "bool"),
        Param("persistent", "bool"), Param("repo", "path"), Param("task", "str"),
        Param("integration", "str"), Param("sandbox_dir", "path"), Param("notify", "[map]"))),
    OpSpec("list", (), read_only=True),
    OpSpec("info", (SESSION,), read_only=True),
    OpSpec("input", (SESSION, _req("data", "bytes"), Param("viewer", "viewer-id"),
                     Param("force", "bool"), Param("ack", "bool"))),
    OpSpec("resize", (SESSION, _req("cols", "int", COLS), _req("rows", "int", ROWS),
                      Param("viewer", "viewer-id"))),
    OpSpec("signal", (SESSION, _req("signal", "signal"), Param("group", "bool"))),
    OpSpec("kill", (SESSION, Param("signal", "signal"), Param("grace", "number", range=WAIT_S))),
    OpSpec("read", (SESSION, Param("offset", "int", range=U64),
                    Param("max_bytes", "int", range=(1, MAX_READ_BYTES)),
                    Param("clamp", "bool"), Param("stream", "str")), read_only=True),
    OpSpec("wait", (SESSION, Param("timeout", "number", range=WAIT_S), Param("until", "state(s)"),
                    Param("after_turn", "int", range=U64), Param("since_seq", "int", range=U64))),
    OpSpec("remove", (SESSION, Param("force", "bool"))),
    OpSpec("pause", (SESSION, Param("message", "str"))),
    OpSpec("resume", (SESSION,)),
    OpSpec("shutdown", (Param("grace", "number", range=WAIT_S),)),
    OpSpec("events", (_req("since", "int", U64),
                      Param("max", "int", range=(1, MAX_EVENTS_PER_READ))), read_only=True),
    OpSpec("attach", (SESSION, _req("viewer", "viewer-id"), Param("read_only", "bool"),
                      Param("cols", "int", range=COLS), Param("rows", "int", range=ROWS),
                      Param("replay_bytes", "int", range=(0, MAX_READ_BYTES)))),
    OpSpec("detach", (SESSION, Param("viewer", "viewer-id"))),
    OpSpec("redraw", (SESSION,)),
    OpSpec("hook", (SESSION, _req("event", "str"), Param("payload", "map"),
                    Param("token", "str"))),
    OpSpec("upgrade", (Param("python", "str"),)),
    OpSpec("git.repo", GIT_REPO),
    OpSpec("git.create", (_req("repo", "path"), AGENT, _req("task", "str"),
                          Param("integration", "str"), Param("sandbox_dir", "path"),
                          Param("author", "map"))),
    OpSpec("git.commit", (*GIT_TARGET, _req("message", "str"), Param("author", "map"))),
    OpSpec("git.push", (*GIT_TARGET, Param("remote", "str"), Param("force", "bool"))),
    OpSpec("git.merge", (*GIT_TARGET, Param("author", "map"))),
    OpSpec("git.diff", (*GIT_TARGET, Param("patch", "bool"))),
    OpSpec("git.info", GIT_TARGET),
    OpSpec("git.list", GIT_REPO),
    OpSpec("git.delete", (*GIT_TARGET, Param("force", "bool"))),
    OpSpec("sandbox.create", (*SANDBOXES, AGENT, Param("branch", "str"))),
    OpSpec("sandbox.get", (*SANDBOXES, AGENT, Param("changes", "bool"))),
    OpSpec("sandbox.list", SANDBOXES),
    OpSpec("sandbox.inject", (*SANDBOXES, AGENT, _req("content", "str"),
                              Param("legacy_name", "bool"))),
    OpSpec("sandbox.cleanup", (*SANDBOXES, AGENT, Param("force", "bool"))),
    OpSpec("sandbox.cleanup_all", (*SANDBOXES, Param("force", "bool"))),
)

BY_NAME: dict[str, OpSpec] = {spec.name: spec for spec in SPECS}

READ_ONLY_OPS: frozenset[str] = frozenset(s.name for s in SPECS if s.read_only)
"""Served while the daemon shuts down; every other op is refused with `shutting_down`."""
