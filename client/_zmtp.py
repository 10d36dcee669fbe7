"""A minimal ZMTP 3.1 DEALER over a unix socket, NULL security: just enough for one request.

Why: importing pyzmq costs a one-request command (`ptyd ls`, `ptyd send`) more than Python's
own start-up. The daemon's local control socket is a plain ZeroMQ ROUTER on ipc:// (no CURVE:
the runtime directory is private), which speaks ZMTP (rfc.zeromq.org/spec/37) on an AF_UNIX
stream socket. This module speaks the client side of it: the greeting, the READY command, and
message frames. Remote daemons (TCP with CURVE) use pyzmq.

`ZmtpStream` is a polled connection, for `ptyd attach` on the local daemon (its subscription,
and its keystrokes): pyzmq runs an I/O thread that takes each message from the application
thread and then wakes, or receives it and then wakes the application thread, a thread hop per
message each way; on the socket itself, a keystroke out and its echo in wake nobody else.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable

GREETING = (b"\xff" + b"\x00" * 8 + b"\x7f"  # signature
            + b"\x03\x01"                      # version 3.1
            + b"NULL".ljust(20, b"\x00")       # mechanism
            + b"\x00"                          # as-server: no
            + b"\x00" * 31)                    # filler
FLAG_MORE, FLAG_LONG, FLAG_COMMAND = 0x01, 0x02, 0x04


class ZmtpError(OSError):
    """The peer does not speak ZMTP 3 with NULL security as a ROUTER (not a ptyd daemon)."""


def _property(name: bytes, value: bytes) -> bytes:
    return bytes([len(name)]) + name + struct.pack(">I", len(value)) + value


def _frame(body: bytes, flags: int) -> bytes:
    if len(body) > 255:
        return bytes([flags | FLAG_LONG]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


class ZmtpDealer:
    """One connection to a ROUTER at a unix socket path. Blocking, with the socket's timeout."""

    def __init__(self, path: str, timeout: float | None):
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._buf = bytearray()
        try:
            self._sock.settimeout(timeout)
            self._sock.connect(path)
            self._handshake()
        except BaseException:
            self._sock.close()
            raise

    def settimeout(self, timeout: float | None) -> None:
        self._sock.settimeout(timeout)

    def close(self) -> None:
        self._sock.close()

    def _handshake(self) -> None:
        _handshake(self._sock, self._exact, b"DEALER", b"ROUTER")

    def send_multipart(self, frames: list[bytes]) -> None:
        last = len(frames) - 1
        self._sock.sendall(b"".join(_frame(f, 0 if i == last else FLAG_MORE)
                                    for i, f in enumerate(frames)))

    def recv_multipart(self) -> list[bytes]:
        """The next message (commands such as PING are skipped)."""
        parts: list[bytes] = []
        while True:
            flags, body = self._frame()
            if flags & FLAG_COMMAND:
                continue
            parts.append(body)
            if not flags & FLAG_MORE:
                return parts

    def _frame(self) -> tuple[int, bytes]:
        return _read_frame(self._exact)

    def _exact(self, n: int) -> bytes:
        return _exact(self._sock, self._buf, n)


def _handshake(sock: socket.socket, exact: Callable[[int], bytes], kind: bytes,
               peer_kind: bytes) -> None:
    """Greet as a `kind` socket with NULL security; check the peer is a `peer_kind`."""
    # The whole greeting at once: a ZMTP 3 peer reads it in parts, as it likes.
    ready = b"\x05READY" + _property(b"Socket-Type", kind) + _property(b"Identity", b"")
    sock.sendall(GREETING + _frame(ready, FLAG_COMMAND))
    greeting = exact(64)
    if greeting[0] != 0xFF or greeting[9] & 1 != 1 or greeting[10] < 3:
        raise ZmtpError("the peer did not greet with ZMTP 3")
    if greeting[12:32].rstrip(b"\x00") != b"NULL":
        raise ZmtpError("the peer wants a security mechanism (not the local daemon)")
    flags, body = _read_frame(exact)
    if not flags & FLAG_COMMAND or body[:6] != b"\x05READY":
        raise ZmtpError("the peer sent no READY command")
    if b"Socket-Type\x00\x00\x00" + bytes([len(peer_kind)]) + peer_kind not in body:
        raise ZmtpError(f"the peer is not a {peer_kind.decode()} socket")


def _read_frame(exact: Callable[[int], bytes]) -> tuple[int, bytes]:
    flags = exact(1)[0]
    size = struct.unpack(">Q", exact(8))[0] if flags & FLAG_LONG else exact(1)[0]
    return flags, exact(size)


def _exact(sock: socket.socket, buf: bytearray, n: int) -> bytes:
    """Exactly n bytes, from `buf` first, then from blocking reads of `sock`."""
    while len(buf) < n:
        chunk = sock.recv(max(65536, n - len(buf)))
        if not chunk:
            raise ConnectionResetError("the daemon closed the connection")
        buf += chunk
    data = bytes(buf[:n])
    del buf[:n]
    return data


class ZmtpStream:
    """A connection to one of the daemon's sockets at a unix socket path, polled by its caller:
    the handshake blocks (with `timeout`), then the socket is non-blocking and the caller polls
    `fileno()` and takes what arrived with `receive()`. As a `SUB` (to the `XPUB`) it
    subscribes with ZMTP 3.0 subscribe messages (first byte 1, then the topic), which libzmq's
    XPUB takes from 3.x peers; as a `DEALER` (to the `ROUTER`) it sends requests."""

    def __init__(self, path: str, timeout: float | None, kind: bytes, peer_kind: bytes):
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._buf = bytearray()
        self._pos = 0
        """Where the unparsed bytes of `_buf` start (compacted once per read, not per frame)."""
        try:
            self._sock.settimeout(timeout)
            self._sock.connect(path)
            _handshake(self._sock, lambda n: _exact(self._sock, self._buf, n), kind, peer_kind)
        except BaseException:
            self._sock.close()
            raise
        self._sock.setblocking(False)

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()

    def subscribe(self, topic: bytes) -> None:
        self.send_multipart([b"\x01" + topic])

    def unsubscribe(self, topic: bytes) -> None:
        self.send_multipart([b"\x00" + topic])

    def send_multipart(self, frames: list[bytes]) -> None:
        """Send one message whole. A few bytes at a time (keystrokes, subscriptions): it waits
        for room rather than queue, as a terminal's write does (the daemon reads at once)."""
        last = len(frames) - 1
        data = b"".join(_frame(f, 0 if i == last else FLAG_MORE) for i, f in enumerate(frames))
        try:
            sent = self._sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        if sent < len(data):
            self._sock.setblocking(True)
            try:
                self._sock.sendall(data[sent:])
            finally:
                self._sock.setblocking(False)

    def receive(self, limit: int) -> list[list[bytes]]:
        """Up to `limit` messages: those already buffered, else what one read brings (none if
        nothing came). ConnectionResetError once the daemon closed the connection."""
        messages = self._parse(limit)
        if messages:
            return messages
        try:
            chunk = self._sock.recv(1 << 18)
        except (BlockingIOError, InterruptedError):
            return []
        if not chunk:
            raise ConnectionResetError("the daemon closed the connection")
        if self._pos:
            del self._buf[:self._pos]
            self._pos = 0
        self._buf += chunk
        return self._parse(limit)

    def buffered(self) -> bool:
        """Whether bytes already read wait to be parsed (poll will not report them)."""
        return self._pos < len(self._buf)

    def _parse(self, limit: int) -> list[list[bytes]]:
        """Complete messages from the buffer; commands (PING, ...) are skipped."""
        buf, end = self._buf, len(self._buf)
        messages: list[list[bytes]] = []
        parts: list[bytes] = []
        pos = start = self._pos
        while len(messages) < limit and end - pos >= 2:
            flags = buf[pos]
            if flags & FLAG_LONG:
                if end - pos < 9:
                    break
                size = int.from_bytes(buf[pos + 1:pos + 9], "big")
                pos += 9
            else:
                size = buf[pos + 1]
                pos += 2
            if end - pos < size:
                break
            body = bytes(buf[pos:pos + size])
            pos += size
            if flags & FLAG_COMMAND:
                start = pos
                continue
            parts.append(body)
            if not flags & FLAG_MORE:
                messages.append(parts)
                parts = []
                start = pos
        self._pos = start  # a message cut short by the read is parsed again, whole, next time
        return messages
