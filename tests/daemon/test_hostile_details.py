"""Small hostile details a client or a program can throw at the daemon (issue 12.8): each is
refused with a clear error or handled as documented, and never becomes `internal` or a traceback
in the daemon's log."""

from __future__ import annotations

import signal
import stat
from pathlib import Path

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ptyd.client import BadRequest, Client, SpawnFailed
from ptyd.proto import decode_reply, encode_request
from tests.conftest import PYTHON, DaemonProcess, start_daemon, stop_daemon, wait_for_output


def test_private_mode_with_thousands_of_digits_does_not_break_the_reader(
        daemon: DaemonProcess, client: Client) -> None:
    """int() refuses more than 4300 digits: the output reader once raised on `ESC[?999…9h`."""
    code = ("import sys; w = sys.stdout.write; w('\\x1b[?' + '9' * 6000 + 'h'); "
            "w('\\x1b[?' + '1' * 5000 + ';2004h'); w('after-the-digits\\n'); sys.stdout.flush(); "
            "input()")
    client.spawn([PYTHON, "-c", code], name="digits")
    wait_for_output(client, "digits", "after-the-digits")
    assert client.info("digits")["status"] == "running"
    client.input("digits", "\r")
    assert client.wait("digits", 10)["exited"]
    assert "Traceback" not in daemon.log()


def test_agent_settings_hooks_as_a_list_of_lists_is_bad_request(client: Client) -> None:
    with pytest.raises(BadRequest, match="agent_settings"):
        client.spawn([PYTHON, "-c", "pass"], agent="claude",
                     agent_settings={"hooks": [["Stop", "echo"]]})
    with pytest.raises(BadRequest, match="env"):
        client.request("spawn", {"argv": [PYTHON, "-c", "pass"], "env": [["A", "1"]]})


@pytest.mark.parametrize("number", ["\uff19", "\uff11\uff15", "\u00b2"])
def test_unicode_digits_are_not_signal_numbers(client: Client, number: str) -> None:
    client.spawn([PYTHON, "-c", "input()"], name="target")
    with pytest.raises(BadRequest, match="unknown signal"):
        client.signal("target", number)
    with pytest.raises(BadRequest, match="unknown signal"):
        client.kill("target", signal=number)
    assert client.info("target")["status"] == "running"
    client.kill("target", signal="KILL", grace=0)
    client.wait("target", 10)


def test_cli_kill_with_a_fullwidth_signal_number_is_a_usage_error(daemon: DaemonProcess,
                                                                 client: Client) -> None:
    client.spawn([PYTHON, "-c", "input()"], name="target")
    result = daemon.cli("kill", "target", "--signal", "\uff19")
    assert result.returncode == 2, result
    assert "unknown signal" in result.stderr and result.stderr[-1] == "\n"
    assert client.info("target")["status"] == "running"
    assert daemon.cli("kill", "target", "--signal", "9", "--grace", "0").returncode == 0
    assert client.info("target")["exit_signal"] == signal.SIGKILL


def _script(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {text}\nread line\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_relative_argv0_with_a_slash_is_relative_to_cwd(client: Client, tmp_path: Path) -> None:
    """docs/protocol.md §7.2: an argv[0] containing '/' is a path relative to `cwd`."""
    work = tmp_path / "work"
    _script(work / "bin" / "tool", "ran-from-cwd")
    assert not (Path.cwd() / "bin" / "tool").exists()  # not found from the daemon's directory
    client.spawn(["bin/tool"], name="nested", cwd=str(work))
    wait_for_output(client, "nested", "ran-from-cwd")
    client.spawn(["./bin/tool"], name="dotted", cwd=str(work))
    wait_for_output(client, "dotted", "ran-from-cwd")


def test_relative_argv0_is_not_looked_up_in_the_daemons_directory(
        rundir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    daemon_cwd, session_cwd = tmp_path / "daemon-cwd", tmp_path / "empty"
    session_cwd.mkdir()
    _script(daemon_cwd / "bin" / "tool", "wrong-directory")
    monkeypatch.chdir(daemon_cwd)  # the daemon started below inherits it
    daemon = start_daemon(rundir)
    try:
        with daemon.client() as client:
            with pytest.raises(SpawnFailed, match="relative to the working directory"):
                client.spawn(["bin/tool"], name="decoy", cwd=str(session_cwd))
            assert client.list() == []
    finally:
        assert stop_daemon(daemon) == 0


# Any msgpack value, as a hostile client can send it; names that reach the handlers often.
_scalars = (st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats()
            | st.text(max_size=8) | st.binary(max_size=8)
            | st.sampled_from(["s", "gone", "v1", "\uff19", "KILL", "CONT", "idle", "Stop"]))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
_PARAMS = ["session", "data", "viewer", "signal", "group", "grace", "offset", "max_bytes",
           "clamp", "stream", "since", "max", "read_only", "cols", "rows", "replay_bytes",
           "event", "payload", "force", "client"]
# Ops that act on sessions without starting or stopping anything outside them (no spawn, git,
# shutdown or upgrade); `wait` is left out as it may park for its timeout.
_OPS = ["hello", "list", "info", "input", "resize", "signal", "kill", "read", "remove",
        "events", "attach", "detach", "redraw", "hook"]


def test_fuzzed_requests_to_a_live_daemon_never_get_internal(daemon: DaemonProcess,
                                                              client: Client) -> None:
    client.spawn(["cat"], name="s")
    raw = zmq.Context()
    sock = raw.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"ipc://{daemon.dir}/ctl.sock")
    ids = iter(range(1, 1 << 30))

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(op=st.sampled_from(_OPS),
           params=st.dictionaries(st.sampled_from(_PARAMS), _values, max_size=5)
           | st.fixed_dictionaries({"session": st.just("s")},
                                   optional={k: _values for k in _PARAMS[1:]}))
    def one(op: str, params: dict[str, object]) -> None:
        if op == "signal" or op == "kill":  # don't stop the daemon's test process group
            params = {**params, "group": False}
        sock.send_multipart(encode_request(next(ids), op, params))
        assert sock.poll(10000), f"no reply to {op} {params!r}"
        reply = decode_reply(sock.recv_multipart())
        assert reply.error is None or reply.error.code != "internal", (op, params, reply.error)

    try:
        one()
    finally:
        raw.destroy(linger=0)
    assert client.hello()["pid"] == daemon.proc.pid
    assert "Traceback" not in daemon.log()
