"""stats: the daemon-wide figures, against what the sessions really are."""

from __future__ import annotations

import json

import pytest
import zmq

from ptyd.client import BadRequest, Client, PtydError
from ptyd.proto.envelope import encode_request
from ptyd.proto.ops import STATES
from tests.conftest import (
    DaemonProcess,
    agent,
    wait_for_output,
    wait_until,
)


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



def test_clients_back_the_moment_an_upgraded_daemon_binds_are_counted(
        daemon: DaemonProcess, client: Client) -> None:
    """Clients connected across an upgrade (viewers, programs) reconnect the moment the
    successor binds, while it is still adopting the sessions. The peer count (stats.peers,
    and the max_peers cap built on it) must see them and their leaving: the socket monitor
    was attached only after the adoption, so they were never counted, and their disconnects
    later took the count below the truth."""
    for i in range(20):  # adoption work between the successor's bind and its serving
        client.spawn(["sleep", "1000"], name=f"s{i}")
    base = client.request("stats")["peers"]  # the client's own connection(s)
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    try:
        early = []
        for i in range(50):
            sock = ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.RECONNECT_IVL, 1)  # back at once when the successor binds
            sock.connect(f"ipc://{daemon.dir}/ctl.sock")
            sock.send_multipart(encode_request(i, "hello", {}))
            assert sock.poll(20000)
            sock.recv_multipart()
            early.append(sock)
        wait_until(lambda: client.request("stats")["peers"] == base + 50, 30, 0.05,
                   "the 50 to be counted")
        client.request("upgrade")

        def upgraded() -> bool:
            try:
                return "daemon.upgraded" in [e["type"] for e in client.events(0)["events"]]
            except PtydError:
                return False  # a request caught by the re-exec: ask again
        wait_until(upgraded, 60, 0.05, "the successor to serve")
        wait_until(lambda: client.request("stats")["peers"] == base + 50, 30, 0.05,
                   "the 50 early connections and the client's to be counted again")
        for sock in early[1:]:
            sock.close()
        wait_until(lambda: client.request("stats")["peers"] == base + 1, 30, 0.05,
                   "the count to follow the 49 that left")
    finally:
        ctx.destroy(linger=0)
