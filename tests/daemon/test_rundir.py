"""Where the daemon listens: one daemon per directory, stale sockets, private permissions."""

from __future__ import annotations

import fcntl
import os
import signal
import stat
import subprocess
from pathlib import Path

from ptyd.client import Client
from tests.conftest import PYTHON, start_daemon, stop_daemon, wait_until


def serve(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "ptyd", "--dir", str(directory), "serve"],
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def test_directory_and_sockets_are_private(daemon) -> None:  # type: ignore[no-untyped-def]
    mode = stat.S_IMODE(os.stat(daemon.dir).st_mode)
    assert mode == 0o700
    for name in ("ctl.sock", "pub.sock"):
        assert stat.S_IMODE(os.stat(daemon.dir / name).st_mode) & 0o077 == 0


def test_second_daemon_on_same_directory_is_refused(daemon) -> None:  # type: ignore[no-untyped-def]
    inode = os.stat(daemon.dir / "ctl.sock").st_ino
    second = serve(daemon.dir)
    assert second.returncode == 1
    assert "already running" in second.stderr and str(daemon.proc.pid) in second.stderr
    # The first daemon's sockets were not touched (an ipc bind would have unlinked them).
    assert os.stat(daemon.dir / "ctl.sock").st_ino == inode
    with daemon.client() as c:
        assert c.hello()["pid"] == daemon.proc.pid


def test_stale_sockets_after_kill_9_are_cleaned_up(rundir: Path) -> None:
    first = start_daemon(rundir)
    with first.client() as c:
        c.spawn(["sleep", "60"], name="orphan")
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    assert (rundir / "ctl.sock").exists()  # left behind by the dead daemon
    second = start_daemon(rundir)
    try:
        with second.client() as c:
            assert c.hello()["pid"] == second.proc.pid
            assert c.list() == []
        assert "removed stale socket" in second.log()
    finally:
        assert stop_daemon(second) == 0


def test_group_accessible_directory_is_refused(rundir: Path) -> None:
    rundir.mkdir(mode=0o700)
    os.chmod(rundir, 0o750)
    result = serve(rundir)
    assert result.returncode == 1
    assert "accessible by group or others" in result.stderr and "chmod 700" in result.stderr


def test_directory_owned_by_someone_else_is_refused(rundir: Path) -> None:
    if os.getuid() != 0:
        import pytest
        pytest.skip("needs root to give the directory away")
    rundir.mkdir(mode=0o700)
    os.chown(rundir, 65534, 65534)
    result = serve(rundir)
    assert result.returncode == 1 and "owned by uid 65534" in result.stderr


def test_several_independent_daemons_by_directory(rundir: Path) -> None:
    other = rundir.parent / "other"
    a, b = start_daemon(rundir), start_daemon(other)
    try:
        with a.client() as ca, b.client() as cb:
            ca.spawn(["sleep", "30"], name="only-in-a")
            assert [s["name"] for s in cb.list()] == []
            assert ca.hello()["pid"] != cb.hello()["pid"]
    finally:
        assert stop_daemon(a) == 0 and stop_daemon(b) == 0


def test_sigterm_ends_sessions_and_exits_zero(rundir: Path) -> None:
    d = start_daemon(rundir, "--kill-grace", "1")
    with d.client() as c:
        pids = [c.spawn(["sleep", "60"])["pid"], c.spawn(["sh"])["pid"]]
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(15) == 0
    for pid in pids:
        wait_until(lambda pid=pid: not os.path.exists(f"/proc/{pid}"), 5,
                   message=f"session pid {pid} to be gone")
    assert not (rundir / "ctl.sock").exists()


def test_env_var_selects_the_directory(rundir: Path) -> None:
    d = start_daemon(rundir)
    try:
        old = os.environ.get("PTYD_DIR")
        os.environ["PTYD_DIR"] = str(rundir)
        try:
            with Client() as c:
                assert c.hello()["pid"] == d.proc.pid
        finally:
            if old is None:
                del os.environ["PTYD_DIR"]
            else:
                os.environ["PTYD_DIR"] = old
    finally:
        assert stop_daemon(d) == 0


def test_a_client_probing_the_lock_does_not_stop_a_daemon_from_starting(rundir: Path) -> None:
    """"Is a daemon running here?" is a shared flock a client holds for an instant: a daemon
    starting in that instant waits for it instead of exiting "already running (pid ?)" (as
    it did once under load, its own fixture's readiness probe in the way)."""
    rundir.mkdir(mode=0o700, exist_ok=True)
    lock = os.open(rundir / "daemon.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_SH)  # the probe, held until the daemon has tried
    log = open(rundir.parent / "probe.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen([PYTHON, "-m", "ptyd", "--dir", str(rundir), "serve"],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        def trying() -> bool:  # the daemon has the lock file open: it is taking the lock
            if proc.poll() is not None:
                return True
            return any(os.path.realpath(f"/proc/{proc.pid}/fd/{fd}").endswith("daemon.lock")
                       for fd in os.listdir(f"/proc/{proc.pid}/fd"))

        wait_until(trying, message="the daemon to take the lock")
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)

        def serving() -> bool:
            assert proc.poll() is None, (rundir.parent / "probe.log").read_text()
            try:
                with Client(rundir, timeout=1) as c:
                    return c.hello()["pid"] == proc.pid
            except Exception:
                return False

        wait_until(serving, message="the daemon to serve")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        log.close()
