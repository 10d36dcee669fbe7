"""A viewer that was too slow for the end of a burst still shows it: output dropped for it at
the very end reveals no gap (nothing comes after it), and heartbeats keep its poll from timing
out, so attach asks the ring after a quiet while."""

from __future__ import annotations

import os
import shlex
import signal

from ptyd.client import Client
from tests.attach.conftest import Tmux, attach_command
from tests.conftest import DaemonProcess, agent, wait_until

MARKER = "THE-END-OF-IT"


def test_output_dropped_at_the_end_of_a_burst_is_shown(client: Client, daemon: DaemonProcess,
                                                       tmux: Tmux) -> None:
    printer = shlex.join(agent("printer", "30000000"))
    client.spawn(["sh", "-c", f"read x; {printer}; echo {MARKER}; exec sleep 60"], name="t",
                 cols=80, rows=24)
    pane = tmux.start(attach_command(daemon, "t"), 80, 24)
    wait_until(lambda: client.info("t")["viewers"] == 1)
    attach_pid = int(os.popen(f"pgrep -f 'attach t' -P {tmux.pane_pid(pane)}").read().split()[0])
    os.kill(attach_pid, signal.SIGSTOP)  # its queue at the daemon overflows: output is dropped
    try:
        client.input("t", b"\r")

        def tail() -> bytes:
            info = client.info("t")
            return bytes(client.read("t", max(info["base"], info["end"] - 4096))["data"])

        wait_until(lambda: MARKER.encode() in tail(), timeout=60, message="the burst's end")
    finally:
        os.kill(attach_pid, signal.SIGCONT)
    tmux.wait_for(pane, MARKER, timeout=30)
    tmux.keys(pane, "C-\\")
