"""systemd integration, with real sockets: a notify socket the test serves, inherited listening
sockets as systemd passes them, and `systemd-analyze verify` on the shipped units."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ptyd.client import Client
from ptyd.daemon import units
from tests.conftest import PYTHON, wait_until


def serve(directory: Path, env: dict[str, str], **kw) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    directory.mkdir(mode=0o700, exist_ok=True)
    log = open(directory.parent / "serve.log", "ab")  # noqa: SIM115
    return subprocess.Popen([PYTHON, "-m", "ptyd", "--dir", str(directory), "serve",
                             "--kill-grace", "1"], env=env, stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL, **kw)


def notify_socket(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(20)
    return sock


def messages_until(sock: socket.socket, wanted: str) -> list[str]:
    seen: list[str] = []
    while not any(wanted in m for m in seen):
        seen.append(sock.recv(4096).decode())
    return seen


def test_notify_ready_status_watchdog_stopping(rundir: Path) -> None:
    sock = notify_socket(rundir.parent / "notify")
    env = {**os.environ, "NOTIFY_SOCKET": str(rundir.parent / "notify"),
           "WATCHDOG_USEC": "200000"}
    proc = serve(rundir, env)
    try:
        first = messages_until(sock, "READY=1")
        ready = next(m for m in first if "READY=1" in m)
        assert f"MAINPID={proc.pid}" in ready and "STATUS=0 running" in ready
        # The daemon answers by the time it says READY.
        with Client(rundir, timeout=2) as c:
            c.spawn(["sleep", "30"], name="s")
        assert any("STATUS=1 running" in m for m in messages_until(sock, "STATUS=1 running"))
        # Watchdog pings at half of WATCHDOG_USEC, from the event loop.
        assert messages_until(sock, "WATCHDOG=1")
        proc.send_signal(signal.SIGTERM)
        assert any("STOPPING=1" in m for m in messages_until(sock, "STOPPING=1"))
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()


def test_abstract_notify_socket(rundir: Path) -> None:
    name = f"ptyd-test-notify-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(20)
    proc = serve(rundir, {**os.environ, "NOTIFY_SOCKET": "@" + name})
    try:
        assert messages_until(sock, "READY=1")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        sock.close()


LAUNCHER = textwrap.dedent("""
    # What systemd does for socket activation: listening sockets on fds 3.., then exec the
    # service with LISTEN_PID naming the service's own pid.
    import os, sys
    fds = [int(x) for x in sys.argv[1].split(",")]
    for i, fd in enumerate(fds):
        os.dup2(fd, 3 + i)
    os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS=str(len(fds)),
                      LISTEN_FDNAMES="control:publish")
    os.execv(sys.executable, [sys.executable, "-m", "ptyd", "--dir", sys.argv[2], "serve"])
""")


def test_socket_activation_adopts_inherited_sockets(rundir: Path) -> None:
    rundir.mkdir(mode=0o700)
    listeners = []
    for name in ("ctl.sock", "pub.sock"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(str(rundir / name))
        s.listen(16)
        listeners.append(s)
    inode = os.stat(rundir / "ctl.sock").st_ino
    fds = ",".join(str(s.fileno()) for s in listeners)
    proc = subprocess.Popen([PYTHON, "-c", LAUNCHER, fds, str(rundir)],
                            pass_fds=[s.fileno() for s in listeners],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def answers() -> bool:
            try:
                with Client(rundir, timeout=1) as c:
                    return c.hello()["pid"] == proc.pid
            except Exception:
                return False

        wait_until(answers, 15, message="the activated daemon to answer")
        assert os.stat(rundir / "ctl.sock").st_ino == inode, "it must not re-create the socket"
        with Client(rundir) as c:
            c.spawn(["sh", "-c", "echo LISTEN_FDS=${LISTEN_FDS:-unset}; ls /proc/self/fd"],
                    name="child")
            c.wait("child", 10)
            out = bytes(c.read("child", 0)["data"]).decode()
        assert "LISTEN_FDS=unset" in out  # the activation variables do not leak into agents
        with Client(rundir) as c:
            c.shutdown()
        assert proc.wait(15) == 0
        assert (rundir / "ctl.sock").exists(), "systemd's socket file stays for the next start"
    finally:
        if proc.poll() is None:
            proc.kill()
        for s in listeners:
            s.close()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
@pytest.mark.parametrize("survive", [False, True])
@pytest.mark.parametrize("flavour", ["user", "system"])
def test_unit_files_verify(tmp_path: Path, flavour: str, survive: bool) -> None:
    made = units.user_units(survive_crashes=survive) if flavour == "user" else \
        units.system_units(survive_crashes=survive)
    paths = units.install(tmp_path / "units", made)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)}
    args = ["systemd-analyze", *(["--user"] if flavour == "user" else []), "verify",
            *[str(p) for p in paths]]
    if flavour == "system":  # a template is verified through an instance
        inst = [tmp_path / "units" / n.replace("@", "@alice") for n in made]
        for src, dst in zip(paths, inst, strict=True):
            shutil.copy(src, dst)
        args = ["systemd-analyze", "verify", *[str(p) for p in inst]]
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    service = made[next(n for n in made if n.endswith(".service"))]
    assert sys.executable in service
    assert "\nDelegate=yes\n" in service  # a cgroup per session needs a delegated subtree
