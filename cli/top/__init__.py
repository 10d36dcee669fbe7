"""`ptyd top`: one live overview of every session of one or more daemons (a client like any
other: only `ptyd.client` and the protocol). Imported only by the `top` verb."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from .config import targets_from
from .terminal import Screen


def main(args: argparse.Namespace, connection: dict[str, Any]) -> int:
    from .app import App

    targets = targets_from(args, connection)
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        print("ptyd top: needs a terminal (use ptyd ls for a list)", file=sys.stderr)
        return 2

    async def run() -> int:
        app = App(targets, Screen(0, 1), give_up_s=args.give_up)
        code = await app.run()
        if app.exit_message:
            print(f"ptyd top: {app.exit_message}", file=sys.stderr)
        return code

    return asyncio.run(run())
