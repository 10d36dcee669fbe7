"""An agent with an end-of-session hook, as Claude Code runs `SessionEnd`: on SIGHUP or SIGTERM
it starts the hook (a process that writes its pid to HOOK_FILE, then lingers, deaf to SIGHUP
and SIGTERM), waits for it to have written, and exits. The hook process must end with the
session all the same.

usage: session_end.py HOOK_FILE
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType


def main() -> None:
    hook_file = sys.argv[1]

    def end(signum: int, frame: FrameType | None) -> None:
        for other in (signal.SIGHUP, signal.SIGTERM):  # once (the hook inherits this too)
            signal.signal(other, signal.SIG_IGN)
        subprocess.Popen(["sh", "-c", f'echo $$ > "{hook_file}.tmp"; '
                          f'mv "{hook_file}.tmp" "{hook_file}"; exec sleep 1000'])
        deadline = time.monotonic() + 10
        while not os.path.exists(hook_file) and time.monotonic() < deadline:
            time.sleep(0.01)  # the hook's work is done when its file is there
        os._exit(0)

    signal.signal(signal.SIGHUP, end)
    signal.signal(signal.SIGTERM, end)
    print("READY", flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
