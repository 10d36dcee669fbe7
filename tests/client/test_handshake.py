"""A local connection whose handshake is cut short is a daemon going away, not a wrong key."""

from __future__ import annotations

import fcntl
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptyd.client import AuthenticationFailed, Client, PtydError, Timeout
from ptyd.proto.paths import CONTROL_SOCKET, LOCK_FILE


@pytest.fixture
def cutting_listener(tmp_path: Path) -> Iterator[Path]:
    """A private runtime directory whose lock is held (as a daemon re-executing itself during
    ptyd upgrade holds it) and whose control socket accepts connections and drops them in the
    middle of the ZeroMQ greeting."""
    directory = tmp_path / "run"
    directory.mkdir(mode=0o700)
    lock = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(directory / CONTROL_SOCKET))
    server.listen(16)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            try:
                conn.sendall(b"\xff" + b"\x00" * 8 + b"\x7f\x03")  # half a ZMTP 3 greeting
            except OSError:
                pass  # the client gave up on this connection first (a loaded machine)
            finally:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield directory
    stop.set()
    thread.join()
    server.close()
    os.close(lock)


def test_a_handshake_cut_short_without_curve_is_not_called_a_wrong_key(
        cutting_listener: Path) -> None:
    with pytest.raises(PtydError) as caught:
        Client(cutting_listener, timeout=1.0)
    assert not isinstance(caught.value, AuthenticationFailed), caught.value
    assert isinstance(caught.value, Timeout)
