"""Typed parameters of every control operation, decoded and validated from the wire.

Each op has a frozen dataclass and a decoder `decode(op, params)` that returns it or raises
ProtocolError(bad_request). The daemon's handlers receive only validated objects.
"""

from __future__ import annotations

import signal as _signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ErrorCode, ProtocolError, bad_request
from .fields import NAME_RE, Params
from .limits import (
    DEFAULT_KILL_GRACE_S,
    MAX_ARGV_ITEMS,
    MAX_COLS,
    MAX_ENV_ITEMS,
    MAX_EVENTS_PER_READ,
    MAX_INPUT_BYTES,
    MAX_READ_BYTES,
    MAX_ROWS,
    MAX_SCROLLBACK_BYTES,
    MAX_WAIT_S,
    MIN_SCROLLBACK_BYTES,
    MIN_SIZE,
)

U64 = 2**64 - 1

SIZE_POLICIES = ("latest", "smallest", "fixed")
"""How viewers' windows set a session's size: latest (the viewer that most recently typed or
resized, like tmux), smallest (of all writing viewers), fixed (only explicit resizes)."""
AGENT_KINDS = ("claude",)
STDERR_MODES = ("pty", "pipe")
RECORD_FORMATS = ("asciicast", "log", "none")
"""A session's recording: asciicast v2, a raw log, or none; a spawn without `record` gets the
daemon's configured default."""
STREAMS = ("stdout", "stderr")
STATES = ("starting", "working", "waiting", "idle", "exited")
"""Agent states: starting (not ready yet), working (busy on a turn), waiting (needs a person,
e.g. a permission question), idle (finished its turn, waiting for a prompt), exited."""
VIEWER_ID_CHARS = 64


@dataclass(frozen=True, slots=True)
class Hello:
    client: str | None = None


@dataclass(frozen=True, slots=True)
class Spawn:
    argv: tuple[str, ...]
    name: str | None = None
    cwd: str | None = None
    env: dict[str, str] | None = None
    cols: int | None = None
    rows: int | None = None
    scrollback_bytes: int | None = None
    size_policy: str = "latest"
    agent: str | None = None
    agent_settings: dict[str, Any] | None = None
    idle_after: float | None = None
    timeout: float | None = None
    stderr: str = "pty"
    persistent: bool = False
    """Relaunch this session when the daemon starts after a reboot (or any full stop)."""
    record: str | None = None
    record_input: bool | None = None


@dataclass(frozen=True, slots=True)
class List:
    pass


@dataclass(frozen=True, slots=True)
class Info:
    session: str


@dataclass(frozen=True, slots=True)
class Input:
    session: str
    data: bytes
    viewer: str | None = None


@dataclass(frozen=True, slots=True)
class Resize:
    session: str
    cols: int
    rows: int
    viewer: str | None = None


@dataclass(frozen=True, slots=True)
class Signal:
    session: str
    signal: int
    group: bool = False


@dataclass(frozen=True, slots=True)
class Kill:
    session: str
    signal: int = _signal.SIGTERM
    grace: float = DEFAULT_KILL_GRACE_S


@dataclass(frozen=True, slots=True)
class Read:
    session: str
    offset: int | None = None
    max_bytes: int | None = None
    clamp: bool = False
    stream: str = "stdout"


@dataclass(frozen=True, slots=True)
class Wait:
    session: str
    timeout: float | None = None
    until: tuple[str, ...] = ("exited",)


@dataclass(frozen=True, slots=True)
class Remove:
    session: str
    force: bool = False


@dataclass(frozen=True, slots=True)
class Shutdown:
    grace: float = DEFAULT_KILL_GRACE_S


@dataclass(frozen=True, slots=True)
class Events:
    since: int
    max: int = MAX_EVENTS_PER_READ


@dataclass(frozen=True, slots=True)
class Attach:
    session: str
    viewer: str
    read_only: bool = False
    cols: int | None = None
    rows: int | None = None
    replay_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class Detach:
    session: str
    viewer: str | None = None


@dataclass(frozen=True, slots=True)
class Redraw:
    session: str


@dataclass(frozen=True, slots=True)
class Upgrade:
    python: str | None = None
    """Interpreter of the successor (another virtualenv's python, for example); default: the
    daemon's own, which imports whatever version of ptyd is installed now."""


@dataclass(frozen=True, slots=True)
class Hook:
    session: str
    event: str
    payload: dict[str, Any]


def parse_signal(value: Any) -> int:
    """'TERM', 'SIGTERM', 'term' or 15 -> 15; anything else is a bad request."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value in _signal.valid_signals() and value > 0:
            return int(value)
    elif isinstance(value, str):
        upper = value.upper()
        name = upper if upper.startswith("SIG") else "SIG" + upper
        member = _signal.Signals.__members__.get(name)
        if member is not None:
            return int(member)
        if upper.isdigit():
            return parse_signal(int(upper))
    raise bad_request(f"unknown signal {value!r} (use a name such as TERM, INT, HUP, or a number)",
                      param="signal")


def _size(p: Params, required: bool) -> tuple[int | None, int | None]:
    cols = p.integer("cols", lo=MIN_SIZE, hi=MAX_COLS, required=required)
    rows = p.integer("rows", lo=MIN_SIZE, hi=MAX_ROWS, required=required)
    if (cols is None) != (rows is None):
        raise bad_request(f"{p.op}: give both 'cols' and 'rows', or neither")
    return cols, rows


def _hello(p: Params) -> Hello:
    return Hello(p.text("client", max_bytes=256))


def _spawn(p: Params) -> Spawn:
    argv = p.text_list("argv", max_items=MAX_ARGV_ITEMS, required=True, nonempty=True)
    assert argv is not None
    if not argv[0]:
        raise bad_request("spawn: argv[0] (the program) must not be empty", param="argv")
    cols, rows = _size(p, required=False)
    spawn = Spawn(
        argv=tuple(argv),
        name=p.name("name", required=False),
        cwd=p.text("cwd", nonempty=True),
        env=p.text_map("env", max_items=MAX_ENV_ITEMS),
        cols=cols,
        rows=rows,
        scrollback_bytes=p.integer("scrollback_bytes", lo=MIN_SCROLLBACK_BYTES,
                                   hi=MAX_SCROLLBACK_BYTES),
        size_policy=p.choice("size_policy", SIZE_POLICIES, "latest") or "latest",
        agent=p.choice("agent", AGENT_KINDS),
        agent_settings=p.mapping("agent_settings"),
        idle_after=p.number("idle_after", lo=0.01, hi=MAX_WAIT_S),
        timeout=p.number("timeout", lo=0, hi=MAX_WAIT_S),
        stderr=p.choice("stderr", STDERR_MODES, "pty") or "pty",
        persistent=p.flag("persistent"),
        record=p.choice("record", RECORD_FORMATS),
        record_input=None if p.raw("record_input", False) is None else p.flag("record_input"),
    )
    if spawn.agent_settings is not None:
        if spawn.agent is None:
            raise bad_request("spawn: 'agent_settings' needs 'agent' (settings of which agent?)",
                              param="agent_settings")
        if not _json_like(spawn.agent_settings):
            raise bad_request("spawn: 'agent_settings' must hold only JSON values (no binary)",
                              param="agent_settings")
    return spawn


def _json_like(value: Any, depth: int = 0) -> bool:
    """Values a JSON settings file can hold (agent_settings is written as JSON)."""
    if depth > 32:
        return False
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list):
        return all(_json_like(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_like(v, depth + 1) for k, v in value.items())
    return False


def spawn_params(msg: Spawn, name: str) -> dict[str, Any]:
    """The wire params that spawn this session again (None fields left out)."""
    params = {f: getattr(msg, f) for f in Spawn.__dataclass_fields__}
    params["argv"], params["name"] = list(msg.argv), name
    return {k: v for k, v in params.items() if v is not None}


def _session(p: Params) -> str:
    name = p.name("session")
    assert name is not None
    return name


def _input(p: Params) -> Input:
    data = p.binary("data", required=True, max_bytes=MAX_INPUT_BYTES)
    assert data is not None
    return Input(_session(p), data, _viewer(p, required=False))


def _resize(p: Params) -> Resize:
    session = _session(p)
    cols, rows = _size(p, required=True)
    assert cols is not None and rows is not None
    return Resize(session, cols, rows, _viewer(p, required=False))


def _signal_op(p: Params) -> Signal:
    session = _session(p)
    return Signal(session, parse_signal(p.raw("signal", True)), p.flag("group"))


def _kill(p: Params) -> Kill:
    session = _session(p)
    sig = p.raw("signal", False)
    grace = p.number("grace", lo=0, hi=MAX_WAIT_S)
    return Kill(session, _signal.SIGTERM if sig is None else parse_signal(sig),
                DEFAULT_KILL_GRACE_S if grace is None else grace)


def _read(p: Params) -> Read:
    return Read(_session(p), p.integer("offset", lo=0, hi=U64),
                p.integer("max_bytes", lo=1, hi=MAX_READ_BYTES), p.flag("clamp"),
                p.choice("stream", STREAMS, "stdout") or "stdout")


def _wait(p: Params) -> Wait:
    session, timeout = _session(p), p.number("timeout", lo=0, hi=MAX_WAIT_S)
    until = p.raw("until", False)
    if until is None:
        return Wait(session, timeout)
    states = [until] if isinstance(until, str) else until
    if (not isinstance(states, list) or not states
            or not all(isinstance(s, str) and s in STATES for s in states)):
        raise bad_request(f"wait: 'until' must be a state or a list of states from {STATES}",
                          param="until")
    return Wait(session, timeout, tuple(states))


def _viewer(p: Params, required: bool = True) -> str | None:
    viewer = p.text("viewer", required=required, max_bytes=VIEWER_ID_CHARS)
    if viewer is not None and not NAME_RE.fullmatch(viewer):
        raise bad_request(f"{p.op}: 'viewer' must be an id of [A-Za-z0-9_.-]", param="viewer")
    return viewer


def _attach(p: Params) -> Attach:
    session, viewer = _session(p), _viewer(p)
    assert viewer is not None
    cols, rows = _size(p, required=False)
    return Attach(session, viewer, p.flag("read_only"), cols, rows,
                  p.integer("replay_bytes", lo=0, hi=MAX_READ_BYTES))


def _hook(p: Params) -> Hook:
    session = _session(p)
    event = p.text("event", required=True, max_bytes=64, nonempty=True)
    assert event is not None
    return Hook(session, event, p.mapping("payload", max_items=1024) or {})


def _shutdown(p: Params) -> Shutdown:
    grace = p.number("grace", lo=0, hi=MAX_WAIT_S)
    return Shutdown(DEFAULT_KILL_GRACE_S if grace is None else grace)


def _events(p: Params) -> Events:
    since = p.integer("since", lo=0, hi=U64, required=True)
    assert since is not None
    return Events(since, p.integer("max", lo=1, hi=MAX_EVENTS_PER_READ) or MAX_EVENTS_PER_READ)


DECODERS: dict[str, Callable[[Params], Any]] = {
    "hello": _hello,
    "spawn": _spawn,
    "list": lambda p: List(),
    "info": lambda p: Info(_session(p)),
    "input": _input,
    "resize": _resize,
    "signal": _signal_op,
    "kill": _kill,
    "read": _read,
    "wait": _wait,
    "remove": lambda p: Remove(_session(p), p.flag("force")),
    "shutdown": _shutdown,
    "events": _events,
    "attach": _attach,
    "detach": lambda p: Detach(_session(p), _viewer(p, required=False)),
    "redraw": lambda p: Redraw(_session(p)),
    "hook": _hook,
    "upgrade": lambda p: Upgrade(p.text("python", nonempty=True)),
}


def decode(op: str, params: dict[str, Any]) -> Any:
    """Validate `params` for `op` into its typed object, refusing unknown params."""
    decoder = DECODERS.get(op)
    if decoder is None:
        raise ProtocolError(ErrorCode.UNKNOWN_OP, f"unknown op {op!r}", {"op": op})
    p = Params(op, params)
    message = decoder(p)
    p.done()
    return message
