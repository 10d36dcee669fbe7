#!/usr/bin/env python3
"""Like bash when a SIGHUP lands between drawing its prompt and waiting for a key: that SIGHUP
is taken and nothing happens until the next signal; SIGTERM is ignored (as by an interactive
shell); a second SIGHUP ends it."""

import os
import signal
from types import FrameType

hangups = 0


def hangup(signum: int, frame: FrameType | None) -> None:
    global hangups
    hangups += 1
    if hangups >= 2:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGHUP)


signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGHUP, hangup)
print("READY", flush=True)
while True:
    signal.pause()
