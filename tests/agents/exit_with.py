#!/usr/bin/env python3
"""Prints a line and exits with the code given (or kills itself with -SIGNAL)."""

import os
import signal
import sys

arg = sys.argv[1]
print(f"exiting with {arg}", flush=True)
if arg.startswith("-"):
    os.kill(os.getpid(), signal.Signals["SIG" + arg[1:]])
sys.exit(int(arg))
