"""A viewer frozen (SIGSTOP) while a flood of messages overflows its queue and turns the
scrollback over, then resumed: it catches up, draws the session's screen as it is now, and still
answers the keyboard.

The last chunks of the flood are among those dropped for it, and no later chunk or event shows
that gap: before the rules read to the end at the first quiet heartbeat after output, such a
viewer sat behind the end forever (the frozen-viewer benchmark's failure)."""

from __future__ import annotations

import os
import shlex

from ptyd.client import Client
from tests.attach.conftest import Tmux, attach_command, reference_screen
from tests.conftest import AGENTS, PYTHON, DaemonProcess, stopped, wait_for_output, wait_until

RING_BYTES = 64 << 10
FLOOD_LINES = 4000
"""Near 4000 messages, several times a stopped viewer's queue (1000 in its SUB socket, 256 in
the daemon's), and 300 kB, several times the ring."""


def test_frozen_viewer_catches_up_after_a_flood(client: Client, daemon: DaemonProcess,
                                                tmux: Tmux) -> None:
    trickle = shlex.join([PYTHON, str(AGENTS / "trickle.py"), str(FLOOD_LINES)])
    client.spawn(["sh", "-c", f"echo armed; read go; exec {trickle}"], name="fl", cols=80,
                 rows=24, scrollback_bytes=RING_BYTES)
    wait_for_output(client, "fl", "armed")
    pane = tmux.start(attach_command(daemon, "fl"), 80, 24)
    tmux.wait_for(pane, "armed")
    pid = int(os.popen(f"pgrep -f 'attach fl' -P {tmux.pane_pid(pane)}").read().split()[0])
    with stopped(pid):
        client.input("fl", "\r")
        # (clamped reads: the ring turns over under them while the flood goes on)
        wait_until(lambda: bytes(client.read("fl", client.info("fl")["end"] - 6, clamp=True)
                                 ["data"]) == b"done\r\n", timeout=120, message="the flood to end")
    info = client.info("fl")
    tail = bytes(client.read("fl", info["base"], max_bytes=RING_BYTES, clamp=True)["data"])
    expected = reference_screen(tail, 80, 24)
    wait_until(lambda: tmux.screen(pane) == expected, timeout=30,
               message=f"the resumed viewer to draw the screen ending in {expected[-3:]}")
    tmux.keys(pane, "Enter")  # typed into the viewer: the program reads its line and exits
    tmux.wait_for(pane, "[rc=0]")
