"""attach.terminal.write_all on a terminal whose queue is full: it waits, it does not spin."""

from __future__ import annotations

import hashlib
import os
import subprocess
import textwrap
from pathlib import Path

from tests.conftest import PYTHON, wait_until

WRITER = textwrap.dedent("""
    import hashlib, os, sys
    from ptyd.attach.terminal import write_all
    fd = int(sys.argv[1])
    os.set_blocking(fd, False)  # as attach leaves a tty shared by stdin and stdout
    data = os.urandom(4 << 20)
    sys.stdout.write(hashlib.sha256(data).hexdigest() + "\\n")
    sys.stdout.flush()
    write_all(fd, data)
""")


def _state(pid: int) -> str:
    """The process's scheduler state: R running (or runnable), S sleeping in a wait."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


def test_write_all_waits_for_a_full_terminal_instead_of_spinning() -> None:
    # A pipe stands in for the terminal: the same EAGAIN when its queue is full. A writer that
    # spins on EAGAIN is always runnable; one that waits for POLLOUT sleeps until we read.
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([PYTHON, "-c", WRITER, str(write_fd)], pass_fds=(write_fd,),
                            stdout=subprocess.PIPE)
    os.close(write_fd)
    try:
        assert proc.stdout is not None
        digest = proc.stdout.readline().decode().strip()
        # Seen asleep three times in a row, with the pipe still full (nobody read it).
        asleep = 0

        def sleeping() -> bool:
            nonlocal asleep
            asleep = asleep + 1 if _state(proc.pid) == "S" else 0
            return asleep >= 3

        wait_until(sleeping, timeout=20, message="the writer asleep on the full pipe")
        received = bytearray()
        while chunk := os.read(read_fd, 1 << 20):
            received += chunk
        assert proc.wait(timeout=30) == 0
        assert len(received) == 4 << 20
        assert hashlib.sha256(received).hexdigest() == digest
    finally:
        proc.kill()
        proc.wait()
        os.close(read_fd)
