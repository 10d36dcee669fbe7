"""A stand-in for an inline-drawing agent (as the `claude` CLI draws), for the first-screen case.

    _inline_agent.py BYTES [--linger SECONDS]

It prints BYTES of numbered 80-column lines (the producer's blocks: the history behind the
screen), switches bracketed paste on and hides the cursor, then draws a coloured prompt region
at the bottom and redraws it in place a few times (cursor up, erase below), as an inline TUI
does. The very last bytes it writes are SENTINEL, at the end of the prompt line: a viewer that
shows SENTINEL has drawn everything. Then it waits for a byte on stdin (or --linger seconds).
Only the standard library and producer.py: it must start fast.
"""

from __future__ import annotations

import argparse
import os
import select
import sys

from producer import blocks

SENTINEL = b"PTYD-FIRST-SCREEN-DRAWN"
REGION_LINES = 4
REDRAWS = 5


def region(frame: int, last: bool) -> bytes:
    """The prompt region: REGION_LINES lines, the cursor left at the end of the last one."""
    bar = b"\x1b[38;5;208m" + b"-" * 78 + b"\x1b[0m"
    status = b"\x1b[1;36m* Thinking\x1b[0m (frame %d, esc to interrupt)" % frame
    prompt = b"\x1b[1m>\x1b[0m " + (SENTINEL if last else b"typing%s" % (b"." * frame))
    return b"\r\n".join([status, bar, b"  tokens: %06d" % (frame * 1234), bar]) + b"\r\n" + \
        prompt


def drawing() -> bytes:
    out = [b"\x1b[?2004h\x1b[?25l\r\n"]
    for frame in range(REDRAWS):
        if frame:  # back to the top of the region, erase it and everything below
            out.append(b"\r\x1b[%dA\x1b[J" % REGION_LINES)
        out.append(region(frame, last=frame == REDRAWS - 1))
    return b"".join(out)


def _write_all(data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bytes", type=int)
    parser.add_argument("--linger", type=float, default=3600.0)
    args = parser.parse_args()
    for data in blocks(args.bytes):
        _write_all(data)
    _write_all(drawing())
    select.select([0], [], [], args.linger)
    return 0


if __name__ == "__main__":
    sys.exit(main())
