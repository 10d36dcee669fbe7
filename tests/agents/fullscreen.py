#!/usr/bin/env python3
"""A full-screen program: alternate screen, draws a frame with the size and a counter,
redraws everything on SIGWINCH and on each key; 'q' leaves the alternate screen and exits."""

import os
import signal
import sys
import termios
import tty

count = 0


def draw() -> None:
    cols, rows = os.get_terminal_size(0)
    out = ["\x1b[H\x1b[2J"]
    out.append("+" + "-" * (cols - 2) + "+")
    for row in range(2, rows):
        text = f"size {cols}x{rows} redraw {count}" if row == 2 else ""
        out.append(f"\x1b[{row};1H|" + text.ljust(cols - 2)[: cols - 2] + "|")
    out.append(f"\x1b[{rows};1H+" + "-" * (cols - 2) + "+")
    sys.stdout.write("".join(out))
    sys.stdout.flush()


def on_winch(*_: object) -> None:
    global count
    count += 1
    draw()


def main() -> None:
    global count
    saved = termios.tcgetattr(0)
    tty.setraw(0)
    sys.stdout.write("\x1b[?1049h")
    signal.signal(signal.SIGWINCH, on_winch)
    try:
        draw()
        while True:
            key = os.read(0, 1)
            if not key or key == b"q":
                break
            count += 1
            draw()
    finally:
        sys.stdout.write("\x1b[?1049l")
        sys.stdout.flush()
        termios.tcsetattr(0, termios.TCSADRAIN, saved)
    print("fullscreen done")


if __name__ == "__main__":
    main()
