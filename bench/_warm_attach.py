"""`ptyd attach` with the interpreter started and every module imported before the clock runs,
to split the first-screen time into start-up and the attach itself.

    _warm_attach.py DIR SESSION

It prints WARM-READY, waits for one line on its terminal, then attaches exactly as the `ptyd
attach` command does (cli/main.py: `asyncio.run(attach({"dir": DIR}, AttachOptions(...)))`).
"""

from __future__ import annotations

import asyncio
import sys

from ptyd.attach import AttachOptions, attach

READY = b"WARM-READY"


def main() -> int:
    directory, session = sys.argv[1], sys.argv[2]
    sys.stdout.buffer.write(READY + b"\n")
    sys.stdout.flush()
    sys.stdin.readline()
    return asyncio.run(attach({"dir": directory}, AttachOptions(session)))


if __name__ == "__main__":
    sys.exit(main())
