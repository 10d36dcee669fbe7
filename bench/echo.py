"""A keystroke echo for the benchmarks, as a TUI agent does it: terminal in raw mode, every byte
read is written back at once. It prints READY when raw mode is on, and exits on QUIT (Ctrl-]).
"""

from __future__ import annotations

import os
import sys
import tty

QUIT = b"\x1d"


def main() -> int:
    tty.setraw(0)
    os.write(1, b"READY")
    while True:
        data = os.read(0, 4096)
        if not data or QUIT in data:
            return 0
        os.write(1, data)


if __name__ == "__main__":
    sys.exit(main())
