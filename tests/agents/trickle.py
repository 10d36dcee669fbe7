#!/usr/bin/env python3
"""Many small writes: numbered lines, one write(2) each with a short pause between, so that the
daemon publishes nearly every line as its own message. A stopped subscriber's queue (counted in
messages) then overflows with little data, and the last lines are among those dropped for it.

usage: trickle.py LINES   (then prints 'done' and waits for a line)
"""

import os
import sys
import time


def main() -> None:
    for i in range(int(sys.argv[1])):
        os.write(1, b"trickle %06d %s\n" % (i, b"." * 60))
        time.sleep(0.0002)  # let the daemon read it alone (a pacing, not a wait for anything)
    os.write(1, b"done\n")
    sys.stdin.readline()


if __name__ == "__main__":
    main()
