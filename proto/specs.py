"""One declaration per operation: its parameters, their types, bounds and defaults, the rules
over several of them, its capability. Everything else is derived from this table:

- the decoder: proto/decoding.py reads any op from its entry (no per-op decoding code);
- the daemon's dispatch (daemon/ops/__init__.py): each handler module says which op(s) it
  serves and with which request dataclass, whose fields tests/proto/test_specs.py checks against
  the entry (names, types, defaults); a spec without a handler, or a handler without a spec,
  fails that test;
- `hello.ops`, and which ops the daemon still serves while it shuts down (`read_only`);
- docs/protocol.md's parameter tables: `python -m ptyd.proto.doctables --write` rewrites them
  from here; tests/proto/test_protocol_doc.py fails when they differ;
- the clients: tests/structure/test_client_requests.py checks every request they send, and the
  typed methods' keywords, against these parameters.

Adding an op = one entry here + one handler module under daemon/ops/ (declaring `SERVES`, and
its request dataclass if it takes parameters), then the doc generator and a paragraph of prose
in docs/protocol.md. Types are written as the document writes them: `name` (a session name),
`str`, `path` (absolute), `int`, `number`, `bool`, `bytes`, `[str]`, `map`, `map str→str`,
`[map]`, `viewer-id`, `signal` (int or str), `state(s)`, `author`; each has one reader in
proto/decoding.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import checks
from .checks import Check
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
from .ops import (
    AGENT_KINDS,
    DEFAULT_INTEGRATION,
    MAX_CONTENT_BYTES,
    RECORD_FORMATS,
    SIZE_POLICIES,
    STDERR_MODES,
    STREAMS,
    U64,
)


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: str
    required: bool = False
    range: tuple[float, float] | None = None
    """Inclusive bounds of an `int` or `number` (the decoder refuses a value outside them)."""
    default: Any = None
    """What the request holds when the parameter is absent (or nil; for a str default, also
    ""): an immutable value, shared by every request (a tuple, never a list or a map)."""
    choices: tuple[str, ...] | None = None
    """A `str` that must be one of these."""
    max_bytes: int | None = None
    """Longest `str` (UTF-8 bytes; default 131072) or `bytes`."""
    max_items: int | None = None
    """Most items of a list or entries of a map."""
    nonempty: bool = False
    shown_default: str = ""
    """The document's Default cell when the default is not a plain value (`the daemon's own`)."""
    notes: str = ""
    """The document's notes on the parameter, after its bounds (prose, markdown)."""
    shown_required: str = ""
    """The document's Req. cell when `yes`/`no` would mislead (`with repo`)."""


@dataclass(frozen=True, slots=True)
class OpSpec:
    name: str
    params: tuple[Param, ...]
    read_only: bool = False
    """Changes nothing, so the daemon still serves it while it shuts down."""
    checks: tuple[Check, ...] = ()
    """Rules over several parameters (proto/checks.py), run after each parameter's own."""

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)


def _req(name: str, type_: str, range_: tuple[float, float] | None = None, **kw: Any) -> Param:
    return Param(name, type_, required=True, range=range_, **kw)


WAIT_S = (0, MAX_WAIT_S)
U64_RANGE = (0, U64)
COLS, ROWS = (MIN_SIZE, MAX_COLS), (MIN_SIZE, MAX_ROWS)
ID = 256
"""Longest agent, task, branch or integration name (what git accepts is the engine's business:
it refuses with git_error kind invalid_argument)."""


SESSION = _req("session", "name")
GIT_TARGET = (
    Param("session", "name", shown_required="one of the two forms",
          notes="a session spawned with `repo` ([§13.6](#136-spawn-with-repo)): its repository, "
                "integration branch and sandbox directory; its name is the agent id. A session "
                "without a branch: `bad_request`"),
    Param("repo", "path", shown_required="with `agent`", notes="inside the repository"),
    Param("agent", "str", max_bytes=ID, shown_required="with `repo`", notes="the agent id"),
    Param("integration", "str", max_bytes=ID, shown_default='`"integration"`',
          notes="the integration branch; only with `repo`"),
    Param("sandbox_dir", "path", shown_default="`<repo>/sandbox`",
          notes="where the agents' checkouts live; only with `repo`"),
)
"""The agent's branch, named by `session` or by `repo` and `agent` (docs §13.2)."""
NAMED_BRANCH = (checks.one_branch_form,)
GIT_REPO = (_req("repo", "path"), Param("integration", "str", max_bytes=ID,
                                        default=DEFAULT_INTEGRATION),
            Param("sandbox_dir", "path", shown_default="`<repo>/sandbox`"))
SANDBOXES = (_req("sandbox_dir", "path"), Param("repo", "path"))
AGENT = _req("agent", "str", max_bytes=ID)
AUTHOR = Param("author", "author")
FORCE = Param("force", "bool", default=False)
SIZE = (Param("cols", "int", range=COLS), Param("rows", "int", range=ROWS, notes="give both "
                                                                                 "or neither"))

SPAWN = (
    _req("argv", "[str]", max_items=MAX_ARGV_ITEMS, nonempty=True,
         notes="no NUL in any; `argv[0]` not empty; each ≤ 131072 bytes, total ≤ 524288 "
               "characters"),
    Param("name", "name", shown_default='lowest free `"1"`, `"2"`, …'),
    Param("cwd", "str", nonempty=True, shown_default="the daemon's working directory",
          notes="an absolute path (a relative one is `bad_request`: the daemon's own "
                "directory means nothing to a client)"),
    Param("env", "map str→str", max_items=MAX_ENV_ITEMS, shown_default="the daemon's own "
          "environment", notes="keys non-empty, without `=` or NUL; values without NUL (no "
          "length limit but the request's). It is the **whole** environment of the program "
          "(then adjusted, see below)"),
    Param("extra_env", "map str→str", max_items=MAX_ENV_ITEMS,
          notes="as `env`; added over `env` (or over the daemon's environment without `env`), "
                "before `[env.set]`. What a client of a remote daemon sends to add variables, "
                "since its own environment means nothing on another machine"),
    Param("cols", "int", range=COLS, shown_default="80"),
    Param("rows", "int", range=ROWS, shown_default="24", notes="give both or neither"),
    Param("scrollback_bytes", "int", range=(MIN_SCROLLBACK_BYTES, MAX_SCROLLBACK_BYTES),
          shown_default="the daemon's default (`hello` `limits.default_scrollback_bytes`, 4 MiB "
                        "unless configured)"),
    Param("size_policy", "str", default="latest", choices=SIZE_POLICIES,
          notes="[§7.14](#714-attach)"),
    Param("agent", "str", choices=AGENT_KINDS, notes="see below"),
    Param("agent_settings", "map", max_items=256,
          notes="str keys, JSON-representable values; used only with `agent: \"claude\"`"),
    Param("idle_after", "number", range=(0.01, MAX_WAIT_S), shown_default="2.0",
          notes="seconds; silence after which a session without `agent` is `idle`"),
    Param("timeout", "number", range=WAIT_S, shown_default="nil (no limit)",
          notes="seconds; then the daemon stops the session (below)"),
    Param("stderr", "str", default="pty", choices=STDERR_MODES,
          notes="`pty`: stderr is the terminal; `pipe`: a separate pipe with its own ring"),
    Param("record", "str", choices=RECORD_FORMATS, shown_default="the daemon's configured "
          "default (none unless configured)", notes="asciicast v2, raw bytes, or no recording: a "
          "recording file of the session, written by the daemon in its recording directory"),
    Param("record_input", "bool", shown_default="the daemon's configured default (false)",
          notes="asciicast: also record typed input. Input that arrives while the terminal does "
                "not echo (its termios `ECHO` flag is off, as during a password prompt) is left "
                "out, unless the daemon is configured with `[recording] hidden_input = true` "
                "(`--record-hidden-input`)"),
    Param("trust", "bool", default=False, notes="needs `agent`; `\"claude\"`: mark the working "
          "directory trusted in Claude's config before the start (below)"),
    Param("keep_processes", "bool", default=False,
          notes="when the program exits by itself, the processes it started that still run are "
                "kept (default: they are ended, SIGTERM then SIGKILL after the daemon's kill "
                "grace, as systemd does for a service). Kept processes still end with `kill`, "
                "`remove` and `shutdown`"),
    Param("persistent", "bool", default=False,
          notes="relaunch this session when a daemon starts fresh after this one went away (a "
                "reboot): same `argv`, `cwd`, `env`, size and options; with `agent: \"claude\"` "
                "and a known `agent_session_id`, `argv` gains `--resume <id>`. Recorded in "
                "`$XDG_STATE_HOME/ptyd` (a 0600 file in a 0700 directory) before the program "
                "starts; if it cannot be written the spawn fails (`spawn_failed`). `env` is not "
                "stored whole: only the variables whose value differs from the daemon's own "
                "environment, and the names of the daemon's variables `env` lacks; a relaunch "
                "rebuilds `env` from the daemon's environment of that time and this difference. "
                "The session object's `resumed_from` is then the Unix time it was first started"),
    Param("repo", "path", notes="inside a repository: the session is an agent on its own branch "
          "([§13.6](#136-spawn-with-repo))"),
    Param("task", "str", max_bytes=ID, shown_required="with `repo`",
          notes="the task id of the branch `agent/<name>-<task>`"),
    Param("integration", "str", max_bytes=ID, shown_default='`"integration"`',
          notes="only with `repo`"),
    Param("sandbox_dir", "path", shown_default="`<repo>/sandbox`", notes="only with `repo`"),
    Param("notify", "[map]", max_items=16,
          notes="notification rules of this session only, each as a `[[notify]]` table of the "
                "configuration file ([§7.22](#722-notifications)), on top of the configured "
                "ones; a bad rule is `bad_request` (`param` `notify`, the message names the "
                "rule's index and key), checked before anything starts. Kept across an "
                "`upgrade` and a crash adoption (minor 3; before, they were dropped)"),
)

SPECS: tuple[OpSpec, ...] = (
    OpSpec("hello", (Param("client", "str", max_bytes=256,
                           notes="a name for the client (accepted, not used)"),), read_only=True),
    OpSpec("spawn", SPAWN, checks=(checks.program_named, checks.size_pair,
                                   checks.trust_needs_agent, checks.branch_needs_repo,
                                   checks.agent_settings_shape)),
    OpSpec("list", (), read_only=True),
    OpSpec("info", (SESSION,), read_only=True),
    OpSpec("input", (SESSION, _req("data", "bytes", max_bytes=MAX_INPUT_BYTES, notes="may be "
                                   "empty"),
                     Param("viewer", "viewer-id", shown_default="the viewer attached from this "
                           "connection, if any"),
                     Param("force", "bool", default=False, notes="true: write now, even text at "
                           "an agent's dialog or to an agent still starting"),
                     Param("ack", "bool", default=True, notes="false: no reply when the input "
                           "is accepted; an error is still answered, with the request's id"))),
    OpSpec("resize", (SESSION, _req("cols", "int", COLS), _req("rows", "int", ROWS),
                      Param("viewer", "viewer-id"))),
    OpSpec("signal", (SESSION, _req("signal", "signal", notes="a signal number > 0 known to the "
                                    "daemon's OS, or a name with or without `SIG`, any case "
                                    "(`\"TERM\"`, `\"sigint\"`), or a decimal string"),
                      Param("group", "bool", default=False,
                            notes="true: the whole process group of the program"))),
    OpSpec("kill", (SESSION, Param("signal", "signal", shown_default="nil: `SIGHUP` then "
                                   "`SIGTERM`", notes="as for `signal`"),
                    Param("grace", "number", range=WAIT_S, default=DEFAULT_KILL_GRACE_S,
                          notes="seconds"))),
    OpSpec("read", (SESSION, Param("offset", "int", range=U64_RANGE, shown_default="`base`"),
                    Param("max_bytes", "int", range=(1, MAX_READ_BYTES), shown_default="1048576"),
                    Param("clamp", "bool", default=False, notes="true: an offset below `base` "
                          "reads from `base` instead of failing"),
                    Param("stream", "str", default="stdout", choices=STREAMS,
                          notes="`stdout`: the terminal; `stderr`: sessions spawned with "
                                "`stderr: \"pipe\"`")), read_only=True),
    OpSpec("wait", (SESSION, Param("timeout", "number", range=WAIT_S, shown_default="nil: no "
                                   "timeout", notes="seconds; 0 answers at once"),
                    Param("until", "state(s)", default=("exited",),
                          notes="non-empty; each one of `starting`, `working`, `waiting`, "
                                "`idle`, `error`, `exited`"),
                    Param("after_turn", "int", range=U64_RANGE, notes="only a state of a turn "
                          "> `after_turn` counts (an `input` reply's `turn`)"),
                    Param("since_seq", "int", range=U64_RANGE, notes="only a state entered by a "
                          "`session.state` event with seq > `since_seq` counts (an `input` "
                          "reply's `seq`)"))),
    OpSpec("remove", (SESSION, FORCE)),
    OpSpec("pause", (SESSION, Param("message", "str", nonempty=True,
                                    shown_default='`"WIP: paused by ptyd (<session>)"`',
                                    notes="the commit's message; `WIP: ` is put in front unless "
                                          "it starts with `WIP`"))),
    OpSpec("resume", (SESSION,)),
    OpSpec("shutdown", (Param("grace", "number", range=WAIT_S, default=DEFAULT_KILL_GRACE_S,
                              notes="seconds"),)),
    OpSpec("events", (_req("since", "int", U64_RANGE, notes="the first seq wanted"),
                      Param("max", "int", range=(1, MAX_EVENTS_PER_READ),
                            default=MAX_EVENTS_PER_READ)), read_only=True),
    OpSpec("attach", (SESSION, _req("viewer", "viewer-id", notes="unique per daemon: use a "
                                    "random id"),
                      Param("read_only", "bool", default=False, notes="a read-only viewer may "
                            "not send input, and its size does not count"),
                      Param("cols", "int", range=COLS, shown_default="the session's size"),
                      Param("rows", "int", range=ROWS, shown_default="the session's size",
                            notes="both or neither: the viewer's window"),
                      Param("replay_bytes", "int", range=(0, MAX_READ_BYTES),
                            shown_default="262144", notes="how much of the scrollback's tail "
                            "to replay at most")), checks=(checks.size_pair,)),
    OpSpec("detach", (SESSION, Param("viewer", "viewer-id",
                                     shown_default="every viewer of the session"))),
    OpSpec("redraw", (SESSION,)),
    OpSpec("hook", (SESSION, _req("event", "str", max_bytes=64, nonempty=True,
                                  notes="the hook event name"),
                    Param("payload", "map", max_items=1024, shown_default="`{}`",
                          notes="str keys, any values: the hook's JSON input"),
                    Param("token", "str", max_bytes=128, default="", shown_required="yes (see "
                          "below)", notes="the session's `PTYD_SESSION_TOKEN`"))),
    OpSpec("stats", (), read_only=True),
    OpSpec("upgrade", (Param("python", "str", nonempty=True, shown_default="the daemon's own "
                             "interpreter", notes="path of the Python interpreter of the "
                             "successor (e.g. another virtualenv's)"),)),
    OpSpec("git.repo", GIT_REPO),
    OpSpec("git.create", (_req("repo", "path"), AGENT, _req("task", "str", max_bytes=ID),
                          *GIT_REPO[1:], AUTHOR)),
    OpSpec("git.commit", (*GIT_TARGET, _req("message", "str"), AUTHOR), checks=NAMED_BRANCH),
    OpSpec("git.push", (*GIT_TARGET, Param("remote", "str", max_bytes=ID, nonempty=True,
                                           default="origin"), FORCE), checks=NAMED_BRANCH),
    OpSpec("git.merge", (*GIT_TARGET, AUTHOR), checks=NAMED_BRANCH),
    OpSpec("git.diff", (*GIT_TARGET, Param("patch", "bool", default=True)), checks=NAMED_BRANCH),
    OpSpec("git.info", GIT_TARGET, checks=NAMED_BRANCH),
    OpSpec("git.list", GIT_REPO),
    OpSpec("git.delete", (*GIT_TARGET, FORCE), checks=NAMED_BRANCH),
    OpSpec("sandbox.create", (*SANDBOXES, AGENT, Param("branch", "str", max_bytes=ID))),
    OpSpec("sandbox.get", (*SANDBOXES, AGENT, Param("changes", "bool", default=False))),
    OpSpec("sandbox.list", SANDBOXES),
    OpSpec("sandbox.inject", (*SANDBOXES, AGENT, _req("content", "str",
                                                      max_bytes=MAX_CONTENT_BYTES),
                              Param("legacy_name", "bool", default=False))),
    OpSpec("sandbox.cleanup", (*SANDBOXES, AGENT, FORCE)),
    OpSpec("sandbox.cleanup_all", (*SANDBOXES, FORCE)),
)

BY_NAME: dict[str, OpSpec] = {spec.name: spec for spec in SPECS}

READ_ONLY_OPS: frozenset[str] = frozenset(s.name for s in SPECS if s.read_only)
"""Served while the daemon shuts down; every other op is refused with `shutting_down`."""
