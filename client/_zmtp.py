"""A minimal ZMTP 3.1 DEALER over a unix socket, NULL security: just enough for one request.

Why: importing pyzmq costs a one-request command (`ptyd ls`, `ptyd send`) more than Python's
own start-up. The daemon's local control socket is a plain ZeroMQ ROUTER on ipc:// (no CURVE:
the runtime directory is private), which speaks ZMTP (rfc.zeromq.org/spec/37) on an AF_UNIX
stream socket. This module speaks the client side of it: the greeting, the READY command, and
message frames. Remote daemons (TCP with CURVE) and everything streamed use pyzmq.
"""

from __future__ import annotations

import socket
import struct

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
        # The whole greeting at once: a ZMTP 3 peer reads it in parts, as it likes.
        ready = b"\x05READY" + _property(b"Socket-Type", b"DEALER") + _property(b"Identity", b"")
        self._sock.sendall(GREETING + _frame(ready, FLAG_COMMAND))
        greeting = self._exact(64)
        if greeting[0] != 0xFF or greeting[9] & 1 != 1 or greeting[10] < 3:
            raise ZmtpError("the peer did not greet with ZMTP 3")
        if greeting[12:32].rstrip(b"\x00") != b"NULL":
            raise ZmtpError("the peer wants a security mechanism (not the local daemon)")
        flags, body = self._frame()
        if not flags & FLAG_COMMAND or body[:6] != b"\x05READY":
            raise ZmtpError("the peer sent no READY command")
        if b"Socket-Type\x00\x00\x00\x06ROUTER" not in body:
            raise ZmtpError("the peer is not a ROUTER socket")

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
        flags = self._exact(1)[0]
        size = struct.unpack(">Q", self._exact(8))[0] if flags & FLAG_LONG else self._exact(1)[0]
        return flags, self._exact(size)

    def _exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self._sock.recv(max(65536, n - len(self._buf)))
            if not chunk:
                raise ConnectionResetError("the daemon closed the connection")
            self._buf += chunk
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data
