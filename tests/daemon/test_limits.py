"""Protection: limits refuse cleanly, a flooding client cannot starve others, and a client that
disconnects mid-request leaves nothing half-done."""

from __future__ import annotations

import threading
import time

import pytest
import zmq

from ptyd.client import Client, LimitExceeded
from ptyd.proto import encode_request
from tests.conftest import DaemonProcess, slack, start_daemon, stop_daemon, wait_until


def test_flooding_client_does_not_starve_another(client: Client, daemon: DaemonProcess) -> None:
    stop = threading.Event()

    def flood() -> None:
        ctx = zmq.Context()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.SNDHWM, 0)
        sock.connect(f"ipc://{daemon.dir}/ctl.sock")
        n = 0
        while not stop.is_set():
            sock.send_multipart(encode_request(n & 0xFFFFFFFF, "list", {}))
            n += 1
            while sock.poll(0):  # read some replies, not all: a careless client
                sock.recv_multipart()
        ctx.destroy(linger=0)

    flooder = threading.Thread(target=flood)
    flooder.start()
    try:
        times = []
        for _ in range(50):
            started = time.monotonic()
            client.hello()
            times.append(time.monotonic() - started)
        times.sort()
        # ROUTER queues fairly per client and the daemon takes a bounded batch per wakeup:
        # the polite client is served promptly even while another floods.
        assert times[len(times) // 2] < slack(0.5), times
    finally:
        stop.set()
        flooder.join(10)


def test_client_gone_mid_request_leaves_nothing_half_done(client: Client,
                                                          daemon: DaemonProcess) -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.connect(f"ipc://{daemon.dir}/ctl.sock")
    sock.send_multipart(encode_request(1, "spawn", {"argv": ["sleep", "30"], "name": "orphan"}))
    sock.send_multipart(encode_request(2, "wait", {"session": "orphan"}))
    ctx.destroy(linger=1000)  # gone before reading any reply
    info = wait_until(lambda: next((s for s in client.list() if s["name"] == "orphan"), None))
    assert info["status"] == "running" and info["pid"] > 0  # whole, not half-made
    client.kill("orphan", grace=1)
    assert client.wait("orphan", 10)["exited"]  # the abandoned wait did not wedge anything
    assert "Traceback" not in daemon.log()


def test_session_and_scrollback_caps(rundir) -> None:  # type: ignore[no-untyped-def]
    d = start_daemon(rundir, "--max-sessions", "2", "--max-total-scrollback", "96k",
                     "--scrollback", "32k")
    try:
        with d.client() as c:
            c.spawn(["sleep", "30"], name="a")
            with pytest.raises(LimitExceeded) as e:
                c.spawn(["sleep", "30"], name="big", scrollback_bytes=80 << 10)
            assert e.value.data["limit"] == "max_total_scrollback"
            c.spawn(["sleep", "30"], name="b")
            with pytest.raises(LimitExceeded) as e:
                c.spawn(["sleep", "30"], name="c")
            assert e.value.data["limit"] == "max_sessions" and "ptyd rm" in str(e.value)
    finally:
        assert stop_daemon(d) == 0
