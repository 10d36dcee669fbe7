"""A stranger's "daemon" for the trust tests: run as another user (with the system python, so it
needs nothing of ours), it holds the lock and listens on the sockets of a runtime directory the
way a ptyd daemon does, and appends every byte a client sends to <dir>/../received.

Usage: socket_trap.py DIR. Writes <dir>/../ready once listening; runs until killed.
"""

from __future__ import annotations

import fcntl
import os
import selectors
import socket
import sys


def main(directory: str) -> None:
    lock = os.open(os.path.join(directory, "daemon.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX)
    os.write(lock, f"{os.getpid()}\n".encode())
    received = os.path.join(directory, os.pardir, "received")
    sel = selectors.DefaultSelector()
    for name in ("ctl.sock", "pub.sock"):
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(os.path.join(directory, name))
        os.chmod(os.path.join(directory, name), 0o777)  # let anyone in, as a trap would
        server.listen()
        sel.register(server, selectors.EVENT_READ, "accept")
    with open(os.path.join(directory, os.pardir, "ready"), "w"):
        pass
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if key.data == "accept":
                conn, _ = sock.accept()
                sel.register(conn, selectors.EVENT_READ, "read")
                continue
            data = sock.recv(65536)
            if not data:
                sel.unregister(sock)
                sock.close()
                continue
            with open(received, "ab") as f:
                f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
