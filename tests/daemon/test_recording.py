"""Recordings: asciicast v2 and plain logs written by a real daemon, played back and compared
with the session's scrollback; resize and input events; rotation by size; private files;
`ptyd logs` reading them once the daemon has forgotten the session."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from ptyd.client import BadRequest, Client, SpawnFailed
from tests.conftest import (
    DaemonProcess,
    agent,
    run_cli,
    start_daemon,
    stop_daemon,
    wait_for_output,
    wait_until,
)


def parse_cast(path: Path) -> tuple[dict[str, Any], list[list[Any]]]:
    lines = path.read_text().splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def played(events: list[list[Any]]) -> bytes:
    """What a player shows: the "o" events, in order."""
    return "".join(data for _, kind, data in events if kind == "o").encode()


def scrollback(c: Client, name: str) -> bytes:
    info = c.info(name)
    assert info["base"] == 0, "the test needs the whole output in the ring"
    return bytes(c.read(name, 0, max_bytes=info["end"] or 1)["data"])


def spawn(c: Client, name: str, argv: list[str], **params: Any) -> dict[str, Any]:
    return c.request("spawn", {"argv": argv, "name": name, **params})


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    return tmp_path / "state" / "recordings"


@pytest.fixture
def recording_daemon(rundir: Path, recordings: Path) -> Any:
    daemon = start_daemon(rundir, "--recording-dir", str(recordings))
    yield daemon
    assert stop_daemon(daemon) == 0
    assert "Traceback" not in daemon.log(), daemon.log()


def test_asciicast_plays_back_the_scrollback_exactly(recording_daemon: DaemonProcess,
                                                     recordings: Path) -> None:
    with recording_daemon.client() as c:
        spawn(c, "cast", agent("printer", "200000", "--then-wait"), record="asciicast",
              cols=100, rows=30)
        wait_for_output(c, "cast", "done")
        c.resize("cast", 120, 40)
        c.input("cast", b"\n")
        assert c.wait("cast", 10)["exit_code"] == 0
        expected = scrollback(c, "cast")
    path = recordings / "cast.cast"
    wait_until(lambda: path.exists() and parse_cast(path)[1][-1][1] == "m",
               message="the recording closed")
    header, events = parse_cast(path)
    assert played(events) == expected
    assert header["version"] == 2 and (header["width"], header["height"]) == (100, 30)
    assert header["title"] == "cast" and header["env"]["TERM"] == "xterm-256color"
    assert "printer.py" in header["command"] and isinstance(header["timestamp"], int)
    assert ["r", "120x40"] in [event[1:] for event in events]
    assert not [e for e in events if e[1] == "i"]  # input is recorded only when asked
    times = [event[0] for event in events]
    assert times == sorted(times) and times[0] >= 0
    assert events[-1][1:] == ["m", "exited with code 0"]


def test_input_events_when_asked(recording_daemon: DaemonProcess, recordings: Path) -> None:
    with recording_daemon.client() as c:
        spawn(c, "typed", agent("prompt"), record="asciicast", record_input=True)
        wait_for_output(c, "typed", "ready> ")
        c.input("typed", "héllo\r")
        wait_for_output(c, "typed", "echo: héllo")
        c.input("typed", "exit 3\r")
        assert c.wait("typed", 10)["exit_code"] == 3
        expected = scrollback(c, "typed")
    path = recordings / "typed.cast"
    wait_until(lambda: path.exists() and parse_cast(path)[1][-1][1] == "m")
    _, events = parse_cast(path)
    assert "".join(data for _, kind, data in events if kind == "i") == "héllo\rexit 3\r"
    assert played(events) == expected


def test_recording_is_written_while_the_session_runs(recording_daemon: DaemonProcess,
                                                     recordings: Path) -> None:
    with recording_daemon.client() as c:
        spawn(c, "live", agent("prompt"), record="log")
        wait_for_output(c, "live", "ready> ")
        path = recordings / "live.log"
        # Flushed by the timer, not only at the end.
        wait_until(lambda: path.exists() and b"ready> " in path.read_bytes(), timeout=5,
                   message="the running session's output in its recording")
        assert c.info("live")["status"] == "running"


def test_log_keeps_raw_bytes_asciicast_replaces_invalid_utf8(recording_daemon: DaemonProcess,
                                                              recordings: Path) -> None:
    argv = ["printf", r"caf\303\251 \377\376 split"]
    with recording_daemon.client() as c:
        spawn(c, "raw", argv, record="log")
        spawn(c, "text", argv, record="asciicast")
        for name in ("raw", "text"):
            c.wait(name, 10)
        expected = scrollback(c, "raw")
    assert expected == b"caf\xc3\xa9 \xff\xfe split"
    log_path, cast_path = recordings / "raw.log", recordings / "text.cast"
    wait_until(lambda: log_path.exists() and log_path.read_bytes() == expected)
    wait_until(lambda: cast_path.exists() and parse_cast(cast_path)[1][-1][1] == "m")
    assert played(parse_cast(cast_path)[1]) == "café \ufffd\ufffd split".encode()


def test_rotation_by_size_keeps_n_files(rundir: Path, recordings: Path) -> None:
    daemon = start_daemon(rundir, "--recording-dir", str(recordings), "--recording-max-bytes",
                          "4k", "--recording-keep", "3", "--record", "log")
    try:
        with daemon.client() as c:
            spawn(c, "big", agent("printer", "50000"))
            c.wait("big", 10)
            expected = scrollback(c, "big")
        files = [recordings / name for name in ("big.log.2", "big.log.1", "big.log")]
        wait_until(lambda: files[-1].exists() and
                   expected.endswith(b"".join(f.read_bytes() for f in files)),
                   message="the last three parts")
        assert not (recordings / "big.log.3").exists()
        assert [f.stat().st_size for f in files[:2]] == [4096, 4096]
        assert 0 < files[2].stat().st_size <= 4096
    finally:
        assert stop_daemon(daemon) == 0


def test_asciicast_rotation_makes_complete_files(rundir: Path, recordings: Path) -> None:
    daemon = start_daemon(rundir, "--recording-dir", str(recordings), "--recording-max-bytes",
                          "4k", "--recording-keep", "50")
    script = "for i in $(seq 1 400); do echo line $i of the recording; done"
    try:
        with daemon.client() as c:
            spawn(c, "parts", ["sh", "-c", script], record="asciicast")
            c.wait("parts", 10)
            expected = scrollback(c, "parts")
        newest = recordings / "parts.cast"
        wait_until(lambda: newest.exists() and parse_cast(newest)[1][-1][1] == "m")
        rotated = sorted(recordings.glob("parts.cast.*"), key=lambda p: -int(p.suffix[1:]))
        assert rotated, "a 4k limit must rotate this output"
        output = b""
        for path in [*rotated, newest]:
            header, events = parse_cast(path)
            assert header["version"] == 2 and events[0][0] >= 0
            if len(events) > 1:  # only a single event larger than the limit may exceed it
                assert path.stat().st_size <= 4096
            output += played(events)
        assert output == expected
    finally:
        assert stop_daemon(daemon) == 0


def test_directory_0700_and_files_0600(recording_daemon: DaemonProcess,
                                       recordings: Path) -> None:
    assert not recordings.exists()
    with recording_daemon.client() as c:
        spawn(c, "private", ["true"], record="asciicast")
        c.wait("private", 10)
    path = recordings / "private.cast"
    wait_until(path.exists)
    assert stat.S_IMODE(os.stat(recordings).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_new_session_of_the_same_name_rotates_the_old_recording(
        recording_daemon: DaemonProcess, recordings: Path) -> None:
    with recording_daemon.client() as c:
        for word in ("first", "second"):
            spawn(c, "again", ["echo", word], record="asciicast")
            c.wait("again", 10)
            c.remove("again")
    wait_until(lambda: (recordings / "again.cast").exists() and
               b"second" in played(parse_cast(recordings / "again.cast")[1]))
    assert played(parse_cast(recordings / "again.cast.1")[1]).strip() == b"first"


def test_spawn_record_parameters_are_validated(recording_daemon: DaemonProcess,
                                               tmp_path: Path) -> None:
    with recording_daemon.client() as c:
        with pytest.raises(BadRequest, match="record"):
            spawn(c, "x", ["true"], record="mp4")
        with pytest.raises(BadRequest, match="record_input"):
            spawn(c, "x", ["true"], record="asciicast", record_input="yes")
        assert c.list() == []


def test_unwritable_recording_dir_fails_the_spawn(rundir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    daemon = start_daemon(rundir, "--recording-dir", str(blocker / "recordings"))
    try:
        with daemon.client() as c:
            with pytest.raises(SpawnFailed, match="cannot record"):
                spawn(c, "x", ["true"], record="log")
            spawn(c, "y", ["true"])  # without a recording it starts
    finally:
        assert stop_daemon(daemon) == 0


def test_shutdown_writes_out_running_recordings(rundir: Path, recordings: Path) -> None:
    daemon = start_daemon(rundir, "--recording-dir", str(recordings), "--record", "asciicast")
    with daemon.client() as c:
        spawn(c, "running", ["sh", "-c", "echo started-and-waiting; exec sleep 60"])
        wait_for_output(c, "running", "started-and-waiting")
    assert stop_daemon(daemon) == 0
    _, events = parse_cast(recordings / "running.cast")
    assert b"started-and-waiting" in played(events)
    assert events[-1][1:] == ["m", "killed by SIGHUP"]


def test_ptyd_logs_reads_the_recording_after_rm_and_restart(
        rundir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The daemon and the `ptyd` command find the recordings through the same user config.
    config = tmp_path / "xdg" / "ptyd" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[recording]\nformat = "asciicast"\ndir = "{tmp_path / "rec"}"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    env = dict(os.environ)
    daemon = start_daemon(rundir)
    try:
        assert daemon.cli("new", "-d", "-s", "gone", "--", "sh", "-c",
                          "echo remembered output").returncode == 0
        assert daemon.cli("wait", "gone").returncode == 0
        live = daemon.cli("logs", "gone", env=env).stdout
        assert "remembered output" in live
        assert daemon.cli("rm", "gone").returncode == 0
        wait_until(lambda: "remembered output" in daemon.cli("logs", "gone", env=env).stdout,
                   message="logs from the recording")
        after_rm = daemon.cli("logs", "gone", env=env)
        assert after_rm.returncode == 0 and after_rm.stdout == live
        assert "recording" in after_rm.stderr
    finally:
        assert stop_daemon(daemon) == 0
    no_daemon = run_cli("--dir", str(rundir), "logs", "gone", env=env)
    assert no_daemon.returncode == 0 and no_daemon.stdout == live
    daemon = start_daemon(rundir)
    try:
        restarted = daemon.cli("logs", "gone", env=env)
        assert restarted.returncode == 0 and restarted.stdout == live
        unknown = daemon.cli("logs", "never-was", env=env)
        assert unknown.returncode == 1 and "no session named 'never-was'" in unknown.stderr
    finally:
        assert stop_daemon(daemon) == 0


PASSWORD_PROMPT = ('printf "user> "; read u; stty -echo; printf "password> "; read p; '
                   'stty echo; printf "\\ngot %s\\n" "$u"; read x; echo done')


def type_a_password(c: Client) -> None:
    spawn(c, "login", ["sh", "-c", PASSWORD_PROMPT], record="asciicast", record_input=True)
    wait_for_output(c, "login", "user> ")
    c.input("login", "alice\r")
    wait_for_output(c, "login", "password> ")  # printed after `stty -echo` ran
    c.input("login", "s3cret\r")
    wait_for_output(c, "login", "got alice")  # printed after `stty echo` ran
    c.input("login", "after\r")
    assert c.wait("login", 10)["exit_code"] == 0


def typed(path: Path) -> str:
    wait_until(lambda: path.exists() and parse_cast(path)[1][-1][1] == "m")
    return "".join(data for _, kind, data in parse_cast(path)[1] if kind == "i")


def test_input_typed_with_echo_off_is_not_recorded(recording_daemon: DaemonProcess,
                                                   recordings: Path) -> None:
    with recording_daemon.client() as c:
        type_a_password(c)
    assert typed(recordings / "login.cast") == "alice\rafter\r"


def test_input_typed_with_echo_off_is_recorded_when_configured(rundir: Path,
                                                               recordings: Path) -> None:
    daemon = start_daemon(rundir, "--recording-dir", str(recordings), "--record-hidden-input")
    try:
        with daemon.client() as c:
            type_a_password(c)
    finally:
        assert stop_daemon(daemon) == 0
    assert typed(recordings / "login.cast") == "alice\rs3cret\rafter\r"


def test_a_recording_goes_on_in_its_file_across_an_upgrade(recording_daemon: DaemonProcess,
                                                           recordings: Path) -> None:
    """`ptyd upgrade` hands the open recording to the successor: the same file goes on (no
    new part, no second header), and it still holds exactly the session's output."""
    with recording_daemon.client() as c:
        spawn(c, "plain", agent("prompt"), record="log")
        spawn(c, "cast", agent("prompt"), record="asciicast")
        for name in ("plain", "cast"):
            wait_for_output(c, name, "ready> ")
            c.input(name, "before\r")
            wait_for_output(c, name, "echo: before")
        seq = c.events(0)["last"]
        c.request("upgrade")
    recording_daemon.wait_upgraded(seq)
    with recording_daemon.client() as c:
        for name in ("plain", "cast"):
            c.input(name, "after\r")
            wait_for_output(c, name, "echo: after")
            c.input(name, "exit 0\r")
            c.wait(name, 10)
        expected = {name: scrollback(c, name) for name in ("plain", "cast")}
    log_path, cast_path = recordings / "plain.log", recordings / "cast.cast"
    wait_until(lambda: log_path.read_bytes() == expected["plain"],
               message="the whole output in the log")
    wait_until(lambda: parse_cast(cast_path)[1][-1][1] == "m", message="the cast closed")
    header, events = parse_cast(cast_path)
    assert header["version"] == 2
    assert played(events) == expected["cast"].decode().encode()
    times = [at for at, _, _ in events]
    assert times == sorted(times), "times count on from the file's start"
    assert sorted(p.name for p in recordings.iterdir()) == ["cast.cast", "plain.log"]

