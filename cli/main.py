"""The `ptyd` command: tmux-style verbs over the client library. All logic lives in the daemon.

Exit codes: 0 success; 1 a request failed (message on stderr); 2 bad usage (also a value the
daemon refused, named by its option: cli/errors.py); 130 after Ctrl-C (cli/interrupt.py);
`ptyd wait` exits with the session's own code (128+N for a killing signal N), 124 on timeout;
`ptyd send --wait` exits 1 if the turn ended in `error`.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ptyd import __version__
from ptyd.client import DaemonNotRunning, NoSuchSession, PtydError  # no zmq: --version
from ptyd.proto import limits
from ptyd.proto.keys import PASTE_GAP_S, key_bytes

from . import format, turns
from .errors import cli_message
from .interrupt import exit_quietly_on_interrupt, restore_on_interrupt
from .screen import add_screen_options, show_screen
from .stopping import wait_stopped

if TYPE_CHECKING:
    from ptyd.client.lean import LeanClient

    from . import textlog

WAIT_TIMEOUT_EXIT = 124
CONNECT_TIMEOUT_S = 2.0
"""--connect: how long to wait for a remote daemon's hello before saying it is not there."""
GIT_TIMEOUT_S = 600.0
"""Git work (a checkout of a large repository, a push) may take longer than a quick request."""


class UsageError(Exception):
    """Bad command-line input: exit 2 with the message."""


def _connection(args: argparse.Namespace) -> dict[str, Any]:
    """Where the daemon is: the runtime directory (ipc), or --connect (TCP with CURVE)."""
    if not getattr(args, "connect", None):
        return {"dir": args.dir}
    control = args.connect
    if not control.startswith("tcp://") or control.rpartition(":")[2] == control:
        raise UsageError(f"--connect wants tcp://HOST:PORT, not {control!r}")
    host, _, port = control.rpartition(":")
    publish = args.publish or f"{host}:{int(port) + 1}"
    from ptyd.client import CurveKeys

    try:
        curve = CurveKeys.load(args.server_key, args.client_key)
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot load the CURVE keys ({e}); see ptyd keys generate") from None
    from ptyd.proto.paths import Endpoints

    return {"dir": args.dir, "endpoints": Endpoints(control, publish), "curve": curve,
            "connect_timeout": CONNECT_TIMEOUT_S}


def _local_dir(args: argparse.Namespace) -> Path:
    """This machine's runtime directory (checked before use), also with --connect."""
    from ptyd.client.rundir import resolve_dir

    return resolve_dir(args.dir)


def _client(args: argparse.Namespace, autostart: bool = False) -> LeanClient:
    # One-request commands start fast: no pyzmq unless a verb needs more than requests.
    from ptyd.client import Timeout
    from ptyd.client.lean import LeanClient

    try:
        return LeanClient(autostart=autostart, client_name=f"ptyd-cli/{__version__}",
                          **_connection(args))
    except Timeout:
        if not args.connect:
            raise
        # Over TCP, a daemon that is not there is only silence: no hello within the timeout.
        raise DaemonNotRunning(f"no ptyd daemon answered at {args.connect} within "
                               f"{CONNECT_TIMEOUT_S:g}s (is it running, and listening there?)"
                               ) from None


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, sort_keys=True, default=_json_bytes)
    sys.stdout.write("\n")


def _json_bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot show {type(value).__name__} as JSON")


def _parse_signal(text: str | None) -> int | None:
    """--signal: a name (TERM, SIGTERM) or an ASCII number; checked here so a typo is a usage
    error (exit 2) and never some other signal (int() reads the fullwidth U+FF19 as 9)."""
    if text is None:
        return None
    from ptyd.proto import ops
    from ptyd.proto.errors import ProtocolError

    try:
        return ops.parse_signal(text)
    except ProtocolError as e:
        raise UsageError(e.message) from None


def _parse_size(text: str) -> tuple[int, int]:
    if not text.isascii():  # int() reads fullwidth digits too
        raise UsageError(f"--size wants COLSxROWS such as 120x40, not {text!r}")
    try:
        cols, rows = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size wants COLSxROWS such as 120x40, not {text!r}") from None
    if not (limits.MIN_SIZE <= cols <= limits.MAX_COLS and limits.MIN_SIZE <= rows <= limits.MAX_ROWS):
        raise UsageError(f"--size {text}: columns and rows must be 1..{limits.MAX_COLS}")
    return cols, rows


def _parse_env(items: list[str]) -> dict[str, str]:
    env = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"-e wants NAME=VALUE, not {item!r}")
        env[name] = value
    return env


# -- verbs ----------------------------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace) -> int:
    from ptyd.daemon.main import main as serve  # only this verb loads the daemon

    dir_args = ["--dir", args.dir] if args.dir else []
    return serve(dir_args + args.serve_args)


def _detach_key(name: str) -> bytes:
    key = _key(name)
    if len(key) != 1:
        raise UsageError(f"--detach-key must be a single-byte key such as C-\\ or C-a, not {name!r}")
    return key


def _attach(args: argparse.Namespace, name: str) -> int:
    from ptyd.attach import AttachOptions, attach

    if not sys.stdin.isatty():
        raise UsageError("attaching needs a terminal on stdin (use ptyd logs -f to watch)")
    options = AttachOptions(name, read_only=args.read_only,
                            detach_key=_detach_key(args.detach_key))
    return attach(_connection(args), options)


def cmd_attach(args: argparse.Namespace) -> int:
    return _attach(args, args.name)


def cmd_detach(args: argparse.Namespace) -> int:
    with _client(args) as c:
        result = c.request("detach", {"session": args.name, "viewer": args.viewer})
    if not args.quiet:
        print(f"ptyd: detached {len(result['detached'])} viewer(s) from {args.name}")
    return 0


def cmd_hook(args: argparse.Namespace) -> int:
    """Run by an agent's hook (Claude Code's): report the event on stdin to the daemon. Never
    fails loudly: a hook that errors would disturb the agent."""
    from .hook import report

    return report(args.event, args.dir)


def cmd_new(args: argparse.Namespace) -> int:
    command = args.command
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        command = [os.environ.get("SHELL") or "/bin/sh"]
    from ptyd.client.caller import spawn_context

    cols, rows = _parse_size(args.size) if args.size else shutil.get_terminal_size((80, 24))
    # Yours (directory, environment) on this machine; the daemon's own on a remote one.
    caller = spawn_context(not getattr(args, "connect", None), args.cwd, None,
                           _parse_env(args.env))
    attach_now = not args.detached and not args.json and sys.stdin.isatty()
    if attach_now:
        _detach_key(args.detach_key)  # refuse a bad key before starting anything
    params = {"argv": command, "name": args.name, **caller, "record": args.record,
              "record_input": args.record_input, "cols": cols, "rows": rows, "scrollback_bytes": args.scrollback,
              "size_policy": args.size_policy, "agent": args.agent, "timeout": args.timeout,
              "idle_after": args.idle_after, "persistent": args.persistent or None,
              "trust": args.trust or None, "keep_processes": args.keep_processes or None,
              "notify": _notify_rules(args.notify)}
    if args.trust and args.agent != "claude":
        raise UsageError("--trust needs --agent claude (trust the folder in which agent?)")
    params.update(_agent_branch_options(args))
    with _client(args, autostart=True) as c:
        info = c.request("spawn", params, timeout=GIT_TIMEOUT_S if args.repo else None)
    if args.json:
        _print_json(info)
    elif attach_now:
        return _attach(args, info["name"])
    else:
        print(info["name"])
    return 0


def _notify_rules(values: list[str] | None) -> list[dict[str, Any]] | None:
    from .notifyopt import parse_notify

    try:
        return [parse_notify(v) for v in values] if values else None
    except ValueError as e:
        raise UsageError(str(e)) from None


def _agent_branch_options(args: argparse.Namespace) -> dict[str, Any]:
    """`new --repo DIR --task T`: the agent (named by -s) works on agent/NAME-T in its own
    checkout, which the daemon creates (or reuses) and starts the program in."""
    if args.repo is None:
        given = [o for o, v in (("--task", args.task), ("--integration", args.integration),
                                ("--sandbox-dir", args.sandbox_dir)) if v is not None]
        if given:
            raise UsageError(f"{given[0]} needs --repo DIR (an agent branch of which repository?)")
        return {}
    if not args.task:
        raise UsageError("--repo needs --task ID (the agent's branch is agent/NAME-ID)")
    if args.cwd:
        raise UsageError("--cwd and --repo do not go together: the agent works in its own "
                         "checkout")
    return {"cwd": None, "repo": os.path.abspath(args.repo), "task": args.task,
            "integration": args.integration,
            "sandbox_dir": os.path.abspath(args.sandbox_dir) if args.sandbox_dir else None}


def cmd_trust_repo(args: argparse.Namespace) -> int:
    from .trustrepo import trust

    try:
        print(trust(args.directory, args.revoke))
    except (ValueError, OSError) as e:
        print(f"ptyd trust-repo: {e}", file=sys.stderr)
        return 1
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    with _client(args) as c:
        sessions = [_with_changes(c, s) for s in c.list()]
    if args.json:
        _print_json(sessions)
    elif any(s.get("branch") for s in sessions):
        print(_agents_table(sessions))
    elif sessions:
        print(format.table(sessions))
    return 0


def _with_changes(c: LeanClient, session: dict[str, Any]) -> dict[str, Any]:
    """An agent on its own branch, with `dirty` looked at now (`list` has only the last value
    seen; `info` runs a git status of the checkout, or says what it knows if the daemon's git
    workers are busy)."""
    if not session.get("branch"):
        return session
    try:
        return c.info(session["name"])
    except NoSuchSession:  # removed meanwhile
        return session


def _agents_table(sessions: list[dict[str, Any]]) -> str:
    """format.table's columns plus BRANCH and CHANGES (uncommitted work in its checkout)."""
    rows = [("NAME", "STATUS", "STATE", "BRANCH", "CHANGES", "VIEWERS", "PID", "SIZE", "AGE",
             "COMMAND")]
    now = time.time()
    changes = {True: "yes", False: "no", None: "-"}
    for s in sessions:
        rows.append((s["name"], format.exit_text(s), format.state_cell(s), s.get("branch") or "-",
                     changes[s.get("dirty") if s.get("branch") else None],
                     str(s.get("viewers", 0)), str(s["pid"]), f"{s['cols']}x{s['rows']}",
                     format.age(now - s["created"]), shlex.join(s["argv"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]
                     for r in rows)


# -- an agent's branch: diff, commit, merge, push ------------------------------------------------

def _branch(args: argparse.Namespace) -> dict[str, Any]:
    """The branch a git verb names: session NAME's (spawned with --repo), or with --repo DIR
    the branch of agent NAME in that repository (no session needed)."""
    if args.repo is None:
        if args.integration is not None:
            raise UsageError("--integration needs --repo (a session knows its own)")
        return {"session": args.name}
    return {"repo": os.path.abspath(args.repo), "agent": args.name,
            "integration": args.integration}


def _git(args: argparse.Namespace, op: str, **params: Any) -> dict[str, Any]:
    request = {**_branch(args), **params}  # usage errors before connecting
    with _client(args) as c:
        return c.request(op, request, timeout=GIT_TIMEOUT_S)


def _parse_author(text: str | None) -> dict[str, str] | None:
    if text is None:
        return None
    name, sep, rest = text.partition("<")
    email = rest.removesuffix(">").strip()
    if not sep or not rest.endswith(">") or not name.strip() or not email:
        raise UsageError(f"--author wants 'Name <email>', not {text!r}")
    return {"name": name.strip(), "email": email}


def cmd_diff(args: argparse.Namespace) -> int:
    diff = _git(args, "git.diff", patch=not args.stat)
    if args.json:
        _print_json(diff)
    elif args.stat:
        print(_diffstat(diff))
    else:
        sys.stdout.buffer.write(diff["patch"] or b"")
        sys.stdout.flush()
    return 0


def _diffstat(diff: dict[str, Any]) -> str:
    """Like `git diff --stat`: one line per file, then the totals."""
    files = diff["files"]
    width = max((len(_stat_path(f)) for f in files), default=0)
    lines = []
    for f in files:
        counts = "Bin" if f["binary"] else f"{f['insertions'] + f['deletions']:>4} " + \
            "+" * min(f["insertions"], 40) + "-" * min(f["deletions"], 40)
        lines.append(f" {_stat_path(f).ljust(width)} | {counts}")
    lines.append(f" {diff['files_changed']} file(s) changed, {diff['insertions']} insertion(s)(+), "
                 f"{diff['deletions']} deletion(s)(-)")
    return "\n".join(lines)


def _stat_path(f: dict[str, Any]) -> str:
    return f"{f['old_path']} => {f['path']}" if f.get("old_path") else str(f["path"])


def cmd_commit(args: argparse.Namespace) -> int:
    result = _git(args, "git.commit", message=args.message, author=_parse_author(args.author))
    if args.json:
        _print_json(result)
    else:
        print(result["commit"])
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    result = _git(args, "git.merge")
    if args.json:
        _print_json(result)
    else:
        print(f"{result['outcome']}: integration is at {result['commit']}")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    result = _git(args, "git.push", remote=args.remote, force=args.force or None)
    if args.json:
        _print_json(result)
    else:
        print(f"pushed {result['commit']} to {result['remote']}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    with _client(args) as c:
        info = c.info(args.name)
    if args.json:
        _print_json(info)
    else:
        print(format.details(info))
    return 0


def parse_send_items(tokens: list[str]) -> list[tuple[str, bytes]]:
    """`TEXT`, `-k KEY`/`--key KEY`/`--key=KEY`, in the order given; after `--`, all text."""
    items: list[tuple[str, bytes]] = []
    literal = False
    it = iter(tokens)
    for token in it:
        if not literal and token == "--":
            literal = True
        elif not literal and token in ("-k", "--key"):
            name = next(it, None)
            if name is None:
                raise UsageError(f"{token} needs a key name such as Enter or C-c")
            items.append(("key", _key(name)))
        elif not literal and token.startswith("--key="):
            items.append(("key", _key(token.removeprefix("--key="))))
        else:
            items.append(("text", token.encode()))
    if not items:
        raise UsageError("nothing to send: give text and/or --key NAME")
    return items


def _key(name: str) -> bytes:
    try:
        return key_bytes(name)
    except ValueError as e:
        raise UsageError(str(e)) from None


def _send_options(args: argparse.Namespace) -> list[str]:
    """--wait, --force, --timeout S may also follow NAME (before any `--`)."""
    tokens, rest = list(args.items), []
    while tokens:
        token = tokens.pop(0)
        if token == "--":
            rest += [token, *tokens]
            break
        if token in ("--wait", "--force"):
            setattr(args, token[2:], True)
        elif token == "--timeout" or token.startswith("--timeout="):
            value = token.partition("=")[2] or (tokens.pop(0) if tokens else "")
            try:
                args.timeout = float(value)
            except ValueError:
                raise UsageError(f"--timeout wants seconds, not {value!r}") from None
        else:
            rest.append(token)
    return rest


def cmd_send(args: argparse.Namespace) -> int:
    items = parse_send_items(_send_options(args))
    daemon = getattr(args, "connect", None) or str(args.dir)
    with _client(args) as c:
        previous, first = None, None
        for kind, data in items:
            if previous == "text" and kind == "key":
                time.sleep(PASTE_GAP_S)  # a key right after text must not read as a paste
            reply = c.input(args.name, data, force=args.force)
            first = first or reply
            previous = kind
        if first is not None and any(turns.submits(kind, data) for kind, data in items):
            turns.record_send(_local_dir(args), daemon, args.name, first)
        if not args.wait or first is None:
            return 0
        transport = 0 if args.timeout is None else args.timeout + 10
        info = c.request("wait", {"session": args.name, "timeout": args.timeout,
                                  "until": ["idle", "error", "waiting"],
                                  "since_seq": first.get("seq")}, timeout=transport)
    return _report_state(args, info)


def _report_state(args: argparse.Namespace, info: dict[str, Any]) -> int:
    """A wait for states: print the state reached (`error: rate_limit`); exit 0, 1 for an
    error, 124 if the timeout passed first."""
    if not info["reached"]:
        print(f"ptyd: session {args.name!r} still {format.state_cell(info)} after "
              f"{args.timeout:g}s", file=sys.stderr)
        return WAIT_TIMEOUT_EXIT
    _print_state(info)
    return 1 if info["state"] == "error" else 0


def _print_state(info: dict[str, Any]) -> None:
    """`waiting: trust` and, indented below, the dialog's question or the failure's message."""
    print(format.state_cell(info))
    if info.get("state_text") and info["state"] in ("error", "waiting"):
        print(f"  {info['state_text']}")


def cmd_config(args: argparse.Namespace) -> int:
    from ptyd.daemon.main import config_main  # the daemon's own loader: the same files

    dir_args = ["--dir", args.dir] if args.dir else []
    return config_main(dir_args + args.serve_args)


def cmd_logs(args: argparse.Namespace) -> int:
    log = _log_writer(args)
    with restore_on_interrupt(lambda: _restore_terminal(log)):
        server: dict[str, Any] = {}
        try:
            return _logs_live(args, log, server)
        except (DaemonNotRunning, NoSuchSession):
            # The daemon forgot the session (removed, or restarted): its recording, if any.
            from ptyd.client.recordings import newest_recording, write_output

            directory = _recording_dir(args, server)
            path = None if directory is None else newest_recording(args.name, directory)
            if path is None:
                raise
            print(f"ptyd: session {args.name!r} is not in the daemon; its recording {path}:",
                  file=sys.stderr)
            write_output(path, log)
            return 0
        finally:
            log.end()


def _recording_dir(args: argparse.Namespace, server: dict[str, Any]) -> Path | None:
    """Where the daemon records: as its `hello` says; with no daemon to ask, where `ptyd serve`
    would record, from the daemon's own configuration loader (as `ptyd config show`). A
    remote daemon's recordings are on its host: none here."""
    from ptyd.client.recordings import recording_dir

    if server:
        return None if args.connect else recording_dir(server)
    if args.connect:
        return None
    from ptyd.daemon.configfile import ConfigError, Request, load

    try:
        value = load(Request(env=dict(os.environ))).settings["recording.dir"].value
    except ConfigError:
        return None  # an invalid file: no daemon starts with it either
    return Path(value)


def _log_writer(args: argparse.Namespace) -> textlog.RawLog:
    from . import textlog  # it needs attach's query filter: only for `logs`

    """--text: readable lines; a terminal: harmless replay; else the exact bytes."""
    out = sys.stdout.buffer
    if args.text:
        return textlog.TextLog(out)
    return textlog.TerminalLog(out) if out.isatty() else textlog.RawLog(out)


def _restore_terminal(log: textlog.RawLog) -> None:
    from . import textlog

    if isinstance(log, textlog.TerminalLog):
        log.restore_now(sys.stdout.fileno())


def _logs_live(args: argparse.Namespace, log: textlog.RawLog, server: dict[str, Any]) -> int:
    """Follow the session's output; `server` gets the daemon's `hello` (where it records)."""
    from ptyd.client import Lost  # (a dataclass: only `logs` pays for importing dataclasses)

    with _client(args) as c:
        server.update(c.server)
        for item in c.output(args.name, follow=args.follow):
            if isinstance(item, Lost):
                log.lost(item.end - item.offset)
            else:
                log.write(item.data)
    return 0


def cmd_screen(args: argparse.Namespace) -> int:
    with _client(args) as c:
        state = c.session(args.name).screen_state()
    return show_screen(state, args)


def cmd_wait(args: argparse.Namespace) -> int:
    until = args.until.split(",") if args.until else None
    transport = 0 if args.timeout is None else args.timeout + 10
    with _client(args) as c:
        since_seq = args.since_seq
        if until and since_seq is None and args.after_turn is None and not args.now:
            # After `ptyd send` from this shell: only a state entered after it (cli/turns.py).
            record = turns.last_send(_local_dir(args),
                                     getattr(args, "connect", None) or str(args.dir), args.name)
            if record is not None and record.get("epoch") == c.info(args.name)["epoch"]:
                since_seq = record["seq"]
        info = c.request("wait", {"session": args.name, "timeout": args.timeout,
                                  "until": until, "since_seq": since_seq,
                                  "after_turn": args.after_turn}, timeout=transport)
    if not info["reached"]:
        now = info["state"] if until else "running"
        print(f"ptyd: session {args.name!r} still {now} after {args.timeout:g}s",
              file=sys.stderr)
        return WAIT_TIMEOUT_EXIT
    if until and not info["exited"]:
        _print_state(info)
        return 0
    return format.exit_code(info)


def cmd_kill(args: argparse.Namespace) -> int:
    with _client(args) as c:
        c.kill(args.name, signal=_parse_signal(args.signal), grace=args.grace)
        if not args.no_wait:
            grace = limits.DEFAULT_KILL_GRACE_S if args.grace is None else args.grace
            info = c.wait(args.name, grace + 5)
            if not info["exited"]:
                print(f"ptyd: session {args.name!r} is still running", file=sys.stderr)
                return 1
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    """Every name it can; each one it cannot is reported, and makes the exit code 1."""
    failed = 0
    with _client(args) as c:
        for name in args.names:
            try:
                c.remove(name, force=args.force)
            except PtydError as e:
                message, code = cli_message(e)
                print(f"ptyd rm: {message}", file=sys.stderr)
                failed = max(failed, code)
    return failed


def cmd_keys(args: argparse.Namespace) -> int:
    from ptyd.client.curve import generate as generate_keys
    from ptyd.client.curve import keys_dir

    directory = Path(args.keys_dir) if args.keys_dir else keys_dir()
    try:
        public, secret = generate_keys(directory, args.name, force=args.force)
    except OSError as e:
        print(f"ptyd keys: {e}", file=sys.stderr)
        return 1
    print(f"public key:  {public}\nsecret key:  {secret} (0600, keep it private)")
    if args.name == "server":
        print("daemon: [remote] server_secret_key = the secret file; clients need the public "
              "file as their --server-key")
    else:
        print("give the public file to the daemon's owner, to put in its authorized_keys "
              "directory")
    return 0


def cmd_systemd(args: argparse.Namespace) -> int:
    from ptyd.daemon import units  # writing unit files is the daemon's business

    made = units.user_units(survive_crashes=args.survive_crashes) if args.user else \
        units.system_units(survive_crashes=args.survive_crashes)
    if args.action == "print":
        for name, text in made.items():
            print(f"# {name}\n{text}")
        return 0
    if args.target:
        target = Path(args.target)
    elif args.user:
        target = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / \
            "systemd" / "user"
    else:
        target = Path("/etc/systemd/system")
    for path in units.install(target, made):
        print(f"wrote {path}")
    if args.user:
        print("now: systemctl --user daemon-reload && systemctl --user enable --now ptyd")
    else:
        print("now: systemctl daemon-reload && systemctl enable --now ptyd@USER")
    return 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    from .stopping import UPGRADE_WAIT_S, wait_upgraded

    with _client(args) as c:
        before = c.hello()
        result = c.request("upgrade", {"python": args.python}, timeout=60)
        print(f"ptyd: daemon {before['pid']} (version {before['version']}) is handing "
              f"{result['sessions']} session(s) to the installed version", flush=True)
        # Return once the successor serves, so the next command is not refused (shutting_down).
        event = wait_upgraded(c, int(before["last_seq"]), local=not args.connect,
                              reconnect=lambda: _client(args))
        if event is None:
            print(f"ptyd: the upgraded daemon did not take over within {UPGRADE_WAIT_S:g}s; "
                  "see its daemon.log", file=sys.stderr)
            return 1
        if event["type"] == "daemon.upgrade_failed":
            print(f"ptyd: upgrade failed: {event.get('reason')}; daemon {before['pid']} goes on "
                  f"with version {before['version']}", file=sys.stderr)
            return 1
    with _client(args) as c:  # (over TCP the first connection ended with the old daemon)
        after = c.hello()
    print(f"ptyd: daemon {after['pid']} now runs version {after['version']}")
    return 0


def cmd_pause(args: argparse.Namespace) -> int:
    with _client(args) as c:
        result = c.pause(args.name, message=args.message)
    if args.json:
        _print_json(result)
    else:
        commit = (result["commit"] or "")[:12] or "nothing to commit"
        print(f"ptyd: paused {args.name}: {result['branch']} ({commit}); ptyd resume "
              f"{args.name} brings it back")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    with _client(args) as c:
        info = c.resume(args.name)
    if args.json:
        _print_json(info)
    else:
        print(info["name"])
    return 0


def cmd_top(args: argparse.Namespace) -> int:
    from .top import main as top  # the overview loads only for this verb
    from .top.config import ConfigError

    try:
        return int(top(args, _connection(args)))
    except ConfigError as e:
        raise UsageError(str(e)) from None


def cmd_stats(args: argparse.Namespace) -> int:
    with _client(args) as c:
        stats = c.request("stats")
    if args.json:
        _print_json(stats)
        return 0
    mib = 1 << 20
    states = ", ".join(f"{n} {state}" for state, n in stats["states"].items() if n)
    rss = "unknown" if stats["rss_bytes"] is None else f"{stats['rss_bytes'] / mib:.1f} MiB"
    print(f"daemon     {stats['pid']}, version {stats['version']}, up "
          f"{format.duration(stats['uptime_s'])}, {rss} resident\n"
          f"sessions   {stats['sessions']} ({stats['running']} running{'; ' if states else ''}"
          f"{states}), {stats['viewers']} viewer(s), {stats['peers']} client connection(s)\n"
          f"scrollback {stats['scrollback_bytes'] / mib:.1f} MiB held of "
          f"{stats['scrollback_committed_bytes'] / mib:.1f} MiB committed\n"
          f"replies    {stats['queued_reply_bytes']} bytes queued; last event {stats['last_seq']}")
    return 0


def cmd_shutdown(args: argparse.Namespace) -> int:
    with _client(args) as c:
        result = c.shutdown(args.grace)
        if not args.quiet:
            print(f"ptyd: daemon stopping, ending {result['sessions']} running session(s)",
                  flush=True)
        if not args.no_wait and not wait_stopped(c, args.grace, local=not args.connect):
            print("ptyd: the daemon has not stopped yet (see its log)", file=sys.stderr)
            return 1
    return 0


# -- parser ---------------------------------------------------------------------------------------

def _attach_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-r", "--read-only", action="store_true",
                   help="watch without typing (the daemon refuses this viewer's input)")
    p.add_argument("--detach-key", default="C-\\", metavar="KEY",
                   help="key that detaches (default C-\\, i.e. Ctrl-backslash)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ptyd", description="Run programs (AI coding agents) under real PTYs in a daemon; "
        "attach, drive and watch them.")
    parser.add_argument("--version", action="version", version=f"ptyd {__version__}")
    dir_help = ("runtime directory of the daemon (default: $PTYD_DIR, $XDG_RUNTIME_DIR/ptyd, "
                "or /tmp/ptyd-UID); one directory, one daemon, like tmux -S")
    parser.add_argument("--dir", "-S", metavar="DIR", default=None, help=dir_help)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", "-S", metavar="DIR", default=argparse.SUPPRESS, help=dir_help)
    for p in (parser, common):
        default = None if p is parser else argparse.SUPPRESS
        p.add_argument("--connect", metavar="tcp://HOST:PORT", default=default,
                       help="a remote daemon's control endpoint (CURVE; see ptyd keys)")
        p.add_argument("--publish", metavar="tcp://HOST:PORT", default=default,
                       help="its publish endpoint (default: the control port + 1)")
        p.add_argument("--server-key", metavar="FILE", default=default,
                       help="the daemon's public key (default ~/.config/ptyd/keys/server.key)")
        p.add_argument("--client-key", metavar="FILE", default=default,
                       help="our secret key (default ~/.config/ptyd/keys/client.key_secret)")
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)

    def verb(name: str, func: Callable[[argparse.Namespace], int], help: str,
             aliases: tuple[str, ...] = (), **kw: Any) -> argparse.ArgumentParser:
        parents = [] if name == "serve" else [common]
        p = verbs.add_parser(name, help=help, description=help, aliases=list(aliases),
                             parents=parents, **kw)
        p.set_defaults(func=func)
        return p

    # The daemon parses its own options (ptyd serve --help lists them).
    verb("serve", cmd_serve, "run the daemon in the foreground", add_help=False)

    p = verb("new", cmd_new, "start a program in a new session (default: your shell)")
    p.add_argument("-s", "--name", help="session name (default: the lowest free number)")
    p.add_argument("-c", "--cwd", help="working directory (default: the current one; with "
                   "--connect, the daemon's)")
    p.add_argument("-e", "--env", action="append", default=[], metavar="NAME=VALUE",
                   help="set a variable (the session gets your environment plus these; with "
                   "--connect, the daemon's plus these)")
    p.add_argument("--record", nargs="?", const="asciicast",
                   choices=["asciicast", "log", "none"], default=None,
                   help="record the session to a file (asciicast, the default: plays with "
                   "`asciinema play`; log: raw bytes); ptyd logs NAME reads it after ptyd rm")
    p.add_argument("--record-input", action="store_true", default=None,
                   help="also record what is typed (asciicast)")
    p.add_argument("--size", metavar="COLSxROWS", help="terminal size (default: yours, or 80x24)")
    p.add_argument("--scrollback", type=int, metavar="BYTES", help="scrollback kept")
    p.add_argument("--json", action="store_true", help="print the session's info as JSON "
                   "(implies -d)")
    p.add_argument("-d", "--detached", action="store_true",
                   help="do not attach (the default when stdin is not a terminal)")
    p.add_argument("--size-policy", choices=["latest", "smallest", "fixed"], default=None,
                   help="whose window sets the size: the latest active viewer (default), the "
                   "smallest, or fixed (only --size and explicit resizes)")
    p.add_argument("--agent", choices=["claude", "generic"], default=None,
                   help="claude: report exact agent state through Claude Code's hooks "
                   "(a generated --settings file) and disable its self-update; generic: any "
                   "other agent CLI, whose state comes from silence; for both, text sent "
                   "while it starts is held and typed once it is ready")
    p.add_argument("--trust", action="store_true",
                   help="with --agent claude: trust the working directory in Claude's config "
                   "first, as if you accepted its trust dialog")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="stop the session after this long (the daemon enforces it)")
    p.add_argument("--notify", action="append", metavar="STATES=ACTION",
                   help="run a command or POST to a webhook when this session enters one of "
                   "STATES (waiting,error,idle,exited), e.g. 'waiting,error=notify-send ptyd "
                   "{session}' or exited=http://127.0.0.1:8080/hook (repeatable)")
    p.add_argument("--keep-processes", action="store_true",
                   help="when the program exits by itself, keep the processes it left running "
                   "(default: they are ended too; ptyd kill/rm end them)")
    p.add_argument("--persistent", action="store_true",
                   help="relaunch it when the daemon starts after a reboot (claude agents "
                   "with --resume, so the conversation continues)")
    p.add_argument("--idle-after", type=float, metavar="SECONDS",
                   help="for programs without hooks: idle after this much output silence "
                   "(default 2)")
    p.add_argument("--repo", metavar="DIR", help="work on an agent branch of this repository: "
                   "agent/NAME-TASK, checked out in its own worktree, where the program starts")
    p.add_argument("--task", metavar="ID", help="with --repo: the task id in the branch name")
    p.add_argument("--integration", metavar="BRANCH",
                   help="with --repo: the branch agents start from and merge into (default "
                   "integration, made from HEAD if missing)")
    p.add_argument("--sandbox-dir", metavar="DIR", help="with --repo: where the agents' "
                   "checkouts live (default DIR/sandbox, ignored in the main checkout)")
    _attach_options(p)
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")

    p = verb("attach", cmd_attach, "join a session's terminal (detach: Ctrl-\\)",
             aliases=("a",))
    p.add_argument("name", help="session name")
    _attach_options(p)

    p = verb("detach", cmd_detach, "make the viewers of a session leave it (it keeps running)")
    p.add_argument("name", help="session name")
    p.add_argument("--viewer", help="only this viewer id")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")

    p = verb("hook", cmd_hook, "report an agent hook event read from stdin (used by the "
             "settings ptyd generates for --agent claude)")
    p.add_argument("event", nargs="?", help="event name, if the JSON does not carry one")

    p = verb("ls", cmd_ls, "list sessions (agents on their own branch: BRANCH, and CHANGES: "
             "uncommitted work in their checkout)", aliases=("list",))
    p.add_argument("--json", action="store_true", help="stable JSON for scripts")

    def branch_verb(name: str, func: Callable[[argparse.Namespace], int],
                    help: str) -> argparse.ArgumentParser:
        p = verb(name, func, help)
        p.add_argument("name", help="a session started with new --repo (or, with --repo, an "
                       "agent id)")
        p.add_argument("--repo", metavar="DIR", help="name the branch of agent NAME in this "
                       "repository instead (no session needed)")
        p.add_argument("--integration", metavar="BRANCH", help="with --repo: the integration "
                       "branch (default integration)")
        p.add_argument("--json", action="store_true", help="print the result as JSON")
        return p

    p = branch_verb("diff", cmd_diff, "an agent's committed work: git diff "
                    "integration...agent/NAME-TASK")
    p.add_argument("--stat", action="store_true", help="only the changed files and counts")
    p = branch_verb("commit", cmd_commit, "commit everything the agent changed in its checkout "
                    "(git add -A; ignored and injected files stay out); prints the commit id")
    p.add_argument("-m", "--message", required=True, help="the commit message")
    p.add_argument("--author", metavar="'NAME <EMAIL>'", help="who commits (default: the "
                   "repository's user.name and user.email, else ptyd)")
    branch_verb("merge", cmd_merge, "merge the agent's branch into integration (fast-forward, "
                "or a merge commit; a conflict changes nothing)")
    p = branch_verb("push", cmd_push, "push the agent's branch to a remote and make it the "
                    "upstream")
    p.add_argument("--remote", default="origin", help="default origin")
    p.add_argument("-f", "--force", action="store_true", help="overwrite the remote branch "
                   "even if it has commits this one lacks")

    p = verb("info", cmd_info, "show one session")
    p.add_argument("name", help="session name")
    p.add_argument("--json", action="store_true",
                   help="stable JSON for scripts (times as seconds since the epoch)")

    p = verb("send", cmd_send, "type text and keys into a session: TEXT, -k KEY (Enter, C-c, "
             "Up, M-x, F1...), in order")
    p.add_argument("name", help="session name")
    p.add_argument("--wait", action="store_true", help="then wait until the turn it "
                   "started is over (idle, error, or waiting for a person); print that state; "
                   "exit 1 for error (also accepted after NAME)")
    p.add_argument("--force", action="store_true", help="type text even at an agent's dialog "
                   "or before the agent is ready (default: held while starting, refused at a "
                   "dialog; keys always go through)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="with --wait")
    p.add_argument("items", nargs=argparse.REMAINDER, help="TEXT | -k KEY ...")

    p = verb("trust-repo", cmd_trust_repo, "allow a repository's .ptyd.toml (as it is now) to "
             "prepare new worktrees: copy its files, run its setup command")
    p.add_argument("directory", metavar="DIR", help="the repository (its main checkout)")
    p.add_argument("--revoke", action="store_true", help="take the permission back")

    verb("config", cmd_config, "show the daemon's configuration and where each value "
             "comes from: ptyd config show [--json] [serve options]", add_help=False)

    p = verb("logs", cmd_logs, "print a session's scrollback (-f: then follow it live); a "
             "session the daemon no longer has: its recording")
    p.add_argument("name", help="session name")
    p.add_argument("-f", "--follow", action="store_true",
                   help="then follow the output live until the session ends")
    p.add_argument("--text", action="store_true",
                   help="as a person reads it: lines rendered like a terminal (overdraws and "
                   "cursor moves applied), no escape sequences, so grep works")

    p = verb("screen", cmd_screen,
             "print a session's screen as a person sees it now: plain text, one line per row")
    add_screen_options(p)

    p = verb("wait", cmd_wait, "wait for a session to exit (exit with its code), or with "
             "--until for a state (prints it)")
    p.add_argument("name", help="session name")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="give up after this long (exit 124)")
    p.add_argument("--until", metavar="STATE[,STATE]",
                   help="idle, error, waiting, working, starting or exited; after a `ptyd "
                   "send` from this shell, only a state entered after it counts")
    p.add_argument("--since-seq", type=int, metavar="SEQ", help="only a state entered after "
                   "daemon event SEQ (an input reply's seq) counts")
    p.add_argument("--after-turn", type=int, metavar="N", help="only a state of a turn after "
                   "N counts")
    p.add_argument("--now", action="store_true", help="the current state counts even if it "
                   "was entered before this shell's last send")

    p = verb("kill", cmd_kill, "end a session and every process it started: SIGHUP (what a "
             "closing terminal sends; an interactive shell ignores SIGTERM), then SIGTERM, then "
             "SIGKILL to whatever is left after a grace")
    p.add_argument("name", help="session name")
    p.add_argument("-s", "--signal", help="send this signal instead of SIGHUP+SIGTERM (then "
                   "SIGKILL after the grace all the same)")
    p.add_argument("--grace", type=float, metavar="SECONDS", help="before SIGKILL (default 5)")
    p.add_argument("--no-wait", action="store_true", help="return without waiting for the exit")

    p = verb("rm", cmd_rm, "remove exited sessions and their scrollback", aliases=("remove",))
    p.add_argument("names", nargs="+", metavar="NAME",
                   help="session names (each one that cannot be removed is reported)")
    p.add_argument("-f", "--force", action="store_true", help="kill running sessions first")

    p = verb("keys", cmd_keys, "CURVE keys for remote access: ptyd keys generate [--name N]")
    p.add_argument("action", choices=["generate"], help="generate: a new key pair")
    p.add_argument("--name", default="client", help="NAME.key and NAME.key_secret (default "
                   "client; the daemon's own pair: server)")
    p.add_argument("--keys-dir", metavar="DIR", help="default ~/.config/ptyd/keys")
    p.add_argument("--force", action="store_true", help="replace an existing key pair")

    p = verb("systemd", cmd_systemd, "write systemd unit files: ptyd systemd install [--user]")
    p.add_argument("action", choices=["install", "print"],
                   help="install: write the unit files; print: show them")
    p.add_argument("--user", action="store_true", help="a user unit (systemctl --user); "
                   "default: the system template ptyd@.service")
    p.add_argument("--survive-crashes", action="store_true",
                   help="KillMode=process and an fd store: agents outlive a daemon crash and "
                   "the restarted daemon adopts them")
    p.add_argument("--target", metavar="DIR", help="where to write (default: "
                   "~/.config/systemd/user or /etc/systemd/system)")

    p = verb("upgrade", cmd_upgrade, "hand every session to a fresh daemon of the installed "
             "version, in place (agents notice nothing)")
    p.add_argument("--python", metavar="PATH", help="interpreter of the new daemon (default: "
                   "the running daemon's)")

    p = verb("pause", cmd_pause, "put an agent's workspace away: end it, commit its work in "
             "progress to its branch (a WIP commit), remove its checkout; the branch stays")
    p.add_argument("name", help="session name (an agent on its own branch)")
    p.add_argument("-m", "--message", help="the WIP commit's message")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p = verb("resume", cmd_resume, "check a paused agent's branch out again and start it there "
             "(claude: with --resume, the conversation continues)")
    p.add_argument("name", help="session name of a paused agent")
    p.add_argument("--json", action="store_true", help="print the new session as JSON")

    p = verb("top", cmd_top, "full-screen live overview of every session, of this daemon and "
             "the [[remote]] ones of remotes.toml: attach, answer, commit, merge (? for keys)")
    p.add_argument("--remotes", metavar="FILE", help="the daemons to watch besides this one "
                   "(default ~/.config/ptyd/remotes.toml)")
    p.add_argument("--give-up", type=float, default=10.0, metavar="SECONDS",
                   help="quit when every daemon has been unreachable this long (default 10)")

    p = verb("stats", cmd_stats, "daemon-wide figures: sessions by state, memory, queued replies")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")

    p = verb("shutdown", cmd_shutdown, "end every session and stop the daemon")
    p.add_argument("--grace", type=float, metavar="SECONDS",
                   help="from SIGHUP to SIGKILL of each session (default 5)")
    p.add_argument("--no-wait", action="store_true",
                   help="return once the daemon has been told, not once it has stopped")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.verb in ("serve", "config"):
        args.serve_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.verb not in ("serve", "config"):  # the daemon handles its own signals
        exit_quietly_on_interrupt()
    try:
        return int(args.func(args))
    except UsageError as e:
        print(f"ptyd {args.verb}: {e}", file=sys.stderr)
        return 2
    except PtydError as e:
        message, code = cli_message(e)
        print(f"ptyd {args.verb}: {message}" if code == 2 else f"ptyd: {message}",
              file=sys.stderr)
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `ptyd logs x | head`: the reader left; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
