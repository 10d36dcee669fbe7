"""stats: the daemon-wide figures, against what the sessions really are."""

from __future__ import annotations

import json

import pytest

from ptyd.client import BadRequest, Client
from ptyd.proto.ops import STATES
from tests.conftest import DaemonProcess, agent, wait_for_output, wait_until


def test_stats_counts_sessions_by_status_and_state_and_the_memory_held(client: Client) -> None:
    hello = client.hello()
    assert "stats" in hello["ops"]  # from the specs: no list of ops was edited for it
    empty = client.request("stats")
    assert empty["sessions"] == empty["running"] == empty["viewers"] == 0
    assert empty["states"] == dict.fromkeys(STATES, 0)
    assert empty["pid"] == hello["pid"] and empty["version"] == hello["version"]

    client.spawn(agent("prompt"), name="p")
    client.spawn(["sh", "-c", "printf 0123456789"], name="done")
    client.wait("done", 10)
    wait_for_output(client, "p", "ready> ")
    stats = client.request("stats")
    assert stats["sessions"] == 2 and stats["running"] == 1
    assert stats["states"]["exited"] == 1 and sum(stats["states"].values()) == 2
    held = sum(s["end"] - s["base"] for s in client.list())
    assert stats["scrollback_bytes"] == held >= 10
    assert stats["scrollback_committed_bytes"] >= 2 * 4096
    assert stats["rss_bytes"] > 1 << 20  # a Python daemon holds megabytes, not bytes
    assert stats["uptime_s"] >= 0 and stats["queued_reply_bytes"] >= 0
    assert stats["last_seq"] >= hello["last_seq"] + 2  # spawned, exited, states

    client.remove("done")
    wait_until(lambda: client.request("stats")["sessions"] == 1)


def test_stats_counts_the_connected_clients(daemon: DaemonProcess, client: Client) -> None:
    wait_until(lambda: client.request("stats")["peers"] == 1)
    with daemon.client() as other:
        other.hello()
        wait_until(lambda: client.request("stats")["peers"] == 2)
    wait_until(lambda: client.request("stats")["peers"] == 1)


def test_stats_takes_no_parameters(client: Client) -> None:
    with pytest.raises(BadRequest, match="unknown parameter"):
        client.request("stats", {"session": "p"})


def test_ptyd_stats_prints_the_figures_and_json(daemon: DaemonProcess) -> None:
    daemon.cli("new", "-s", "s1", "--", "sh", "-c", "echo hi")
    daemon.cli("wait", "s1")
    shown = daemon.cli("stats")
    assert shown.returncode == 0, shown.stderr
    assert "sessions   1 (0 running; 1 exited), 0 viewer(s), 1 client connection(s)" in \
        shown.stdout
    figures = json.loads(daemon.cli("stats", "--json").stdout)
    assert figures["sessions"] == 1 and figures["states"]["exited"] == 1
