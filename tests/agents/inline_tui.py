#!/usr/bin/env python3
"""An inline-drawing agent, like the Claude Code CLI: no alternate screen; it draws a prompt box
below its transcript and redraws that box in place with relative cursor moves on every key.

It hides the cursor, turns on bracketed paste, and asks the terminal for its device attributes
(ESC[c) at start, as claude does. Input it receives is shown in the box; Enter moves the line
into the transcript as 'you said: ...'; a line 'exit' quits. With --show-raw every input read is
also printed as its repr, so a test can see stray terminal answers arriving as input.
"""

import os
import signal
import sys
import termios
import tty

BOX_LINES = 3
typed = ""
show_raw = "--show-raw" in sys.argv


def width() -> int:
    return max(20, os.get_terminal_size(0).columns)


def box() -> str:
    w = width() - 2
    return ("+" + "-" * w + "+\r\n"
            + "| > " + typed[: w - 3].ljust(w - 3) + "|\r\n"
            + "+" + "-" * w + "+")


def redraw() -> None:
    # Up to the box's first line, erase it and everything below, draw it again.
    sys.stdout.write(f"\r\x1b[{BOX_LINES - 1}A\x1b[J" + box())
    sys.stdout.flush()


def say(line: str) -> None:
    sys.stdout.write(f"\r\x1b[{BOX_LINES - 1}A\x1b[J" + line + "\r\n" + box())
    sys.stdout.flush()


def main() -> None:
    global typed
    saved = termios.tcgetattr(0)
    tty.setraw(0)
    sys.stdout.write("inline agent v1\r\n\x1b[?25l\x1b[?2004h\x1b[c" + box())
    sys.stdout.flush()
    signal.signal(signal.SIGWINCH, lambda *_: redraw())
    try:
        while True:
            data = os.read(0, 1024)
            if not data:
                break
            if show_raw:
                say("raw " + repr(data))
            for byte in data.decode(errors="replace"):
                if byte in "\r\n":
                    if typed == "exit":
                        return
                    say("you said: " + typed)
                    typed = ""
                elif byte == "\x7f":
                    typed = typed[:-1]
                    redraw()
                elif byte.isprintable():
                    typed += byte
                    redraw()
    finally:
        sys.stdout.write("\r\n\x1b[?25h\x1b[?2004l")
        sys.stdout.flush()
        termios.tcsetattr(0, termios.TCSADRAIN, saved)


if __name__ == "__main__":
    main()
