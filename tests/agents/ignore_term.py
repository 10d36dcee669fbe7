#!/usr/bin/env python3
"""A stubborn agent: ignores SIGTERM and SIGHUP, so only SIGKILL ends it."""

import signal
import sys

signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
print("stubborn and ready", flush=True)
while True:
    signal.pause()
sys.exit(0)
