"""`ptyd serve`: run the daemon in the foreground until it is told to stop."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile

from ptyd.proto import limits
from ptyd.proto.paths import runtime_dir

from .config import DaemonConfig
from .logs import setup
from .rundir import RuntimeDirError
from .server import Daemon


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scrollback", type=_size_arg, default=limits.DEFAULT_SCROLLBACK_BYTES,
                        metavar="BYTES", help="default scrollback per session (e.g. 4M, 512k)")
    parser.add_argument("--max-sessions", type=int, default=limits.MAX_SESSIONS)
    parser.add_argument("--kill-grace", type=float, default=limits.DEFAULT_KILL_GRACE_S,
                        metavar="SECONDS", help="SIGTERM/SIGHUP to SIGKILL delay on shutdown")
    parser.add_argument("--publish-hwm", type=int, default=1000, metavar="MESSAGES",
                        help="output messages queued per subscriber before dropping for it")
    parser.add_argument("--log-level", default="info",
                        choices=["debug", "info", "warning", "error"])


def _size_arg(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    try:
        if text[-1:].lower() in units:
            return int(float(text[:-1]) * units[text[-1].lower()])
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 4M or 65536)") from None


def serve(args: argparse.Namespace) -> int:
    directory = runtime_dir(os.environ, os.getuid(), tempfile.gettempdir(), args.dir)
    log = setup(args.log_level)
    if not limits.MIN_SCROLLBACK_BYTES <= args.scrollback <= limits.MAX_SCROLLBACK_BYTES:
        print(f"ptyd: --scrollback must be between {limits.MIN_SCROLLBACK_BYTES} and "
              f"{limits.MAX_SCROLLBACK_BYTES} bytes", file=sys.stderr)
        return 2
    config = DaemonConfig(runtime_dir=directory.absolute(), scrollback_bytes=args.scrollback,
                          max_sessions=args.max_sessions, kill_grace_s=args.kill_grace,
                          publish_hwm=args.publish_hwm, log_level=args.log_level)
    daemon = Daemon(config)
    try:
        daemon.prepare()
    except (RuntimeDirError, OSError) as e:
        print(f"ptyd: {e}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(daemon.run())
    except KeyboardInterrupt:
        return 130
    finally:
        log.debug("event loop closed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ptyd serve", description=__doc__)
    parser.add_argument("--dir", help="runtime directory (default: $PTYD_DIR, "
                        "$XDG_RUNTIME_DIR/ptyd, or /tmp/ptyd-UID)")
    add_arguments(parser)
    return serve(parser.parse_args(argv))
