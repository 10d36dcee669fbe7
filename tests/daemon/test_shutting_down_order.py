"""D1: while the daemon stops, every op but the read-only ones is answered `shutting_down`,
before the op or its parameters are looked at (docs/protocol.md §3.6, check 7 before 8 and 9):
a client told so retries on the next daemon, whatever it sent."""

from __future__ import annotations

import os
import signal

import pytest

from ptyd.client import Client, ShuttingDown, UnknownOp

from ..conftest import DaemonProcess, agent, load_factor, wait_for_output


def test_a_stopping_daemon_answers_shutting_down_before_validating(
        daemon: DaemonProcess, client: Client) -> None:
    client.spawn(agent("ignore_term"), name="stubborn")
    wait_for_output(client, "stubborn", "stubborn and ready")
    with pytest.raises(UnknownOp):  # running: an unknown op is unknown
        client.request("frob", {})
    # The stubborn program keeps the daemon stopping for the grace (then SIGKILL ends it), long
    # enough for these few requests however loaded the machine is.
    client.shutdown(grace=10 * load_factor())
    with daemon.client() as other:
        with pytest.raises(ShuttingDown):
            other.request("frob", {})
        with pytest.raises(ShuttingDown):
            other.request("spawn", {"argv": 42})
        stubborn = other.info("stubborn")  # read-only ops are still served
        assert stubborn["name"] == "stubborn"
    # Done: end the stubborn program now rather than wait out the grace (the fixture then sees
    # the daemon finish its shutdown).
    os.kill(stubborn["pid"], signal.SIGKILL)
