#!/usr/bin/env python3
"""An agent-like prompt: prints 'ready> ', answers each line, exits on request.

  'exit N'  -> prints 'bye' and exits with code N
  'size'    -> prints the terminal size as 'size=COLSxROWS'
  'env NAME'-> prints 'NAME=value' (or 'NAME unset')
  anything  -> prints 'echo: <line>'
A SIGWINCH prints 'winch COLSxROWS', as an agent redrawing on resize would notice it; a SIGQUIT
(Ctrl-backslash typed at it) prints 'got SIGQUIT' instead of dumping core.
"""

import os
import signal
import sys


def size() -> str:
    cols, rows = os.get_terminal_size(0)
    return f"{cols}x{rows}"


def main() -> None:
    signal.signal(signal.SIGWINCH, lambda *_: print(f"\r\nwinch {size()}", flush=True))
    signal.signal(signal.SIGQUIT, lambda *_: print("\r\ngot SIGQUIT", flush=True))
    while True:
        sys.stdout.write("ready> ")
        sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            return
        line = line.strip()
        if line.startswith("exit"):
            print("bye", flush=True)
            sys.exit(int(line.split()[1]) if len(line.split()) > 1 else 0)
        elif line == "size":
            print(f"size={size()}", flush=True)
        elif line.startswith("env "):
            name = line.split()[1]
            value = os.environ.get(name)
            print(f"{name}={value}" if value is not None else f"{name} unset", flush=True)
        else:
            print(f"echo: {line}", flush=True)


if __name__ == "__main__":
    main()
