"""Bounded memory whatever clients do: replies a client does not read are held only up to a
per-connection and a total budget, connections past a cap get only a small error, and the
daemon serves everyone else meanwhile."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess

import zmq

from ptyd.client import Client
from ptyd.daemon.peers import PeerGate
from ptyd.proto import decode_reply, encode_request, limits
from tests.conftest import PYTHON, DaemonProcess, wait_until

MiB = 1 << 20
RSS_CEILING_MB = 400
"""docs/protocol.md §10: the daemon's resident size under the reference attack (300 stalled
peers, each asking for 4 MiB reads) stays below this."""


def _status_mb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _fill_session(client: Client, name: str, nbytes: int) -> None:
    """A session whose scrollback holds `nbytes` (4 MiB) of output."""
    code = f"import sys; sys.stdout.write('x' * {nbytes + MiB}); sys.stdout.flush(); input()"
    client.spawn([PYTHON, "-c", code], name=name, scrollback_bytes=nbytes)
    wait_until(lambda: client.info(name)["end"] >= nbytes + MiB, 30, 0.05,
               "the session's output to fill its scrollback")


def _stalled_peer(ctx: zmq.Context[zmq.Socket[bytes]], daemon: DaemonProcess
                  ) -> zmq.Socket[bytes]:
    """A real DEALER that takes in one reply at most and then never reads again: RCVHWM=1
    makes its ZeroMQ stop pulling from the connection, so the rest stays with the daemon."""
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVHWM, 1)
    sock.setsockopt(zmq.RCVBUF, 4096)
    sock.connect(f"ipc://{daemon.dir}/ctl.sock")
    return sock


def _read_request(msgid: int, session: str) -> list[bytes]:
    return encode_request(msgid, "read", {"session": session, "offset": 0, "clamp": True,
                                          "max_bytes": limits.MAX_READ_BYTES})


def test_300_peers_that_never_read_4_mib_replies_keep_the_daemon_under_its_ceiling(
        daemon: DaemonProcess, client: Client) -> None:
    _fill_session(client, "big", 4 * MiB)
    pid = daemon.proc.pid
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    try:
        peers = [_stalled_peer(ctx, daemon) for _ in range(300)]
        for n, peer in enumerate(peers):
            for k in range(3):
                peer.send_multipart(_read_request(n * 3 + k, "big"))
        # Every peer has been answered once (its first reply is in): the daemon handled them.
        wait_until(lambda: all(p.poll(0) for p in peers), 45, 0.1, "a reply to every peer")
        # Meanwhile, and after, the daemon serves a reading client: a whole 4 MiB in slices.
        info = client.info("big")
        offset, end = info["base"], info["end"]
        while offset < end:
            reply = client.read("big", offset, max_bytes=limits.MAX_READ_BYTES)
            assert len(reply["data"]) >= min(end - offset, limits.MIN_REPLY_ROOM_BYTES // 2)
            offset += len(reply["data"])
        assert client.hello()["pid"] == pid
        peak = _status_mb(pid, "VmHWM")  # the peak resident size since the daemon started
        assert peak < RSS_CEILING_MB, f"daemon peaked at {peak} MB"
        # What the stalled peers asked for was answered (maybe shortened) or refused.
        codes = []
        for peer in peers[:5]:
            for _ in range(3):
                assert peer.poll(20000)
                reply = decode_reply(peer.recv_multipart())
                codes.append(reply.error.code if reply.error else "ok")
                if reply.error:
                    assert reply.error.data is not None
                    assert reply.error.data["limit"] in ("max_queued_reply_bytes",
                                                         "max_peer_queued_reply_bytes")
        assert set(codes) <= {"ok", "limit_exceeded"}, codes
    finally:
        ctx.destroy(linger=0)


def _property(name: bytes, value: bytes) -> bytes:
    return bytes([len(name)]) + name + struct.pack(">I", len(value)) + value


class ZmtpPeer:
    """A client that speaks ZMTP 3.0 (as a DEALER) over a plain Unix socket and never reads a
    byte: a real ZeroMQ client would pull replies into its own queue; this one leaves them all
    to the daemon, as a hung client does."""

    def __init__(self, path: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(path)
        # What libzmq's own DEALER sends: signature, version 3.1, NULL, then READY.
        greeting = (b"\xff" + bytes(7) + b"\x01\x7f" + b"\x03\x01" + b"NULL".ljust(20, b"\0")
                    + b"\x00" + bytes(31))
        ready = b"\x05READY" + _property(b"Socket-Type", b"DEALER") + _property(b"Identity", b"")
        self.sock.sendall(greeting)
        # libzmq reads a greeting in steps: the rest must not arrive with it. Its own greeting
        # (64 bytes) is all this peer ever reads.
        self.sock.settimeout(10)
        got = b""
        while len(got) < 64:
            chunk = self.sock.recv(64 - len(got))
            assert chunk, "the daemon closed the connection during the greeting"
            got += chunk
        self.sock.sendall(b"\x04" + bytes([len(ready)]) + ready)

    def send(self, frames: list[bytes]) -> None:
        wire = b""
        for n, frame in enumerate(frames):
            more = 1 if n < len(frames) - 1 else 0
            if len(frame) < 256:
                wire += bytes([more]) + bytes([len(frame)]) + frame
            else:
                wire += bytes([more | 2]) + struct.pack(">Q", len(frame)) + frame
        self.sock.sendall(wire)

    def close(self) -> None:
        self.sock.close()


def test_one_peer_gets_no_more_than_its_own_budget(daemon: DaemonProcess, client: Client
                                                   ) -> None:
    _fill_session(client, "big", 4 * MiB)
    peer = ZmtpPeer(f"{daemon.dir}/ctl.sock")
    try:
        asks = limits.MAX_PEER_QUEUED_REPLY_BYTES // (4 * MiB) + 8
        for n in range(asks):
            peer.send(_read_request(n, "big"))
        peer.send(encode_request(asks, "hello", {}))
        last = f"request={asks - 1} error=limit_exceeded"  # the daemon's debug log line
        wait_until(lambda: last in daemon.log(), 20, 0.05, "the peer's last read refused")
        log = daemon.log()
        assert "max_peer_queued_reply_bytes" in log
        refused = sum(f"request={n} error=limit_exceeded" in log for n in range(asks))
        # 4 MiB each: its 64 MiB budget holds 15 replies (with their envelopes), and the first
        # went at least partly into the connection; all the others were refused.
        assert asks - 17 <= refused <= asks - 15, refused
        assert client.hello()["pid"] == daemon.proc.pid
    finally:
        peer.close()


def test_hello_reports_the_memory_limits(client: Client) -> None:
    reported = client.hello()["limits"]
    assert reported["max_queued_reply_bytes"] == limits.MAX_QUEUED_REPLY_BYTES
    assert reported["max_peer_queued_reply_bytes"] == limits.MAX_PEER_QUEUED_REPLY_BYTES
    assert reported["min_reply_room_bytes"] == limits.MIN_REPLY_ROOM_BYTES
    assert reported["tracked_reply_bytes"] == limits.TRACKED_REPLY_BYTES
    assert reported["control_sndhwm"] == limits.CONTROL_SNDHWM
    assert reported["max_peers"] == limits.MAX_PEERS


def test_connections_past_the_cap_get_limit_exceeded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A real ROUTER with a monitor, and real DEALERs: the gate counts connections as they come
    and go, and refuses peers it has not answered before once there are too many."""
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    try:
        router = ctx.socket(zmq.ROUTER)
        router.bind(f"ipc://{tmp_path}/r.sock")
        gate = PeerGate(ctx, router, "test", max_peers=3)
        dealers = []
        for n in range(5):
            dealer = ctx.socket(zmq.DEALER)
            dealer.setsockopt(zmq.LINGER, 0)
            dealer.setsockopt(zmq.ROUTING_ID, b"peer%d" % n)
            dealer.connect(f"ipc://{tmp_path}/r.sock")
            dealers.append(dealer)
            if n < 3:  # the first three are answered while under the cap
                wait_until(lambda n=n: (gate.drain(), gate.connections)[1] == n + 1, 10)
                assert gate.admit(b"peer%d" % n) is None
        wait_until(lambda: (gate.drain(), gate.connections)[1] == 5, 10)
        refused = gate.admit(b"peer4")
        assert refused is not None and refused.code == "limit_exceeded"
        assert refused.data == {"limit": "max_peers", "max": 3, "connections": 5}
        assert gate.admit(b"peer0") is None  # a known peer goes on being served
        for dealer in dealers[3:]:
            dealer.close()
        wait_until(lambda: (gate.drain(), gate.connections)[1] == 3, 10)
        assert gate.admit(b"peer4") is None
    finally:
        ctx.destroy(linger=0)


def test_a_daemon_with_too_many_connections_refuses_new_ones_and_serves_known_ones(
        daemon: DaemonProcess, client: Client) -> None:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    ctx.set(zmq.MAX_SOCKETS, limits.MAX_PEERS + 64)  # the default is 1023 sockets
    try:
        others = []
        for _ in range(limits.MAX_PEERS):  # with `client`, one over the cap
            sock = ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.IMMEDIATE, 1)  # POLLOUT only once connected
            sock.connect(f"ipc://{daemon.dir}/ctl.sock")
            others.append(sock)
        wait_until(lambda: all(s.getsockopt(zmq.EVENTS) & zmq.POLLOUT for s in others), 30,
                   0.05, "every connection to be made")
        # Connected on our side is not yet counted on the daemon's: its socket monitor reports
        # each connection on the daemon's own loop, later on a loaded machine. Ask it.
        wait_until(lambda: client.request("stats")["peers"] > limits.MAX_PEERS, 30, 0.05,
                   "the daemon to count every connection")
        late = others[-1]
        late.send_multipart(encode_request(1, "hello", {}))
        assert late.poll(20000)
        refused = decode_reply(late.recv_multipart()).error
        assert refused is not None and refused.code == "limit_exceeded"
        assert refused.data is not None and refused.data["limit"] == "max_peers"
        assert refused.data["connections"] > limits.MAX_PEERS
        assert client.hello()["pid"] == daemon.proc.pid  # a known client goes on
        for sock in others[: limits.MAX_PEERS // 2]:
            sock.close()
        # Once connections have gone, the late one is answered.
        def answered() -> bool:
            late.send_multipart(encode_request(2, "hello", {}))
            assert late.poll(20000)
            return decode_reply(late.recv_multipart()).error is None
        wait_until(answered, 20, 0.05, "the late connection to be answered")
    finally:
        ctx.destroy(linger=0)


_STALLED_SUBSCRIBERS = """
import sys, zmq
ctx = zmq.Context()
ctx.set(zmq.MAX_SOCKETS, 1000)
socks = []
for _ in range(300):
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.RCVHWM, 1)
    s.setsockopt(zmq.RCVBUF, 4096)
    s.connect(sys.argv[1])
    s.setsockopt(zmq.SUBSCRIBE, b"")
    socks.append(s)
for s in socks:  # each is subscribed once it got something (a heartbeat)
    s.recv_multipart()
print("subscribed", flush=True)
sys.stdin.read()
"""


def test_300_subscribers_that_never_read_hold_only_the_publish_queues(
        daemon: DaemonProcess, client: Client) -> None:
    """A process whose 300 SUB sockets stop reading (it is stopped): each keeps at most
    `publish_hwm` messages queued in the daemon, and messages are shared between them."""
    pid = daemon.proc.pid
    stalled = subprocess.Popen([PYTHON, "-c", _STALLED_SUBSCRIBERS,
                                f"ipc://{daemon.dir}/pub.sock"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert stalled.stdout is not None and stalled.stdout.readline() == b"subscribed\n"
        os.kill(stalled.pid, signal.SIGSTOP)  # its ZeroMQ stops reading too
        total = 100 * MiB
        client.spawn(["sh", "-c", f"head -c {total} /dev/zero | tr '\\0' x; exec sleep 60"],
                     name="gen", scrollback_bytes=4 * MiB)
        wait_until(lambda: client.info("gen")["end"] >= total, 60, 0.1, "100 MiB of output")
        peak = _status_mb(pid, "VmHWM")
        assert peak < RSS_CEILING_MB, f"daemon peaked at {peak} MB"
        assert client.hello()["pid"] == pid
    finally:
        stalled.kill()
        stalled.wait()
