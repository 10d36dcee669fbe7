"""systemd integration without requiring systemd: notify protocol and socket activation.

Everything here is a no-op when the daemon is not started by systemd (NOTIFY_SOCKET and
LISTEN_FDS unset). The notify protocol is one datagram of newline-separated KEY=VALUE lines on
the unix socket named by NOTIFY_SOCKET ('@' means the abstract namespace).
"""

from __future__ import annotations

import os
import socket

SD_LISTEN_FDS_START = 3
ACTIVATION_ENV = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")


def notify(*fields: str) -> bool:
    """sd_notify("READY=1", "STATUS=...") ; False when not under systemd or on failure."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address[0] == "@":
        address = "\0" + address[1:]
    elif address[0] != "/":
        return False  # vsock and other address families are not supported
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(fields).encode())
    except OSError:
        return False
    return True


def watchdog_interval() -> float | None:
    """Half of WATCHDOG_USEC in seconds, if systemd expects pings from this process."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 2 / 1_000_000
    except ValueError:
        return None


def listen_fds() -> dict[str, int]:
    """Sockets passed by socket activation, by FileDescriptorName (or 'fd3', 'fd4', ...).

    The variables are removed from our environment so that sessions do not inherit them, and
    the fds are made close-on-exec so that no agent inherits a listening socket.
    """
    env = os.environ
    try:
        pid, count = int(env.get("LISTEN_PID", "")), int(env.get("LISTEN_FDS", ""))
    except ValueError:
        return {}
    names = env.get("LISTEN_FDNAMES", "").split(":")
    for var in ACTIVATION_ENV:
        env.pop(var, None)
    if pid != os.getpid():
        return {}
    fds = {}
    for i in range(count):
        fd = SD_LISTEN_FDS_START + i
        os.set_inheritable(fd, False)
        name = names[i] if i < len(names) and names[i] else f"fd{fd}"
        fds[name] = fd
    return fds
