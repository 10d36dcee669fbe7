#!/usr/bin/env python3
"""A fast printer: writes N bytes of deterministic lines as fast as the terminal takes them.

usage: printer.py NBYTES [--then-wait]   (--then-wait: print 'done' and wait for a line)
"""

import sys


def payload(nbytes: int) -> bytes:
    """The exact bytes written (before the tty turns each \\n into \\r\\n)."""
    out = bytearray()
    i = 0
    while len(out) < nbytes:
        out += b"line %08d abcdefghijklmnopqrstuvwxyz0123456789\n" % i
        i += 1
    return bytes(out[:nbytes])


def main() -> None:
    nbytes = int(sys.argv[1])
    data = payload(nbytes)
    out = sys.stdout.buffer
    for start in range(0, len(data), 65536):
        out.write(data[start:start + 65536])
    out.flush()
    if "--then-wait" in sys.argv:
        out.write(b"done\n")
        out.flush()
        sys.stdin.readline()


if __name__ == "__main__":
    main()
