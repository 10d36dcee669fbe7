"""`ptyd top`: one live overview of every session of one or more daemons (a client like any
other: only `ptyd.client` and the protocol). Imported only by the `top` verb."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from ptyd.client.rundir import daemon_running, resolve_dir

from .config import targets_from
from .terminal import Screen


def main(args: argparse.Namespace, connection: dict[str, Any]) -> int:
    from .app import App

    targets = targets_from(args, connection)
    if len(targets) == 1 and targets[0].endpoints is None \
            and not daemon_running(resolve_dir(targets[0].dir)):
        # Nothing to watch and nothing else configured: say so now, not after --give-up.
        print(f"ptyd top: no ptyd daemon is running on {resolve_dir(targets[0].dir)} "
              "(ptyd new starts one, ptyd serve runs one)", file=sys.stderr)
        return 1
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
