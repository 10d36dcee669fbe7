"""A fast, deterministic producer for the benchmarks: numbered 80-column lines, as fast as the
terminal takes them.

    producer.py BYTES [--wait] [--trailer TEXT] [--linger SECONDS]

It writes whole blocks of BLOCK_LINES lines (BLOCK_BYTES each), at least BYTES in all. The first
line of a block carries the block's number, so a dropped, repeated or reordered block changes
the hash. With --wait it turns its terminal's echo off, prints READY and starts only when one
byte arrives on stdin, so the reader can start its clock at the same moment in every case.

The bytes a reader of the PTY master sees are these lines after the tty's ONLCR translation
("\\n" -> "\\r\\n"); `expected_output` computes their length and SHA-256 without a terminal.
Importable by the benchmark (no ptyd import here: the producer must start fast).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import select
import sys
import termios
from collections.abc import Iterator

LINE_CHARS = 80
BLOCK_LINES = 800
BLOCK_BYTES = LINE_CHARS * BLOCK_LINES
READY = b"READY\n"
READY_ON_TTY = b"READY\r\n"
"""What the reader sees of READY through the terminal (ONLCR)."""

_ALPHABET = bytes(range(0x21, 0x7F))  # printable, no space: nothing a terminal interprets


def _body() -> bytes:
    """Lines 2..BLOCK_LINES of every block: fixed, varied printable text."""
    lines = []
    for i in range(1, BLOCK_LINES):
        start = (i * 7) % len(_ALPHABET)
        text = (_ALPHABET[start:] + _ALPHABET)[: LINE_CHARS - 1]
        lines.append(text + b"\n")
    return b"".join(lines)


_BODY = _body()


def block(number: int) -> bytes:
    head = b"block %012d " % number
    return head + b"=" * (LINE_CHARS - 1 - len(head)) + b"\n" + _BODY


def blocks_for(total_bytes: int) -> int:
    return max(1, -(-total_bytes // BLOCK_BYTES))


def blocks(total_bytes: int) -> Iterator[bytes]:
    for number in range(blocks_for(total_bytes)):
        yield block(number)


def expected_output(total_bytes: int) -> tuple[int, str]:
    """(length, sha256 hex) of the data as read from the PTY master, READY excluded."""
    digest = hashlib.sha256()
    length = 0
    for data in blocks(total_bytes):
        on_tty = data.replace(b"\n", b"\r\n")
        digest.update(on_tty)
        length += len(on_tty)
    return length, digest.hexdigest()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _wait_for_go() -> None:
    """Echo and line buffering off (output processing stays on: ONLCR), then one byte starts."""
    attrs = termios.tcgetattr(0)
    attrs[3] &= ~(termios.ECHO | termios.ICANON)
    attrs[6][termios.VMIN], attrs[6][termios.VTIME] = 1, 0
    termios.tcsetattr(0, termios.TCSANOW, attrs)
    _write_all(1, READY)
    os.read(0, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bytes", type=int, help="write at least this many bytes (whole blocks)")
    parser.add_argument("--wait", action="store_true", help="print READY, start on one byte")
    parser.add_argument("--trailer", help="a line printed after the data (an end marker)")
    parser.add_argument("--linger", type=float, default=0.0, metavar="SECONDS",
                        help="then stay until a byte arrives or this long (keeps a pane open)")
    args = parser.parse_args(argv)
    if args.wait:
        _wait_for_go()
    for data in blocks(args.bytes):
        _write_all(1, data)
    if args.trailer:
        _write_all(1, b"\n" + args.trailer.encode() + b"\n")
    if args.linger > 0:
        select.select([0], [], [], args.linger)
    return 0


if __name__ == "__main__":
    sys.exit(main())
