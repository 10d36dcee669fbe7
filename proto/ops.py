"""Typed requests of the operations, and the vocabularies their parameters draw from.

A request is a frozen dataclass whose fields are exactly its op's parameters in proto/specs.py
(tests/proto/test_specs.py checks names, types and defaults). Nothing here decodes: the one
generic decoder (proto/decoding.py) reads any op from its spec, and the daemon builds the request
its handler module names (daemon/ops/__init__.py). A new op may declare its request in its own
handler module instead; these are the ops that existed before, which other daemon code and the
tests also name.
"""

from __future__ import annotations

import signal as _signal
from dataclasses import dataclass
from typing import Any

from .errors import bad_request
from .limits import DEFAULT_KILL_GRACE_S, MAX_EVENTS_PER_READ

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


@dataclass(frozen=True, slots=True, kw_only=True)
class Hello:
    client: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Spawn:
    argv: tuple[str, ...]
    name: str | None = None
    cwd: str | None = None
    env: dict[str, str] | None = None
    extra_env: dict[str, str] | None = None
    """Added over `env` (or over the daemon's environment without `env`): what a remote client
    sends, since the caller's own environment means nothing on another machine."""
    cols: int | None = None
    rows: int | None = None
    scrollback_bytes: int | None = None
    size_policy: str = "latest"
    agent: str | None = None
    agent_settings: dict[str, Any] | None = None
    idle_after: float | None = None
    timeout: float | None = None
    stderr: str = "pty"
    record: str | None = None
    record_input: bool | None = None
    trust: bool = False
    """agent "claude": mark the working directory trusted in Claude's config before the start
    (the person's answer to its "trust this folder" dialog)."""
    keep_processes: bool = False
    """Processes the program leaves behind when it exits by itself keep running (by default
    they are ended, as systemd does for a service)."""
    persistent: bool = False
    """Relaunch this session when the daemon starts after a reboot (or any full stop)."""
    repo: str | None = None
    """Work on an agent branch of this repository: the session's name is the agent id, its
    working directory the agent's checkout (see GitCreate)."""
    task: str | None = None
    integration: str | None = None
    sandbox_dir: str | None = None
    notify: tuple[dict[str, Any], ...] | None = None
    """This session's own notification rules, tables as [[notify]] in the configuration file
    (the daemon checks them: states, sessions, command or webhook, delay, timeout)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class List:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Info:
    session: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Input:
    session: str
    data: bytes
    viewer: str | None = None
    force: bool = False
    """Type it now, even text at an agent's dialog or before the agent is ready."""
    ack: bool = True
    """False: no reply when the input is accepted, only an error reply (a keystroke sent by
    a client that does not wait costs one message, not two)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Resize:
    session: str
    cols: int
    rows: int
    viewer: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    session: str
    signal: int
    group: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Kill:
    session: str
    signal: int | None = None
    grace: float = DEFAULT_KILL_GRACE_S

    @property
    def hangup_first(self) -> bool:
        """No signal was asked for: SIGHUP first (a closing terminal; an interactive shell
        ignores SIGTERM), then SIGTERM."""
        return self.signal is None

    @property
    def signum(self) -> int:
        """The signal sent last: the one asked for, else SIGTERM."""
        return _signal.SIGTERM if self.signal is None else self.signal


@dataclass(frozen=True, slots=True, kw_only=True)
class Read:
    session: str
    offset: int | None = None
    max_bytes: int | None = None
    clamp: bool = False
    stream: str = "stdout"


@dataclass(frozen=True, slots=True, kw_only=True)
class Wait:
    session: str
    timeout: float | None = None
    until: tuple[str, ...] = ("exited",)
    after_turn: int | None = None
    since_seq: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Remove:
    session: str
    force: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Pause:
    session: str
    message: str | None = None
    """The WIP commit's message; default `WIP: paused by ptyd (<session>)`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Resume:
    session: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Shutdown:
    grace: float = DEFAULT_KILL_GRACE_S


@dataclass(frozen=True, slots=True, kw_only=True)
class Events:
    since: int
    max: int = MAX_EVENTS_PER_READ


@dataclass(frozen=True, slots=True, kw_only=True)
class Attach:
    session: str
    viewer: str
    read_only: bool = False
    cols: int | None = None
    rows: int | None = None
    replay_bytes: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Detach:
    session: str
    viewer: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Redraw:
    session: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Upgrade:
    python: str | None = None
    """Interpreter of the successor (another virtualenv's python, for example); default: the
    daemon's own, which imports whatever version of ptyd is installed now."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Hook:
    session: str
    event: str
    payload: dict[str, Any] | None = None
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


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchNamed:
    """The parameters of every op on one agent's branch (docs §13.2); the spec's check
    `one_branch_form` has made sure exactly one form is given."""

    session: str | None = None
    repo: str | None = None
    agent: str | None = None
    integration: str | None = None
    sandbox_dir: str | None = None

    @property
    def target(self) -> GitTarget:
        return GitTarget(self.session, self.repo, self.agent,
                         self.integration or DEFAULT_INTEGRATION, self.sandbox_dir)


@dataclass(frozen=True, slots=True, kw_only=True)
class GitRepo:
    repo: str
    integration: str = DEFAULT_INTEGRATION
    sandbox_dir: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GitCreate:
    repo: str
    agent: str
    task: str
    integration: str = DEFAULT_INTEGRATION
    sandbox_dir: str | None = None
    author: Author | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GitCommit(BranchNamed):
    message: str
    author: Author | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GitPush(BranchNamed):
    remote: str = "origin"
    force: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class GitMerge(BranchNamed):
    author: Author | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GitDiff(BranchNamed):
    patch: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class GitInfo(BranchNamed):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class GitList:
    repo: str
    integration: str = DEFAULT_INTEGRATION
    sandbox_dir: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GitDelete(BranchNamed):
    force: bool = False


@dataclass(frozen=True, slots=True)
class Sandboxes:
    """Where sandboxes live: `sandbox_dir/<agent>`, git worktrees of `repo`, or plain
    directories without one."""

    sandbox_dir: str
    repo: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InSandboxes:
    """The parameters every `sandbox.*` op takes (docs §13.5)."""

    sandbox_dir: str
    repo: str | None = None

    @property
    def where(self) -> Sandboxes:
        return Sandboxes(self.sandbox_dir, self.repo)


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxCreate(InSandboxes):
    agent: str
    branch: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxGet(InSandboxes):
    agent: str
    changes: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxList(InSandboxes):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxInject(InSandboxes):
    agent: str
    content: str
    legacy_name: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxCleanup(InSandboxes):
    agent: str
    force: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxCleanupAll(InSandboxes):
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


def spawn_params(msg: Spawn, name: str) -> dict[str, Any]:
    """The wire params that spawn this session again (None fields left out)."""
    params = {f: getattr(msg, f) for f in Spawn.__dataclass_fields__}
    params["argv"], params["name"] = list(msg.argv), name
    return {k: v for k, v in params.items() if v is not None}
