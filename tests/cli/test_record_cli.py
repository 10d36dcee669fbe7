"""`ptyd new --record [asciicast|log]` and `spawn(record=...)`: the recording is a valid
asciicast v2 file (checked against the spec, and played by asciinema where it is installed) or
a raw log, and `ptyd logs NAME` reads it after `ptyd rm`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ptyd.client import Client
from tests.conftest import DaemonProcess, start_daemon, stop_daemon, wait_for_output, wait_until

GREETING = r'printf "hello \033[1mbold\033[0m world\n"'
SHOWN = "hello \x1b[1mbold\x1b[0m world\r\n"  # what the terminal got (ONLCR adds the \r)


@pytest.fixture
def recordings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where daemon and `ptyd logs` both look: set in the user's configuration, with no
    default format (so only --record makes a recording)."""
    config = tmp_path / "xdg" / "ptyd" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[recording]\ndir = "{tmp_path / "rec"}"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path / "rec"


@pytest.fixture
def daemon_with_recordings(rundir: Path, recordings: Path) -> Iterator[DaemonProcess]:
    daemon = start_daemon(rundir)
    yield daemon
    assert stop_daemon(daemon) == 0
    assert "Traceback" not in daemon.log(), daemon.log()


def check_asciicast_v2(path: Path) -> list[list[Any]]:
    """The file as the asciicast v2 spec defines it: a header line (version 2, width, height
    integers, optional timestamp/env/title), then one event per line: [time, code, data] with
    time a non-decreasing number of seconds, code one of o i r m, data a string."""
    header_line, *lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(header_line)
    assert header["version"] == 2
    assert isinstance(header["width"], int) and isinstance(header["height"], int)
    assert isinstance(header.get("timestamp", 0), int)
    events = [json.loads(line) for line in lines]
    last = 0.0
    for event in events:
        time, code, data = event
        assert isinstance(time, (int, float)) and time >= last
        assert code in ("o", "i", "r", "m") and isinstance(data, str)
        last = time
    return events


def asciinema(*args: str) -> subprocess.CompletedProcess[bytes]:
    program = shutil.which("asciinema") or str(Path(sys.executable).parent / "asciinema")
    if not Path(program).exists():
        pytest.skip("asciinema is not installed (pip install asciinema)")
    return subprocess.run([program, *args], capture_output=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def test_new_record_writes_an_asciicast_that_asciinema_plays_and_logs_reads_after_rm(
        daemon_with_recordings: DaemonProcess, recordings: Path) -> None:
    d = daemon_with_recordings
    made = d.cli("new", "-d", "-s", "rec", "--record", "--", "sh", "-c", GREETING)
    assert made.returncode == 0, made.stderr
    assert d.cli("wait", "rec").returncode == 0
    cast = recordings / "rec.cast"
    wait_until(lambda: cast.exists() and '"m"' in cast.read_text(), message="the recording")

    events = check_asciicast_v2(cast)
    assert "".join(data for _, code, data in events if code == "o") == SHOWN
    played = asciinema("cat", str(cast))
    assert played.returncode == 0 and played.stdout == SHOWN.encode(), played.stderr
    assert asciinema("play", "-s", "100", str(cast)).returncode == 0

    assert d.cli("rm", "rec").returncode == 0
    after_rm = d.cli("logs", "rec")
    assert after_rm.returncode == 0 and after_rm.stdout == SHOWN
    assert "recording" in after_rm.stderr


def test_new_record_log_keeps_raw_bytes_and_no_flag_records_nothing(
        daemon_with_recordings: DaemonProcess, recordings: Path) -> None:
    d = daemon_with_recordings
    assert d.cli("new", "-d", "-s", "raw", "--record", "log", "--", "sh", "-c",
                 GREETING).returncode == 0
    assert d.cli("new", "-d", "-s", "plain", "--", "sh", "-c", GREETING).returncode == 0
    assert d.cli("wait", "raw").returncode == 0 and d.cli("wait", "plain").returncode == 0
    log = recordings / "raw.log"
    wait_until(lambda: log.exists() and log.read_bytes() == SHOWN.encode(), message="the log")
    assert not (recordings / "plain.cast").exists() and not (recordings / "plain.log").exists()


def test_new_record_input_and_client_spawn_record(
        daemon_with_recordings: DaemonProcess, recordings: Path) -> None:
    d = daemon_with_recordings
    assert d.cli("new", "-d", "-s", "typed", "--record", "--record-input", "--", "sh", "-c",
                 "read line; echo got $line").returncode == 0
    assert d.cli("send", "typed", "abc", "-k", "Enter").returncode == 0
    assert d.cli("wait", "typed").returncode == 0
    with Client(d.dir) as c:
        c.spawn(["sh", "-c", "read line; echo lib $line"], name="lib", record="asciicast",
                record_input=True)
        c.input("lib", "xyz\r")
        wait_for_output(c, "lib", "lib xyz")
        c.wait("lib", timeout=10)
    for name, typed in (("typed", "abc"), ("lib", "xyz")):
        cast = recordings / f"{name}.cast"
        wait_until(lambda cast=cast: cast.exists() and '"m"' in cast.read_text(),  # type: ignore[misc]
                   message=f"the recording of {name}")
        events = check_asciicast_v2(cast)
        assert typed in "".join(data for _, code, data in events if code == "i")


def test_logs_after_rm_finds_the_recording_where_the_daemon_says(rundir: Path,
                                                                 tmp_path: Path) -> None:
    """A daemon told `--recording-dir` on its command line records where no configuration file
    says: `ptyd logs` learns the place from `hello`'s `recording_dir`, not from the files."""
    elsewhere = tmp_path / "elsewhere"
    d = start_daemon(rundir, "--recording-dir", str(elsewhere))
    try:
        with d.client() as c:
            assert c.hello()["recording_dir"] == str(elsewhere)
        assert d.cli("new", "-d", "-s", "moved", "--record", "log", "--", "sh", "-c",
                     GREETING).returncode == 0
        assert d.cli("wait", "moved").returncode == 0
        log = elsewhere / "moved.log"
        wait_until(lambda: log.exists() and log.read_bytes() == SHOWN.encode(), message="the log")
        assert d.cli("rm", "moved").returncode == 0
        after_rm = d.cli("logs", "moved")
        assert after_rm.returncode == 0 and after_rm.stdout == SHOWN, after_rm.stderr
        assert str(log) in after_rm.stderr
    finally:
        assert stop_daemon(d) == 0


def test_logs_with_no_daemon_reads_where_serve_would_record(
        daemon_with_recordings: DaemonProcess, recordings: Path) -> None:
    """No daemon to ask: the place comes from the daemon's own configuration loader."""
    d = daemon_with_recordings
    assert d.cli("new", "-d", "-s", "gone", "--record", "log", "--", "sh", "-c",
                 GREETING).returncode == 0
    assert d.cli("wait", "gone").returncode == 0
    log = recordings / "gone.log"
    wait_until(lambda: log.exists() and log.read_bytes() == SHOWN.encode(), message="the log")
    assert stop_daemon(d) == 0
    after_stop = d.cli("logs", "gone")
    assert after_stop.returncode == 0 and after_stop.stdout == SHOWN, after_stop.stderr
    nothing = d.cli("logs", "never-recorded")
    assert nothing.returncode != 0 and "no ptyd daemon is running" in nothing.stderr, nothing.stderr
