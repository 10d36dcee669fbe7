"""systemd's part in crash survival, played by the benchmark (as tests/daemon/test_crash_survival.py
does): the notify socket that keeps the PTY masters a daemon stores (FDSTORE=1 with SCM_RIGHTS),
and the relaunch of a daemon with those fds handed back as named socket-activation fds
(LISTEN_FDS, LISTEN_FDNAMES=pty-<name>), as the fd store hands them to a restarted service.
"""

from __future__ import annotations

import array
import contextlib
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from _common import BenchDaemon, ReconnectingClient

LAUNCHER = textwrap.dedent("""
    import os, sys
    names, fds = sys.argv[1].split(":"), [int(x) for x in sys.argv[2].split(",")]
    # Ascending sources onto 3, 4, ...: a target is never a source not yet copied.
    for i, fd in enumerate(fds):
        if fd != 3 + i:
            os.dup2(fd, 3 + i)
    os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS=str(len(fds)),
                      LISTEN_FDNAMES=":".join(names))
    os.execv(sys.executable, [sys.executable, *sys.argv[3:]])
""")


class FdStore:
    """The service manager's side of the notify protocol, drained by a thread (a daemon that
    sends to a full datagram queue would block)."""

    def __init__(self, path: Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.fds: dict[str, int] = {}
        self.messages = 0
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while not self._stop:
            if not select.select([self.sock], [], [], 0.1)[0]:
                continue
            data, ancdata, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
            fields = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
            fds = array.array("i")
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
            with self._lock:
                self.messages += 1
                if fields.get("FDSTORE") == "1":
                    for fd in fds:
                        old = self.fds.pop(fields["FDNAME"], None)
                        if old is not None:
                            os.close(old)
                        self.fds[fields["FDNAME"]] = fd
                elif fields.get("FDSTOREREMOVE") == "1":
                    fd = self.fds.pop(fields["FDNAME"], None)
                    if fd is not None:
                        os.close(fd)

    def stored(self) -> dict[str, int]:
        with self._lock:
            return dict(self.fds)

    def close(self) -> None:
        self._stop = True
        self._thread.join(5)
        for fd in self.fds.values():
            os.close(fd)
        self.sock.close()


class SupervisedDaemon:
    """A daemon under our fd store, in a fresh directory: started, killed with SIGKILL, and
    relaunched with the stored PTYs, as systemd would with Restart= and FileDescriptorStoreMax=."""

    def __init__(self, label: str):
        self.root = Path(tempfile.mkdtemp(prefix=f"ptyd-bench-{label}-"))
        self.dir = self.root / "run"
        self.dir.mkdir(mode=0o700)
        self.store = FdStore(self.root / "notify")
        self._log = open(self.root / "daemon.log", "ab")  # noqa: SIM115 - closed in close()
        self.proc: subprocess.Popen[bytes] | None = None
        self._client: ReconnectingClient | None = None

    def start(self, with_stored_fds: bool = False) -> None:
        env = {**os.environ, "NOTIFY_SOCKET": str(self.store.path)}
        serve = ["--dir", str(self.dir), "serve"]
        stored = sorted(self.store.stored().items(), key=lambda item: item[1]) \
            if with_stored_fds else []
        if stored:
            argv = [sys.executable, "-c", LAUNCHER, ":".join(n for n, _ in stored),
                    ",".join(str(fd) for _, fd in stored), *BenchDaemon.COMMAND[1:], *serve]
        else:
            argv = [*BenchDaemon.COMMAND, *serve]
        self.proc = subprocess.Popen(argv, env=env, stdout=self._log, stderr=self._log,
                                     stdin=subprocess.DEVNULL, cwd="/",
                                     pass_fds=[fd for _, fd in stored])

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        self._drop_client()

    def request(self, op: str, params: dict[str, Any] | None = None,
                timeout_s: float = 10.0) -> dict[str, Any]:
        if self._client is None:
            self._client = ReconnectingClient(self.dir)
        return self._client.request(op, params, timeout_s)

    def first_answer(self, timeout_s: float = 30.0) -> float:
        """perf_counter() when the daemon first answers a hello sent now (it may not be
        listening yet: ZeroMQ holds the request until it is)."""
        self.request("hello", timeout_s=timeout_s)
        return time.perf_counter()

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.request("shutdown", {"grace": 1.0})
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._drop_client()
        self.store.close()
        self._log.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self) -> str:
        text = (self.root / "daemon.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-5:])
