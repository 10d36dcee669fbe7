"""A full disk loses nothing silently: sessions run and end as usual (their exit in memory,
`wait` and `logs -f` end), a spawn that needs a file gets a clear error, the log says what could
not be written. The full disk is a real 64 KiB tmpfs (root only: skipped elsewhere)."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptyd.client import SpawnFailed
from tests.conftest import (
    DaemonProcess,
    agent,
    run_cli,
    short_tempdir,
    start_daemon,
    stop_daemon,
    wait_for_output,
    wait_until,
)


def mount_small_tmpfs(path: Path, *options: str) -> None:
    path.mkdir(mode=0o700, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(("size=64k", *options)),
                             "tmpfs", str(path)], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


def fill(directory: Path) -> None:
    """Write until the filesystem refuses: ENOSPC."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
        with contextlib.suppress(OSError):
            while True:  # the last partial page
                os.write(fd, b"\0")
    finally:
        os.close(fd)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.getuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    mount_small_tmpfs(disk)
    yield disk
    unmount(disk)


def test_persistent_sessions_on_a_full_state_disk(rundir: Path, small_disk: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(small_disk / "state"))
    daemon = start_daemon(rundir)
    try:
        with daemon.client() as c:
            c.request("spawn", {"argv": agent("prompt"), "name": "p1", "persistent": True})
            wait_for_output(c, "p1", "ready> ")
            fill(small_disk)
            with pytest.raises(SpawnFailed, match=r"cannot make the session persistent.*"
                                                  r"No space left"):
                c.request("spawn", {"argv": agent("prompt"), "name": "p2", "persistent": True})
            assert [s["name"] for s in c.list()] == ["p1"], "nothing half-started"
            c.input("p1", "exit 3\r")
            assert c.wait("p1", 10)["exit_code"] == 3, "the exit is known in memory"
        follow = daemon.cli("logs", "-f", "p1")
        assert follow.returncode == 0 and "bye" in follow.stdout, "logs -f ends"
        with daemon.client() as c:
            c.remove("p1")
            assert c.list() == []
        wait_until(lambda: "cannot write persistent sessions to" in daemon.log())
        assert "No space left on device" in daemon.log()
        assert "cannot be made persistent" in daemon.log()
    finally:
        assert stop_daemon(daemon) == 0
    assert "Traceback" not in daemon.log(), daemon.log()


def test_recordings_on_a_full_disk(rundir: Path, small_disk: Path) -> None:
    recordings = small_disk / "recordings"
    daemon = start_daemon(rundir, "--recording-dir", str(recordings), "--record", "log")
    try:
        with daemon.client() as c:
            c.request("spawn", {"argv": ["sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x;"
                                         " echo; echo end; read x"], "name": "big"})
            wait_for_output(c, "big", "end")  # more than the disk holds: the recording stops
            fill(small_disk)
            c.input("big", "\r")
            assert c.wait("big", 10)["exit_code"] == 0
            c.request("spawn", {"argv": ["echo", "unrecorded"], "name": "late"})
            assert c.wait("late", 10)["exit_code"] == 0, "a session runs without its recording"
        for name in ("big", "late"):  # the log names the file that could not be written
            line = re.compile(rf"session={name} (recording {recordings}/{name}.log stopped|"
                              rf"cannot record to {recordings}): .*No space left on device")
            wait_until(lambda line=line: line.search(daemon.log()),
                       message=f"the log line of {name}'s recording")
    finally:
        assert stop_daemon(daemon) == 0
    assert "Traceback" not in daemon.log(), daemon.log()


def test_claude_settings_on_a_full_runtime_directory() -> None:
    if os.getuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    base = short_tempdir()
    rundir = base / "run"
    mount_small_tmpfs(rundir, "mode=0700")
    daemon: DaemonProcess | None = None
    try:
        daemon = start_daemon(rundir)
        fill(rundir)
        with daemon.client() as c:
            with pytest.raises(SpawnFailed, match=r"Claude Code settings file.*No space left"):
                c.spawn(["true"], name="a1", agent="claude")
            c.spawn(["echo", "plain"], name="plain")
            assert c.wait("plain", 10)["exit_code"] == 0
        assert "session=a1 cannot write its Claude settings" in daemon.log()
    finally:
        if daemon is not None:
            assert stop_daemon(daemon) == 0
        unmount(rundir)
        subprocess.run(["rm", "-rf", str(base)], timeout=30)


def test_daemon_log_is_rotated_at_its_cap(rundir: Path) -> None:
    """An autostarted daemon logs to <dir>/daemon.log; past LOG_MAX_BYTES it moves to
    daemon.log.1 and a fresh file goes on, so the log never fills the disk."""
    from ptyd.daemon.logs import LOG_MAX_BYTES

    rundir.mkdir(mode=0o700)
    log, old = rundir / "daemon.log", rundir / "daemon.log.1"
    filler = b"an old line\n" * ((LOG_MAX_BYTES - 100) // 12)
    log.write_bytes(filler)  # just under the cap: the daemon's first lines pass it
    try:
        assert run_cli("--dir", str(rundir), "new", "-d", "-s", "a1", "--", "true").returncode == 0
        wait_until(lambda: old.exists(), message="the rotation")
        assert old.read_bytes().startswith(filler)
        run_cli("--dir", str(rundir), "new", "-d", "-s", "a2", "--", "true")
        wait_until(lambda: "session=a2" in log.read_text(), message="logging to the new file")
        assert log.stat().st_size < LOG_MAX_BYTES and log.stat().st_mode & 0o777 == 0o600
    finally:
        run_cli("--dir", str(rundir), "shutdown", "-q")


def test_an_upgrade_with_a_recording_on_a_full_disk(rundir: Path, small_disk: Path) -> None:
    """The upgrade writes out what each recording still buffers; on a full disk that write
    fails, the recording ends (as it would at the next flush), and the upgrade goes on."""
    recordings = small_disk / "recordings"
    daemon = start_daemon(rundir, "--recording-dir", str(recordings), "--record", "log")
    try:
        with daemon.client() as c:
            c.request("spawn", {"argv": agent("prompt"), "name": "r"})
            wait_for_output(c, "r", "ready> ")
            wait_until(lambda: (recordings / "r.log").exists())
            fill(small_disk)
            c.input("r", "x" * 3000 + "\r")  # buffered by the recorder: its flush will fail
            wait_for_output(c, "r", "echo: xxx")
            seq = c.events(0)["last"]
            c.request("upgrade")
        daemon.wait_upgraded(seq)
        with daemon.client() as c:
            c.input("r", "after\r")
            wait_for_output(c, "r", "echo: after")
    finally:
        assert stop_daemon(daemon) == 0
    assert "Traceback" not in daemon.log(), daemon.log()
