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
AGENT_KINDS = ("claude", "generic")
STDERR_MODES = ("pty", "pipe")
RECORD_FORMATS = ("asciicast", "log", "none")
"""A session's recording: asciicast v2, a raw log, or none; a spawn without `record` gets the
daemon's configured default."""
STREAMS = ("stdout", "stderr")
STATES = ("starting", "working", "waiting", "idle", "error", "exited")
"""Agent states: starting (not ready yet), working (busy on a turn), waiting (needs a person,
e.g. a permission question), idle (finished its turn, waiting for a prompt), error (its last
turn failed, or it failed to start), exited."""
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
    repo: str | None = None
    """Work on an agent branch of this repository: the session's name is the agent id, its
    working directory the agent's checkout (see GitCreate)."""
    task: str | None = None
    integration: str | None = None
    sandbox_dir: str | None = None
    extra_env: dict[str, str] | None = None
    """Added over `env` (or over the daemon's environment without `env`): what a remote client
    sends, since the caller's own environment means nothing on another machine."""
    trust: bool = False
    """agent "claude": mark the working directory trusted in Claude's config before the start
    (the person's answer to its "trust this folder" dialog)."""
    keep_processes: bool = False
    """Processes the program leaves behind when it exits by itself keep running (by default
    they are ended, as systemd does for a service)."""
    notify: tuple[dict[str, Any], ...] | None = None
    """This session's own notification rules, tables as [[notify]] in the configuration file
    (the daemon checks them: states, sessions, command or webhook, delay, timeout)."""


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
    force: bool = False
    """Type it now, even text at an agent's dialog or before the agent is ready."""
    ack: bool = True
    """False: no reply when the input is accepted, only an error reply (a keystroke sent by
    a client that does not wait costs one message, not two)."""


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
    hangup_first: bool = False
    """No signal was asked for: SIGHUP first (a closing terminal; an interactive shell ignores
    SIGTERM), then SIGTERM."""


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
    after_turn: int | None = None
    since_seq: int | None = None


@dataclass(frozen=True, slots=True)
class Remove:
    session: str
    force: bool = False


@dataclass(frozen=True, slots=True)
class Pause:
    session: str
    message: str | None = None
    """The WIP commit's message; default `WIP: paused by ptyd (<session>)`."""


@dataclass(frozen=True, slots=True)
class Resume:
    session: str


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
    token: str = ""


DEFAULT_INTEGRATION = "integration"
"""The branch agents' work is merged into when a request names none."""
MAX_CONTENT_BYTES = 512 << 10
"""Largest context file `sandbox.inject` writes."""


@dataclass(frozen=True, slots=True)
class Author:
    """Who commits: name and email of the git signature."""

    name: str
    email: str


@dataclass(frozen=True, slots=True)
class GitTarget:
    """One agent's branch: by `session` (one spawned with `repo`, whose name is the agent id), or
    by `repo` and `agent`, with the integration branch and the directory of checkouts."""

    session: str | None = None
    repo: str | None = None
    agent: str | None = None
    integration: str = DEFAULT_INTEGRATION
    sandbox_dir: str | None = None


@dataclass(frozen=True, slots=True)
class GitRepo:
    repo: str
    integration: str = DEFAULT_INTEGRATION
    sandbox_dir: str | None = None


@dataclass(frozen=True, slots=True)
class GitCreate:
    repo: str
    agent: str
    task: str
    integration: str = DEFAULT_INTEGRATION
    sandbox_dir: str | None = None
    author: Author | None = None


@dataclass(frozen=True, slots=True)
class GitCommit:
    target: GitTarget
    message: str
    author: Author | None = None


@dataclass(frozen=True, slots=True)
class GitPush:
    target: GitTarget
    remote: str = "origin"
    force: bool = False


@dataclass(frozen=True, slots=True)
class GitMerge:
    target: GitTarget
    author: Author | None = None


@dataclass(frozen=True, slots=True)
class GitDiff:
    target: GitTarget
    patch: bool = True


@dataclass(frozen=True, slots=True)
class GitInfo:
    target: GitTarget


@dataclass(frozen=True, slots=True)
class GitList:
    repo: str
    integration: str = DEFAULT_INTEGRATION
    sandbox_dir: str | None = None


@dataclass(frozen=True, slots=True)
class GitDelete:
    target: GitTarget
    force: bool = False


@dataclass(frozen=True, slots=True)
class Sandboxes:
    """Where sandboxes live: `sandbox_dir/<agent>`, git worktrees of `repo`, or plain
    directories without one."""

    sandbox_dir: str
    repo: str | None = None


@dataclass(frozen=True, slots=True)
class SandboxCreate:
    where: Sandboxes
    agent: str
    branch: str | None = None


@dataclass(frozen=True, slots=True)
class SandboxGet:
    where: Sandboxes
    agent: str
    changes: bool = False


@dataclass(frozen=True, slots=True)
class SandboxList:
    where: Sandboxes


@dataclass(frozen=True, slots=True)
class SandboxInject:
    where: Sandboxes
    agent: str
    content: str
    legacy_name: bool = False


@dataclass(frozen=True, slots=True)
class SandboxCleanup:
    where: Sandboxes
    agent: str
    force: bool = False


@dataclass(frozen=True, slots=True)
class SandboxCleanupAll:
    where: Sandboxes
    force: bool = False


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
        # ASCII digits only: str.isdigit() also accepts U+FF19 (fullwidth 9: int() makes it 9) and
        # U+00B2 (superscript 2: int() raises), neither of which anyone types as a signal number.
        if upper.isascii() and upper.isdigit() and len(upper) <= 3:
            return parse_signal(int(upper))
    raise bad_request(f"unknown signal {value!r} (use a name such as TERM, INT, HUP, or a number)",
                      param="signal")


def _size(p: Params, required: bool) -> tuple[int | None, int | None]:
    cols = p.integer("cols", lo=MIN_SIZE, hi=MAX_COLS, required=required)
    rows = p.integer("rows", lo=MIN_SIZE, hi=MAX_ROWS, required=required)
    if (cols is None) != (rows is None):
        raise bad_request(f"{p.op}: give both 'cols' and 'rows', or neither",
                          param="rows" if rows is None else "cols")
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
        repo=_path(p, "repo"),
        task=p.text("task", max_bytes=256),
        integration=p.text("integration", max_bytes=256),
        sandbox_dir=_path(p, "sandbox_dir"),
        extra_env=p.text_map("extra_env", max_items=MAX_ENV_ITEMS),
        trust=p.flag("trust"),
        keep_processes=p.flag("keep_processes"),
        notify=_notify_rules(p),
    )
    if spawn.trust and spawn.agent is None:
        raise bad_request("spawn: 'trust' needs 'agent' (trust the folder in which agent's "
                          "config?)", param="trust")
    if spawn.repo is None:
        given = [k for k in ("task", "integration", "sandbox_dir") if getattr(spawn, k) is not None]
        if given:
            raise bad_request(f"spawn: {given[0]!r} needs 'repo' (an agent branch of which "
                              "repository?)", param=given[0])
    else:
        if spawn.task is None:
            raise bad_request("spawn: 'repo' needs 'task' (the branch is agent/<name>-<task>)",
                              param="task")
        if spawn.cwd is not None:
            raise bad_request("spawn: give 'cwd' or 'repo', not both (an agent of a repository "
                              "works in its own checkout)", param="cwd")
    if spawn.agent_settings is not None:
        if spawn.agent is None:
            raise bad_request("spawn: 'agent_settings' needs 'agent' (settings of which agent?)",
                              param="agent_settings")
        if not _json_like(spawn.agent_settings):
            raise bad_request("spawn: 'agent_settings' must hold only JSON values (no binary)",
                              param="agent_settings")
        hooks = spawn.agent_settings.get("hooks")
        if hooks is not None and not (isinstance(hooks, dict)
                                      and all(isinstance(v, list) for v in hooks.values())):
            raise bad_request("spawn: 'agent_settings.hooks' must map event names to lists of "
                              "hook entries, as in Claude Code's settings", param="agent_settings")
    return spawn


MAX_SPAWN_NOTIFY_RULES = 16


def _notify_rules(p: Params) -> tuple[dict[str, Any], ...] | None:
    """spawn's `notify`: a list of tables; their keys and values are checked by the daemon."""
    value = p.raw("notify", False)
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) > MAX_SPAWN_NOTIFY_RULES
            or not all(isinstance(v, dict) and _json_like(v) for v in value)):
        raise bad_request(f"spawn: 'notify' must be a list of at most {MAX_SPAWN_NOTIFY_RULES} "
                          "tables (each as a [[notify]] entry of the configuration file)",
                          param="notify")
    return tuple(value)


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
    return Input(_session(p), data, _viewer(p, required=False), p.flag("force"),
                 p.flag("ack", default=True))


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
                DEFAULT_KILL_GRACE_S if grace is None else grace, hangup_first=sig is None)


def _read(p: Params) -> Read:
    return Read(_session(p), p.integer("offset", lo=0, hi=U64),
                p.integer("max_bytes", lo=1, hi=MAX_READ_BYTES), p.flag("clamp"),
                p.choice("stream", STREAMS, "stdout") or "stdout")


def _wait(p: Params) -> Wait:
    session, timeout = _session(p), p.number("timeout", lo=0, hi=MAX_WAIT_S)
    after_turn = p.integer("after_turn", lo=0, hi=U64)
    since_seq = p.integer("since_seq", lo=0, hi=U64)
    until = p.raw("until", False)
    if until is None:
        return Wait(session, timeout, after_turn=after_turn, since_seq=since_seq)
    states = [until] if isinstance(until, str) else until
    if (not isinstance(states, list) or not states
            or not all(isinstance(s, str) and s in STATES for s in states)):
        raise bad_request(f"wait: 'until' must be a state or a list of states from {STATES}",
                          param="until")
    return Wait(session, timeout, tuple(states), after_turn, since_seq)


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
    payload = p.mapping("payload", max_items=1024) or {}
    return Hook(session, event, payload, p.text("token", max_bytes=128) or "")


def _shutdown(p: Params) -> Shutdown:
    grace = p.number("grace", lo=0, hi=MAX_WAIT_S)
    return Shutdown(DEFAULT_KILL_GRACE_S if grace is None else grace)


def _events(p: Params) -> Events:
    since = p.integer("since", lo=0, hi=U64, required=True)
    assert since is not None
    return Events(since, p.integer("max", lo=1, hi=MAX_EVENTS_PER_READ) or MAX_EVENTS_PER_READ)


def _path(p: Params, key: str, required: bool = False) -> str | None:
    """An absolute path: the daemon's working directory means nothing to the client."""
    value = p.text(key, required=required, nonempty=True)
    if value is not None and not value.startswith("/"):
        raise bad_request(f"{p.op}: '{key}' must be an absolute path, not {value!r} (the "
                          "daemon's working directory means nothing to you)", param=key)
    return value


def _required_path(p: Params, key: str) -> str:
    value = _path(p, key, required=True)
    assert value is not None
    return value


def _id(p: Params, key: str) -> str:
    """An agent or task id. Only its type is checked here: what git accepts is the engine's
    business, which refuses with git_error kind invalid_argument."""
    value = p.text(key, required=True, max_bytes=256)
    assert value is not None
    return value


def _integration(p: Params) -> str:
    return p.text("integration", max_bytes=256) or DEFAULT_INTEGRATION


def _author(p: Params) -> Author | None:
    value = p.mapping("author", max_items=2)
    if value is None:
        return None
    name, email = value.get("name"), value.get("email")
    for part in (name, email):
        if (not isinstance(part, str) or not part or len(part) > 256
                or any(c in part for c in "<>\n\x00")):
            raise bad_request(f"{p.op}: 'author' must be {{name, email}}, both non-empty strings "
                              "of at most 256 characters without '<', '>', newline or NUL",
                              param="author")
    assert isinstance(name, str) and isinstance(email, str)
    return Author(name, email)


def _git_target(p: Params) -> GitTarget:
    session = p.name("session", required=False)
    repo, agent = _path(p, "repo"), p.text("agent", max_bytes=256)
    integration, sandbox_dir = p.text("integration", max_bytes=256), _path(p, "sandbox_dir")
    if session is not None:
        given = [k for k, v in (("repo", repo), ("agent", agent), ("integration", integration),
                                ("sandbox_dir", sandbox_dir)) if v is not None]
        if given:
            raise bad_request(f"{p.op}: give 'session', or 'repo' and 'agent', not both (the "
                              "session knows its repository)", param=given[0])
        return GitTarget(session=session)
    if repo is None or agent is None:
        raise bad_request(f"{p.op}: name the agent's branch by 'session', or by 'repo' and "
                          "'agent'", param="agent" if repo is not None else "repo")
    return GitTarget(None, repo, agent, integration or DEFAULT_INTEGRATION, sandbox_dir)


def _git_repo(p: Params) -> GitRepo:
    return GitRepo(_required_path(p, "repo"), _integration(p), _path(p, "sandbox_dir"))


def _git_create(p: Params) -> GitCreate:
    return GitCreate(_required_path(p, "repo"), _id(p, "agent"), _id(p, "task"),
                     _integration(p), _path(p, "sandbox_dir"), _author(p))


def _git_commit(p: Params) -> GitCommit:
    target = _git_target(p)
    message = p.text("message", required=True)
    assert message is not None
    return GitCommit(target, message, _author(p))


def _git_push(p: Params) -> GitPush:
    target = _git_target(p)
    remote = p.text("remote", max_bytes=256, nonempty=True) or "origin"
    return GitPush(target, remote, p.flag("force"))


def _git_list(p: Params) -> GitList:
    return GitList(_required_path(p, "repo"), _integration(p), _path(p, "sandbox_dir"))


def _sandboxes(p: Params) -> Sandboxes:
    return Sandboxes(_required_path(p, "sandbox_dir"), _path(p, "repo"))


def _sandbox_create(p: Params) -> SandboxCreate:
    return SandboxCreate(_sandboxes(p), _id(p, "agent"), p.text("branch", max_bytes=256))


def _sandbox_inject(p: Params) -> SandboxInject:
    where, agent = _sandboxes(p), _id(p, "agent")
    content = p.text("content", required=True, max_bytes=MAX_CONTENT_BYTES)
    assert content is not None
    return SandboxInject(where, agent, content, p.flag("legacy_name"))


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
    "git.repo": _git_repo,
    "git.create": _git_create,
    "git.commit": _git_commit,
    "git.push": _git_push,
    "git.merge": lambda p: GitMerge(_git_target(p), _author(p)),
    "git.diff": lambda p: GitDiff(_git_target(p), p.flag("patch", default=True)),
    "git.info": lambda p: GitInfo(_git_target(p)),
    "git.list": _git_list,
    "git.delete": lambda p: GitDelete(_git_target(p), p.flag("force")),
    "sandbox.create": _sandbox_create,
    "sandbox.get": lambda p: SandboxGet(_sandboxes(p), _id(p, "agent"), p.flag("changes")),
    "sandbox.list": lambda p: SandboxList(_sandboxes(p)),
    "sandbox.inject": _sandbox_inject,
    "sandbox.cleanup": lambda p: SandboxCleanup(_sandboxes(p), _id(p, "agent"), p.flag("force")),
    "sandbox.cleanup_all": lambda p: SandboxCleanupAll(_sandboxes(p), p.flag("force")),
    "pause": lambda p: Pause(_session(p), p.text("message", nonempty=True)),
    "resume": lambda p: Resume(_session(p)),
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
