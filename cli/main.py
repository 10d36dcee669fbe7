"""The `ptyd` command: tmux-style verbs over the client library. All logic lives in the daemon.

Exit codes: 0 success; 1 a request failed (message on stderr); 2 bad usage; `ptyd wait`
exits with the session's own code (128+N for a killing signal N), 124 on timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from typing import Any

from ptyd import __version__
from ptyd.client import Client, Lost, PtydError
from ptyd.proto import limits
from ptyd.proto.keys import PASTE_GAP_S, key_bytes

from . import format

WAIT_TIMEOUT_EXIT = 124


class UsageError(Exception):
    """Bad command-line input: exit 2 with the message."""


def _client(args: argparse.Namespace, autostart: bool = False) -> Client:
    return Client(args.dir, autostart=autostart, client_name=f"ptyd-cli/{__version__}")


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, sort_keys=True, default=_json_bytes)
    sys.stdout.write("\n")


def _json_bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot show {type(value).__name__} as JSON")


def _parse_size(text: str) -> tuple[int, int]:
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


def cmd_new(args: argparse.Namespace) -> int:
    command = args.command
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        command = [os.environ.get("SHELL") or "/bin/sh"]
    cols, rows = _parse_size(args.size) if args.size else shutil.get_terminal_size((80, 24))
    env = dict(os.environ)
    env.update(_parse_env(args.env))
    with _client(args, autostart=True) as c:
        info = c.spawn(command, name=args.name, cwd=os.path.abspath(args.cwd or os.getcwd()),
                       env=env, cols=cols, rows=rows, scrollback_bytes=args.scrollback)
    if args.json:
        _print_json(info)
    else:
        print(info["name"])
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    with _client(args) as c:
        sessions = c.list()
    if args.json:
        _print_json(sessions)
    elif sessions:
        print(format.table(sessions))
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


def cmd_send(args: argparse.Namespace) -> int:
    items = parse_send_items(args.items)
    with _client(args) as c:
        previous = None
        for kind, data in items:
            if previous == "text" and kind == "key":
                time.sleep(PASTE_GAP_S)  # a key right after text must not read as a paste
            c.input(args.name, data)
            previous = kind
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    out = sys.stdout.buffer
    with _client(args) as c:
        for item in c.output(args.name, follow=args.follow):
            if isinstance(item, Lost):
                out.write(f"\r\n[ptyd: {item.end - item.offset} bytes of output were evicted "
                          "before they could be shown]\r\n".encode())
            else:
                out.write(item.data)
            out.flush()
    return 0


def cmd_wait(args: argparse.Namespace) -> int:
    with _client(args) as c:
        info = c.wait(args.name, args.timeout)
    if not info["exited"]:
        print(f"ptyd: session {args.name!r} still running after {args.timeout:g}s",
              file=sys.stderr)
        return WAIT_TIMEOUT_EXIT
    return format.exit_code(info)


def cmd_kill(args: argparse.Namespace) -> int:
    with _client(args) as c:
        c.kill(args.name, signal=args.signal, grace=args.grace)
        if not args.no_wait:
            grace = limits.DEFAULT_KILL_GRACE_S if args.grace is None else args.grace
            info = c.wait(args.name, grace + 5)
            if not info["exited"]:
                print(f"ptyd: session {args.name!r} is still running", file=sys.stderr)
                return 1
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    with _client(args) as c:
        for name in args.names:
            c.remove(name, force=args.force)
    return 0


def cmd_shutdown(args: argparse.Namespace) -> int:
    with _client(args) as c:
        result = c.shutdown(args.grace)
    if not args.quiet:
        print(f"ptyd: daemon stopping, ending {result['sessions']} running session(s)")
    return 0


# -- parser ---------------------------------------------------------------------------------------

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
    p.add_argument("-c", "--cwd", help="working directory (default: the current one)")
    p.add_argument("-e", "--env", action="append", default=[], metavar="NAME=VALUE",
                   help="set a variable (the session gets your environment plus these)")
    p.add_argument("--size", metavar="COLSxROWS", help="terminal size (default: yours, or 80x24)")
    p.add_argument("--scrollback", type=int, metavar="BYTES", help="scrollback kept")
    p.add_argument("--json", action="store_true", help="print the session's info as JSON")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")

    p = verb("ls", cmd_ls, "list sessions", aliases=("list",))
    p.add_argument("--json", action="store_true", help="stable JSON for scripts")

    p = verb("info", cmd_info, "show one session")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")

    p = verb("send", cmd_send, "type text and keys into a session: TEXT, -k KEY (Enter, C-c, "
             "Up, M-x, F1...), in order")
    p.add_argument("name")
    p.add_argument("items", nargs=argparse.REMAINDER, help="TEXT | -k KEY ...")

    p = verb("logs", cmd_logs, "print a session's scrollback (-f: then follow it live)")
    p.add_argument("name")
    p.add_argument("-f", "--follow", action="store_true")

    p = verb("wait", cmd_wait, "wait for a session to exit; exit with its code")
    p.add_argument("name")
    p.add_argument("--timeout", type=float, metavar="SECONDS")

    p = verb("kill", cmd_kill, "end a session: SIGTERM to its processes, SIGKILL after a grace")
    p.add_argument("name")
    p.add_argument("-s", "--signal", help="signal to send first (default TERM)")
    p.add_argument("--grace", type=float, metavar="SECONDS", help="before SIGKILL (default 5)")
    p.add_argument("--no-wait", action="store_true", help="return without waiting for the exit")

    p = verb("rm", cmd_rm, "remove exited sessions and their scrollback", aliases=("remove",))
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument("-f", "--force", action="store_true", help="kill running sessions first")

    p = verb("shutdown", cmd_shutdown, "end every session and stop the daemon")
    p.add_argument("--grace", type=float, metavar="SECONDS")
    p.add_argument("-q", "--quiet", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.verb == "serve":
        args.serve_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.func(args))
    except UsageError as e:
        print(f"ptyd {args.verb}: {e}", file=sys.stderr)
        return 2
    except PtydError as e:
        print(f"ptyd: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `ptyd logs x | head`: the reader left; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
