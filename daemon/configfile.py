"""The daemon's configuration: TOML files in layers, validated, merged, each value with its source.

Layers, lowest first: the built-in defaults; /etc/ptyd/config.toml; the user's file
$XDG_CONFIG_HOME/ptyd/config.toml (~/.config/ptyd/config.toml); the file named by --config; the
environment ($PTYD_DIR, for `dir` only); the command line of `ptyd serve`. A missing system or
user file is skipped, a missing --config file is an error. `ptyd config show` prints every value
and where it came from. The largest request a client may send is fixed by the protocol
(proto.limits.MAX_REQUEST_BYTES), not configured.

A file is taken whole or not at all: a syntax error, a value of the wrong type or range or an
unknown key is a ConfigError that names the file, the line and the key. `ptyd serve` does not
start with it; a reload (SIGHUP) keeps the configuration the daemon has and logs why.

    dir = "/run/user/1000/ptyd"     # runtime directory: ipc sockets, lock, log
    log_level = "info"              # debug, info, warning, error
    kill_grace = 5.0                # seconds from SIGTERM/SIGHUP to SIGKILL when ending sessions
    publish_hwm = 256               # output messages queued per subscriber

    [limits]
    max_sessions = 1024
    scrollback = "4M"               # per session: bytes, or with k, M, G
    max_total_scrollback = "unlimited"
    max_pending_waits = 10000

    [env.default]                   # added to the daemon's environment for a spawn that sends none
    [env.set]                       # set in every session, over the client's environment
    LANG = "C.UTF-8"

    [recording]
    format = "none"                 # asciicast, log or none: the default for new sessions
    input = false                   # asciicast: record typed input as "i" events too
    hidden_input = false            # with input: also what is typed with echo off (passwords)
    dir = "~/.local/state/ptyd/recordings"
    max_bytes = "64M"               # rotate NAME.cast -> NAME.cast.1 ... at this size
    keep = 5                        # files kept per session name

    [remote]                        # TCP only with CURVE: both keys are required
    control = "tcp://0.0.0.0:7710"
    publish = "tcp://0.0.0.0:7711"
    server_secret_key = "/etc/ptyd/server.key_secret"
    authorized_keys = "/etc/ptyd/authorized_keys"   # a directory of client public keys

    [[notify]]                      # daemon/notify.py: tell a person when an agent needs them
    states = ["waiting", "error"]
    command = ["notify-send", "ptyd", "{session}: {state} {reason}"]

    [worktree."~/src/app"]          # daemon/git/setup.py: how new worktrees are prepared
    copy = [".env"]
    setup = ["npm", "ci"]
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import logging
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ptyd.proto import limits
from ptyd.proto.locations import SYSTEM_CONFIG_FILE, default_recording_dir, user_config_file
from ptyd.proto.ops import RECORD_FORMATS
from ptyd.proto.paths import DIR_ENV, runtime_dir

from .config import (
    DEFAULT_RECORDING_KEEP,
    DEFAULT_RECORDING_MAX_BYTES,
    DaemonConfig,
    RecordingConfig,
    RemoteConfig,
)
from .git.setup import WorktreeSetup, parse_configured
from .logs import log
from .notify import NotifyRule, parse_rules

if TYPE_CHECKING:
    from .server import Daemon

LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(Exception):
    """An invalid configuration, as one line: where (file:line, or the command line), which
    key, what is wrong."""

    def __init__(self, reason: str, *, path: Path | None = None, line: int | None = None,
                 column: int | None = None, key: str | None = None, flag: str | None = None):
        self.reason, self.path, self.line, self.key, self.flag = reason, path, line, key, flag
        if path is not None:
            where = f"{path}:{line}" if line else str(path)
            where += f":{column}" if line and column else ""
        else:
            where = f"command line {flag}" if flag else "environment"
        super().__init__(f"{where}: {key}: {reason}" if key else f"{where}: {reason}")

    @property
    def from_command_line(self) -> bool:
        """A usage error (exit 2) rather than a bad file (exit 1)."""
        return self.flag is not None


@dataclass(frozen=True)
class Source:
    """Where a value came from: "default", "file" (path, line), "environment" or "command line"
    (name: the variable or the flag)."""

    kind: str
    path: Path | None = None
    line: int | None = None
    name: str | None = None

    def __str__(self) -> str:
        if self.kind == "file":
            return f"{self.path}:{self.line}" if self.line else str(self.path)
        if self.kind in ("environment", "command line"):
            return f"{self.kind} {self.name}"
        return self.kind

    def to_json(self) -> dict[str, Any]:
        fields = {"from": str(self), "kind": self.kind, "file": self.path and str(self.path),
                  "line": self.line, "name": self.name}
        return {k: v for k, v in fields.items() if v is not None}


DEFAULT = Source("default")


# -- value kinds: each checks a TOML value (or command-line text) and says what it expected -----

class Kind:
    metavar = "VALUE"

    def from_toml(self, value: object) -> Any:
        """The checked value; ValueError("<what was expected>") if it is not acceptable."""
        raise NotImplementedError

    def from_text(self, text: str) -> Any:
        return self.from_toml(text)

    def render(self, value: Any) -> str:
        """As a TOML value, for `ptyd config show`."""
        return toml_value(value)

    def to_json(self, value: Any) -> Any:
        return str(value) if isinstance(value, Path) else value


class Number(Kind):
    def __init__(self, lo: float, hi: float, integer: bool = False):
        self.lo, self.hi, self.integer = lo, hi, integer
        self.metavar = "N" if integer else "SECONDS"
        self.expected = (f"an integer in {lo}..{hi}" if integer else
                         f"a number in {lo:g}..{hi:g}")

    def from_toml(self, value: object) -> Any:
        if (isinstance(value, bool) or not isinstance(value, int if self.integer else int | float)
                or value != value or not self.lo <= value <= self.hi):
            raise ValueError(self.expected)
        return value if self.integer else float(value)

    def from_text(self, text: str) -> Any:
        try:
            return self.from_toml(int(text) if self.integer else float(text))
        except ValueError:
            raise ValueError(self.expected) from None


_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


class Size(Kind):
    """Bytes: an integer, or a string such as "4M", "512k", "1.5G" (binary units)."""

    metavar = "BYTES"

    def __init__(self, lo: int, hi: int, unlimited: bool = False):
        self.lo, self.hi, self.unlimited = lo, hi, unlimited

    def _expected(self) -> str:
        text = f"a size in bytes from {_human(self.lo)} to {_human(self.hi)} (65536, \"4M\")"
        return text + ' or "unlimited"' if self.unlimited else text

    def from_toml(self, value: object) -> int | None:
        if self.unlimited and not isinstance(value, bool) and value in ("unlimited", 0):
            return None
        if isinstance(value, str) and (m := _SIZE_RE.fullmatch(value)):
            value = int(float(m[1]) * _UNITS[m[2].lower()])
        if isinstance(value, bool) or not isinstance(value, int) or not self.lo <= value <= self.hi:
            raise ValueError(self._expected())
        return value

    def render(self, value: Any) -> str:
        return '"unlimited"' if value is None else toml_value(_human(value))


class Choice(Kind):
    def __init__(self, choices: tuple[str, ...]):
        self.choices = choices
        self.metavar = "{" + ",".join(choices) + "}"

    def from_toml(self, value: object) -> str:
        if not isinstance(value, str) or value.lower() not in self.choices:
            raise ValueError("one of " + ", ".join(map(repr, self.choices)))
        return value.lower()


class Flag(Kind):
    def from_toml(self, value: object) -> bool:
        if not isinstance(value, bool):
            raise ValueError("true or false")
        return value


class FilePath(Kind):
    """A path; in a file it must be absolute (or start with ~), on the command line it is taken
    relative to the current directory. `must`: "file" or "dir" if it has to exist as one;
    `private`: group and others must not be able to read it (a secret key); `strict`: like
    OpenSSH's StrictModes, neither it nor (a directory's) files may be writable by group or
    others, nor belong to anyone but us or root (an allow-list of keys)."""

    metavar = "PATH"

    def __init__(self, must: str | None = None, private: bool = False, strict: bool = False):
        self.must, self.private, self.strict = must, private, strict

    def from_toml(self, value: object) -> Path:
        if not isinstance(value, str) or not value or "\x00" in value:
            raise ValueError("a path")
        path = Path(value).expanduser()
        if not path.is_absolute():
            raise ValueError("an absolute path (or one starting with ~)")
        return self._check(path)

    def from_text(self, text: str) -> Path:
        if not text or "\x00" in text:
            raise ValueError("a path")
        return self._check(Path(text).expanduser().absolute())

    def _check(self, path: Path) -> Path:
        if self.must is None:
            return path
        try:
            st = os.stat(path)
        except OSError as e:
            raise ValueError(f"an existing {self.must} ({path}: {e.strerror})") from None
        if self.must == "dir" and not stat.S_ISDIR(st.st_mode):
            raise ValueError(f"a directory ({path} is not one)")
        if self.must == "file" and not stat.S_ISREG(st.st_mode):
            raise ValueError(f"a file ({path} is not a regular file)")
        if self.private and st.st_mode & 0o077:
            raise ValueError(f"a file only its owner can read ({path} has mode "
                             f"{stat.S_IMODE(st.st_mode):04o}; run 'chmod 600 {path}')")
        if self.strict and (problem := loose_modes(path)):
            raise ValueError(f"a {self.must or 'path'} only its owner can change ({problem})")
        return path


def loose_modes(path: Path) -> str | None:
    """Why `path` (and, for a directory, each file in it) could be changed by someone other
    than us or root, if so: anyone who can add a key to an allow-list is let in."""
    paths = [path, *sorted(path.iterdir())] if path.is_dir() else [path]
    for p in paths:
        st = os.stat(p)
        if st.st_uid not in (os.getuid(), 0):
            return f"{p} belongs to uid {st.st_uid}; it must be yours or root's"
        if st.st_mode & 0o022:
            return (f"{p} is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o}); "
                    f"run 'chmod go-w {p}'")
    return None


_TCP_RE = re.compile(r"tcp://(\*|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):(\d{1,5})")


class Endpoint(Kind):
    metavar = "tcp://HOST:PORT"

    def from_toml(self, value: object) -> str:
        m = _TCP_RE.fullmatch(value) if isinstance(value, str) else None
        if m is None or not 0 < int(m[2]) < 65536:
            raise ValueError("a TCP endpoint such as \"tcp://0.0.0.0:7710\" (local clients use "
                             "the ipc sockets in `dir`)")
        return str(value)


_ENV_NAME_RE = re.compile(r"[^=\x00]+")


class EnvTable(Kind):
    """Environment variables: a table of names to strings; NAME=VALUE on the command line."""

    metavar = "NAME=VALUE"

    def variable(self, name: str, value: object) -> str:
        if not _ENV_NAME_RE.fullmatch(name):
            raise ValueError("a variable name without '=' or NUL")
        if not isinstance(value, str) or "\x00" in value:
            raise ValueError("a string (without NUL)")
        return value

    def from_text(self, text: str) -> tuple[str, str]:
        name, sep, value = text.partition("=")
        if not sep:
            raise ValueError("NAME=VALUE")
        return name, self.variable(name, value)


@dataclass(frozen=True)
class Option:
    key: str
    kind: Kind
    help: str
    flag: str
    live: bool = True
    """Applied on reload (SIGHUP); otherwise it takes effect when the daemon restarts."""

    @property
    def dest(self) -> str:
        return "cfg_" + self.key.replace(".", "__")


OPTIONS: tuple[Option, ...] = (
    Option("dir", FilePath(), "runtime directory: ipc sockets, lock and log (default: "
           "$PTYD_DIR, $XDG_RUNTIME_DIR/ptyd or /tmp/ptyd-UID)", "--dir", live=False),
    Option("log_level", Choice(LOG_LEVELS), "log level", "--log-level"),
    Option("kill_grace", Number(0, limits.MAX_WAIT_S), "seconds from SIGTERM/SIGHUP to SIGKILL "
           "when the daemon ends sessions", "--kill-grace"),
    Option("publish_hwm", Number(1, 10_000_000, integer=True), "output messages queued per "
           "subscriber before dropping for it", "--publish-hwm", live=False),
    Option("limits.max_sessions", Number(1, 1_000_000, integer=True), "sessions held, running "
           "or exited", "--max-sessions"),
    Option("limits.scrollback", Size(limits.MIN_SCROLLBACK_BYTES, limits.MAX_SCROLLBACK_BYTES),
           "default scrollback per session (e.g. 4M, 512k)", "--scrollback"),
    Option("limits.max_total_scrollback", Size(limits.MIN_SCROLLBACK_BYTES, 1 << 40,
                                               unlimited=True),
           "scrollback of all sessions together", "--max-total-scrollback"),
    Option("limits.max_pending_waits", Number(1, 10_000_000, integer=True), "wait requests "
           "parked at once", "--max-pending-waits"),
    Option("env.default", EnvTable(), "a variable added to the daemon's environment for "
           "spawns that send none (repeatable)", "--env-default"),
    Option("env.set", EnvTable(), "a variable set in every session (repeatable)", "--env-set"),
    Option("recording.format", Choice(RECORD_FORMATS), "what new sessions record unless "
           "their spawn says", "--record"),
    Option("recording.input", Flag(), "asciicast: also record typed input", "--record-input"),
    Option("recording.hidden_input", Flag(), "with recording.input: also record what is typed "
           "while the terminal does not echo it (passwords)", "--record-hidden-input"),
    Option("recording.dir", FilePath(), "where recordings are written (default "
           "$XDG_STATE_HOME/ptyd/recordings)", "--recording-dir"),
    Option("recording.max_bytes", Size(4 << 10, 1 << 40), "rotate a recording at this size",
           "--recording-max-bytes"),
    Option("recording.keep", Number(1, 1000, integer=True), "recording files kept per session "
           "name", "--recording-keep"),
    Option("remote.control", Endpoint(), "TCP control endpoint (CURVE only)", "--remote-control",
           live=False),
    Option("remote.publish", Endpoint(), "TCP publish endpoint (CURVE only)", "--remote-publish",
           live=False),
    Option("remote.server_secret_key", FilePath("file", private=True), "the daemon's CURVE "
           "secret key file", "--server-secret-key", live=False),
    Option("remote.authorized_keys", FilePath("dir", strict=True), "directory of the client public keys "
           "allowed in", "--authorized-keys", live=False),
)
_BY_KEY = {o.key: o for o in OPTIONS}
_SECTIONS = {o.key.rpartition(".")[0] for o in OPTIONS} - {""}


def _defaults(env: Mapping[str, str], home: str) -> dict[str, Any]:
    env_without_dir = {k: v for k, v in env.items() if k != DIR_ENV}
    return {
        "dir": runtime_dir(env_without_dir, os.getuid(), tempfile.gettempdir()),
        "log_level": "info",
        "kill_grace": limits.DEFAULT_KILL_GRACE_S,
        "publish_hwm": 256,
        "limits.max_sessions": limits.MAX_SESSIONS,
        "limits.scrollback": limits.DEFAULT_SCROLLBACK_BYTES,
        "limits.max_total_scrollback": None,
        "limits.max_pending_waits": limits.MAX_PENDING_WAITS,
        "recording.format": "none",
        "recording.input": False,
        "recording.hidden_input": False,
        "recording.dir": default_recording_dir(env, home),
        "recording.max_bytes": DEFAULT_RECORDING_MAX_BYTES,
        "recording.keep": DEFAULT_RECORDING_KEEP,
        "remote.control": None,
        "remote.publish": None,
        "remote.server_secret_key": None,
        "remote.authorized_keys": None,
    }


# -- loading ----------------------------------------------------------------------------------

@dataclass
class Setting:
    value: Any
    source: Source


@dataclass
class Configuration:
    """The merged configuration: each option's value and source; environment tables per
    variable; the files considered, lowest first, and whether each was read."""

    settings: dict[str, Setting]
    tables: dict[str, dict[str, Setting]]
    files: list[tuple[Path, bool]] = field(default_factory=list)
    notify: list[tuple[NotifyRule, Source]] = field(default_factory=list)
    """[[notify]] entries of every file, in order (each file adds its own)."""
    worktrees: dict[str, tuple[WorktreeSetup, Source]] = field(default_factory=dict)
    """[worktree."<repository>"] tables by resolved path (a later file's replaces)."""

    def value(self, key: str) -> Any:
        return self.settings[key].value

    def table(self, key: str) -> dict[str, str]:
        return {name: s.value for name, s in self.tables[key].items()}


@dataclass(frozen=True)
class Request:
    """What to load: the environment (XDG paths, $PTYD_DIR), an explicit --config file, the
    command line's values by option key, and the system file (a parameter for tests)."""

    env: Mapping[str, str]
    config_file: Path | None = None
    command_line: Mapping[str, Any] = field(default_factory=dict)
    system_file: Path = SYSTEM_CONFIG_FILE


def load(request: Request) -> Configuration:
    env = request.env
    home = env.get("HOME") or os.path.expanduser("~")
    config = Configuration(
        {key: Setting(value, DEFAULT) for key, value in _defaults(env, home).items()},
        {o.key: {} for o in OPTIONS if isinstance(o.kind, EnvTable)})
    files = [(request.system_file, False), (user_config_file(env, home), False)]
    if request.config_file is not None:
        files.append((request.config_file, True))
    for path, required in files:
        data, text = _read(path, required)
        config.files.append((path, data is not None))
        if data is not None:
            _apply_file(config, path, text, data, ())
    if env.get(DIR_ENV):
        config.settings["dir"] = Setting(Path(env[DIR_ENV]).absolute(),
                                         Source("environment", name="$" + DIR_ENV))
    for key, raw in request.command_line.items():
        _apply_command_line(config, _BY_KEY[key], raw)
    _check(config)
    return config


def _read(path: Path, required: bool) -> tuple[dict[str, Any] | None, str]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigError("no such file", path=path) from None
        return None, ""
    except OSError as e:
        raise ConfigError(f"cannot read it: {e.strerror}", path=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError("not UTF-8 text", path=path,
                          line=raw[:e.start].count(b"\n") + 1) from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        at = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        line, column = (int(at[1]), int(at[2])) if at else (text.count("\n") + 1, None)
        reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)$", "", message)
        raise ConfigError(f"invalid TOML: {reason}", path=path, line=line,
                          column=column) from None


def _apply_file(config: Configuration, path: Path, text: str, data: dict[str, Any],
                prefix: tuple[str, ...]) -> None:
    for name, value in data.items():
        where = (*prefix, name)
        key = ".".join(where)
        option = _BY_KEY.get(key)

        def error(reason: str, key: str = key, where: tuple[str, ...] = where) -> ConfigError:
            return ConfigError(reason, path=path, line=_line_of(text, where), key=key)

        if key == "notify":
            try:
                rules = parse_rules(value)
            except ValueError as e:
                raise error(str(e)) from None
            lines = _notify_lines(text)
            config.notify += [(rule, Source("file", path, lines[i] if i < len(lines) else None))
                              for i, rule in enumerate(rules)]
        elif key == "worktree":
            try:
                worktrees = parse_configured(value)
            except ValueError as e:
                raise error(str(e)) from None
            config.worktrees.update({repo: (plan, Source("file", path, _line_of(text, where)))
                                     for repo, plan in worktrees.items()})
        elif option is None:
            if key not in _SECTIONS:
                raise error(_unknown(key))
            if not isinstance(value, dict):
                raise error(f"expected a table ([{key}]), got {_shown(value)}")
            _apply_file(config, path, text, value, where)
        elif isinstance(option.kind, EnvTable):
            if not isinstance(value, dict):
                raise error(f"expected a table of variables ([{key}]), got {_shown(value)}")
            for var, var_value in value.items():
                try:
                    checked = option.kind.variable(var, var_value)
                except ValueError as e:
                    raise error(f"expected {e}, got {_shown(var_value)}", f"{key}.{var}",
                                (*where, var)) from None
                line = _line_of(text, (*where, var))
                config.tables[key][var] = Setting(checked, Source("file", path, line))
        else:
            try:
                checked = option.kind.from_toml(value)
            except ValueError as e:
                raise error(f"expected {e}, got {_shown(value)}") from None
            config.settings[key] = Setting(checked, Source("file", path, _line_of(text, where)))


def _apply_command_line(config: Configuration, option: Option, raw: Any) -> None:
    source = Source("command line", name=option.flag)
    try:
        if isinstance(option.kind, EnvTable):
            for item in raw:
                name, value = option.kind.from_text(item)
                config.tables[option.key][name] = Setting(value, source)
            return
        value = option.kind.from_text(raw) if isinstance(raw, str) else option.kind.from_toml(raw)
    except ValueError as e:
        raise ConfigError(f"expected {e}, got {raw!r}", key=option.key, flag=option.flag) from None
    config.settings[option.key] = Setting(value, source)


def _check(config: Configuration) -> None:
    """What no single value shows: remote access needs both endpoints and CURVE; a session's
    scrollback must fit in the total."""
    endpoints = [k for k in ("remote.control", "remote.publish") if config.value(k) is not None]
    if endpoints:
        first = config.settings[endpoints[0]]
        if len(endpoints) == 1:
            other = "remote.publish" if endpoints[0] == "remote.control" else "remote.control"
            raise _error_at(first, endpoints[0], f"{other} must be set too: a remote client "
                            "needs both the control and the publish socket")
        missing = [k for k in ("remote.server_secret_key", "remote.authorized_keys")
                   if config.value(k) is None]
        if missing:
            raise _error_at(first, endpoints[0], "plain TCP is refused: session output can "
                            "carry secrets, so ptyd serves TCP only with ZeroMQ CURVE on both "
                            f"sockets; set {' and '.join(missing)} (a secret key file from "
                            "'ptyd keys generate', and a directory of allowed client public "
                            "keys)")
        if config.value("remote.control") == config.value("remote.publish"):
            raise _error_at(config.settings["remote.publish"], "remote.publish",
                            "must differ from remote.control")
    total = config.value("limits.max_total_scrollback")
    if total is not None and total < config.value("limits.scrollback"):
        raise _error_at(config.settings["limits.max_total_scrollback"],
                        "limits.max_total_scrollback",
                        f"{_human(total)} is less than limits.scrollback "
                        f"({_human(config.value('limits.scrollback'))}), which one session uses")


def _error_at(setting: Setting, key: str, reason: str) -> ConfigError:
    source = setting.source
    if source.kind == "file":
        return ConfigError(reason, path=source.path, line=source.line, key=key)
    return ConfigError(reason, key=key, flag=source.name)


def _line_of(text: str, where: tuple[str, ...]) -> int | None:
    """The line that sets the key `where` (for a value of a table given inline, the line of
    the enclosing assignment; for a table, its header)."""
    table: tuple[str, ...] = ()
    enclosing = None
    for number, line in enumerate(text.splitlines(), 1):
        if header := _HEADER_RE.match(line):
            table = _key_parts(header[1])
            if table == where:
                return number
        elif assignment := _ASSIGN_RE.match(line):
            full = table + _key_parts(assignment[1])
            if full == where:
                return number
            if enclosing is None and where[:len(full)] == full:
                enclosing = number
    return enclosing


_BARE_OR_QUOTED = r"(?:[A-Za-z0-9_-]+|\"(?:[^\"\\]|\\.)*\"|'[^']*')"
_DOTTED = rf"{_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*"
_HEADER_RE = re.compile(rf"\s*\[\[?\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_ASSIGN_RE = re.compile(rf"\s*({_DOTTED})\s*=")


def _notify_lines(text: str) -> list[int]:
    """The line of each [[notify]] header, in order."""
    return [n for n, line in enumerate(text.splitlines(), 1)
            if re.match(r"\s*\[\[\s*notify\s*\]\]", line)]


def _key_parts(dotted: str) -> tuple[str, ...]:
    parts = re.findall(rf"\s*({_BARE_OR_QUOTED})\s*(?:\.|$)", dotted)
    return tuple(json.loads(p) if p.startswith('"') else p.strip("'") for p in parts)


def _unknown(key: str) -> str:
    parent, _, name = key.rpartition(".")
    known = sorted({k.removeprefix(parent + ".").split(".")[0] if parent else k.split(".")[0]
                    for k in _BY_KEY if not parent or k.startswith(parent + ".")})
    if "request" in name or "message" in name:
        return (f"unknown key: the largest request ({_human(limits.MAX_REQUEST_BYTES)}) is "
                "fixed by the protocol, not configured")
    close = difflib.get_close_matches(name, known, 1)
    hint = f"did you mean {close[0]!r}?" if close else "known here: " + ", ".join(known)
    return f"unknown key ({hint})"


def _shown(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return toml_value(value)


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _human(size: int) -> str:
    for unit, factor in (("G", 1 << 30), ("M", 1 << 20), ("k", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


# -- the daemon's view -------------------------------------------------------------------------

def daemon_config(config: Configuration) -> DaemonConfig:
    v = config.value
    remote = None
    if v("remote.control") is not None:
        remote = RemoteConfig(v("remote.control"), v("remote.publish"),
                              v("remote.server_secret_key"), v("remote.authorized_keys"))
    fmt = v("recording.format")
    return DaemonConfig(
        runtime_dir=Path(v("dir")).absolute(),
        scrollback_bytes=v("limits.scrollback"),
        max_sessions=v("limits.max_sessions"),
        max_total_scrollback_bytes=v("limits.max_total_scrollback"),
        max_pending_waits=v("limits.max_pending_waits"),
        kill_grace_s=v("kill_grace"),
        publish_hwm=v("publish_hwm"),
        log_level=v("log_level"),
        env_default=config.table("env.default"),
        env_set=config.table("env.set"),
        recording=RecordingConfig(format=None if fmt == "none" else fmt,
                                  input=v("recording.input"),
                                  hidden_input=v("recording.hidden_input"),
                                  dir=v("recording.dir"),
                                  max_bytes=v("recording.max_bytes"), keep=v("recording.keep")),
        remote=remote,
        notify=tuple(rule for rule, _ in config.notify),
        worktrees={repo: plan for repo, (plan, _) in config.worktrees.items()},
    )


def load_daemon_config(request: Request) -> DaemonConfig:
    """The daemon's configuration, able to load itself again from the same sources."""
    config = daemon_config(load(request))
    config.reloader = functools.partial(load_daemon_config, request)
    return config


LIVE_FIELDS = ("log_level", "kill_grace_s", "scrollback_bytes", "max_sessions",
               "max_total_scrollback_bytes", "max_pending_waits", "env_default", "env_set",
               "recording", "notify", "worktrees")
RESTART_FIELDS = ("runtime_dir", "publish_hwm", "remote")


def reload_config(daemon: Daemon) -> None:
    """SIGHUP: load the files again and apply what can change while running (defaults and
    limits for what comes next, log level, environment, recording defaults); running sessions
    keep what they started with. An invalid file changes nothing; the log says why."""
    current = daemon.config
    if current.reloader is None:
        log.info("SIGHUP: no configuration to reload")
        return
    try:
        new = current.reloader()
    except ConfigError as e:
        log.error("config reload failed, keeping the current configuration: %s", e)
        return
    changed = [name for name in LIVE_FIELDS if getattr(current, name) != getattr(new, name)]
    for name in changed:
        setattr(current, name, getattr(new, name))
    if "log_level" in changed:
        logging.getLogger("ptyd").setLevel(current.log_level.upper())
    log.info("config reloaded: %s", " ".join(
        f"{name}={_brief(getattr(current, name))}" for name in changed) or "no change")
    pending = [name for name in RESTART_FIELDS if getattr(current, name) != getattr(new, name)]
    if pending:
        log.warning("config: %s changed; that takes effect when the daemon restarts",
                    ", ".join(pending))


def _brief(value: Any) -> str:
    if isinstance(value, dict):  # environment values may be secrets: names only
        return "{" + ",".join(sorted(value)) + "}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return "(" + " ".join(f"{k}={v}" for k, v in dataclasses.asdict(value).items()) + ")"
    return str(value)
