"""Nothing the daemon writes goes through a link planted in its place: a symlink at a file's
name is refused with a clear error, a hard link is never truncated, the target is untouched."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ptyd.client import SpawnFailed
from tests.conftest import DaemonProcess, start_daemon, stop_daemon, wait_until


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim"
    path.write_text("precious\n")
    return path


def test_a_symlinked_claude_settings_file_is_replaced_not_written_through(daemon: DaemonProcess,
                                                     victim: Path) -> None:
    settings_dir = daemon.dir / "sessions" / "a1"
    settings_dir.mkdir(parents=True, mode=0o700)
    (settings_dir / "claude-settings.json").symlink_to(victim)
    with daemon.client() as c:
        # A planted symlink is replaced by a fresh file, never written through; the spawn goes on.
        c.spawn(["true"], name="a1", agent="claude")
        assert not (settings_dir / "claude-settings.json").is_symlink()
    assert victim.read_text() == "precious\n"


def test_a_symlinked_sessions_directory_is_refused(daemon: DaemonProcess,
                                                    tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (daemon.dir / "sessions").symlink_to(elsewhere)
    with daemon.client() as c, pytest.raises(SpawnFailed, match="not a directory"):
        c.spawn(["true"], name="a1", agent="claude")
    assert list(elsewhere.iterdir()) == [], "nothing was written through the link"


def test_a_hard_linked_recording_is_not_truncated(rundir: Path, tmp_path: Path,
                                                  victim: Path) -> None:
    recordings = tmp_path / "recordings"
    recordings.mkdir(mode=0o700)
    os.link(victim, recordings / "a1.log")  # keep=1: nothing is rotated away first
    daemon = start_daemon(rundir, "--recording-dir", str(recordings), "--recording-keep", "1")
    try:
        with daemon.client() as c:
            c.request("spawn", {"argv": ["echo", "recorded"], "name": "a1", "record": "log"})
            c.wait("a1", timeout=10)
        wait_until(lambda: b"recorded" in (recordings / "a1.log").read_bytes(),
                   message="the recording")
    finally:
        assert stop_daemon(daemon) == 0
    assert victim.read_text() == "precious\n"


def test_the_registry_is_never_written_through_a_planted_temporary_name(
        rundir: Path, tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    tag = hashlib.sha256(str(rundir.absolute()).encode()).hexdigest()[:16]
    (state / "ptyd").mkdir(parents=True, mode=0o700)
    # The name the registry's temporary file had before: predictable, so plantable.
    (state / "ptyd" / f"persistent-{tag}.tmp").symlink_to(victim)
    daemon = start_daemon(rundir)
    try:
        with daemon.client() as c:
            c.request("spawn", {"argv": ["sleep", "30"], "name": "p", "persistent": True})
            c.kill("p")
        assert (state / "ptyd" / f"persistent-{tag}.msgpack").is_file()
    finally:
        assert stop_daemon(daemon) == 0
    assert victim.read_text() == "precious\n"
