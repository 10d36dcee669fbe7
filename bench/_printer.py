"""A continuously printing agent, for the service and upgrade benchmarks.

    _printer.py [--lines-per-s N]

Numbered 80-column lines without end: N a second (paced), or as fast as the terminal takes them
with N=0. Keys on its terminal (raw mode, no echo) change what it does: 'f' flat out, 'p' paced,
's' stop printing (it prints STOPPED and idles), Ctrl-] exit. It prints STARTED first. Only the
standard library: fifty of these must start fast.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import termios
import time
import tty

STARTED = b"PRINTER-STARTED"
STOPPED = b"PRINTER-STOPPED"
QUIT = b"\x1d"
LINE_CHARS = 80
FLAT_OUT_LINES = 256
"""Lines per write when printing flat out (20 kB)."""
TICK_S = 0.005
"""A paced printer writes the lines that are due at most this often (and at least once a line)."""


def line(number: int) -> bytes:
    head = b"line %012d pid %d " % (number, os.getpid())
    return head + b"." * (LINE_CHARS - 1 - len(head)) + b"\n"


def _write_all(data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines-per-s", type=float, default=200.0)
    args = parser.parse_args()
    if os.isatty(0):
        tty.setraw(0)
        # Raw mode also turns output processing off; keep ONLCR, as any line printer has it.
        attrs = termios.tcgetattr(1)
        attrs[1] |= termios.OPOST | termios.ONLCR
        termios.tcsetattr(1, termios.TCSANOW, attrs)
    _write_all(STARTED + b"\n")
    rate, printing, number = args.lines_per_s, True, 0
    paced_since, paced_from = time.monotonic(), 0
    while True:
        flat_out = printing and rate <= 0
        wait = 0.0 if flat_out else (max(TICK_S, 1 / rate) if printing else None)
        if select.select([0], [], [], wait)[0]:
            keys = os.read(0, 64)
            if not keys or QUIT in keys:
                return 0
            for key in keys.decode(errors="replace"):
                if key == "s" and printing:
                    printing = False
                    _write_all(STOPPED + b"\n")
                elif key in "fp":
                    printing, rate = True, 0 if key == "f" else args.lines_per_s or 200.0
                    paced_since, paced_from = time.monotonic(), number
        if not printing:
            continue
        if rate <= 0:
            count = FLAT_OUT_LINES
        else:
            count = int((time.monotonic() - paced_since) * rate) - (number - paced_from)
        if count > 0:
            _write_all(b"".join(line(number + i) for i in range(count)))
            number += count


if __name__ == "__main__":
    sys.exit(main())
