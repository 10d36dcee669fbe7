"""A client's mistake never kills the daemon: every bad input gets a clear error reply."""

from __future__ import annotations

import os

import msgpack
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ptyd.client import BadRequest, Client, LimitExceeded, SpawnFailed, UnknownOp
from ptyd.proto import VERSION_FRAME, decode_reply, encode_request
from ptyd.proto.limits import MAX_INPUT_BYTES, MAX_REQUEST_BYTES
from tests.conftest import DaemonProcess, wait_until, zombies_of


class RawPeer:
    """A bare DEALER speaking (or mis-speaking) the envelope by hand."""

    def __init__(self, daemon: DaemonProcess):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(f"ipc://{daemon.dir}/ctl.sock")

    def ask(self, frames: list[bytes]) -> tuple[int | None, dict | None, dict | None]:  # type: ignore[type-arg]
        self.sock.send_multipart(frames)
        assert self.sock.poll(5000), "no reply"
        reply = decode_reply(self.sock.recv_multipart())
        return reply.id, (reply.error.to_wire() if reply.error else None), reply.result

    def close(self) -> None:
        self.ctx.destroy(linger=0)


@pytest.fixture
def raw(daemon: DaemonProcess):  # type: ignore[no-untyped-def]
    peer = RawPeer(daemon)
    yield peer
    peer.close()


def body(*items: object) -> bytes:
    return msgpack.packb(list(items), use_bin_type=True)


@pytest.mark.parametrize(("frames", "code", "words"), [
    ([VERSION_FRAME, b"\xc1garbage"], "bad_request", "not valid msgpack"),
    ([VERSION_FRAME], "bad_request", "2 frames"),
    ([VERSION_FRAME, body(0, 1, "hello", {}), b"extra"], "bad_request", "2 frames"),
    ([b"nonsense", body(0, 1, "hello", {})], "bad_request", "version frame"),
    ([b"ptyd/99", body(0, 1, "hello", {})], "unsupported_version", "ptyd/1"),
    ([VERSION_FRAME, body(0, 1, "hello")], "bad_request", "[0, id, op, params]"),
    ([VERSION_FRAME, body(1, 1, "hello", {})], "bad_request", "body[0]"),
    ([VERSION_FRAME, body(0, -5, "hello", {})], "bad_request", "id must be"),
    ([VERSION_FRAME, body(0, 1, 42, {})], "bad_request", "op must be"),
    ([VERSION_FRAME, body(0, 1, "hello", [1, 2])], "bad_request", "params must be a map"),
    ([VERSION_FRAME, msgpack.packb({"not": "an array"})], "bad_request", "array"),
    ([VERSION_FRAME, body(0, 1, "fly", {})], "unknown_op", "'fly'"),
])
def test_malformed_requests_get_error_replies(raw: RawPeer, frames: list[bytes], code: str,
                                              words: str) -> None:
    _, error, result = raw.ask(frames)
    assert result is None and error is not None
    assert error["code"] == code
    assert words in error["message"]


def test_error_reply_keeps_the_request_id_when_readable(raw: RawPeer) -> None:
    msgid, error, _ = raw.ask([VERSION_FRAME, body(0, 77, "spawn", {"argv": 5})])
    assert msgid == 77 and error is not None and "argv" in error["message"]


def test_oversized_request_is_refused(raw: RawPeer) -> None:
    big = body(0, 3, "input", {"session": "x", "data": b"a" * (MAX_REQUEST_BYTES + 10)})
    _msgid, error, _ = raw.ask([VERSION_FRAME, big])
    assert error is not None and error["code"] == "limit_exceeded"


@pytest.mark.parametrize(("op", "params", "words"), [
    ("spawn", {}, "missing parameter 'argv'"),
    ("spawn", {"argv": []}, "non-empty"),
    ("spawn", {"argv": ["sh"], "cols": 0, "rows": 10}, "'cols' must be an integer in 1..10000"),
    ("spawn", {"argv": ["sh"], "cols": 80}, "both 'cols' and 'rows'"),
    ("spawn", {"argv": ["sh"], "name": "bad name!"}, "session name"),
    ("spawn", {"argv": ["sh"], "env": {"A": 1}}, "map of"),
    ("spawn", {"argv": ["sh"], "colour": "blue"}, "unknown parameter(s) 'colour'"),
    ("input", {"session": "x"}, "missing parameter 'data'"),
    ("input", {"session": "x", "data": 12}, "binary data"),
    ("read", {"session": "x", "offset": -1}, "'offset'"),
    ("signal", {"session": "x", "signal": "NOPE"}, "unknown signal"),
    ("wait", {"session": "x", "timeout": "soon"}, "'timeout' must be a number"),
    ("resize", {"session": "x", "cols": True, "rows": 3}, "'cols'"),
])
def test_wrong_parameters_are_named_in_the_error(client: Client, op: str, params: dict,  # type: ignore[type-arg]
                                                 words: str) -> None:
    with pytest.raises(BadRequest) as e:
        client.request(op, params)
    assert words in str(e.value)


def test_unknown_op_through_the_library(client: Client) -> None:
    with pytest.raises(UnknownOp):
        client.request("teleport")


def test_input_over_the_limit(client: Client) -> None:
    client.spawn(["cat"], name="c")
    with pytest.raises(BadRequest, match=f"at most {MAX_INPUT_BYTES} bytes"):
        client.input("c", b"x" * (MAX_INPUT_BYTES + 1))


def test_input_to_a_program_not_reading_is_bounded(client: Client) -> None:
    client.spawn(["sleep", "60"], name="deaf")
    with pytest.raises(LimitExceeded, match="not reading its input"):
        for _ in range(100):
            client.input("deaf", b"y" * MAX_INPUT_BYTES)
    assert client.hello()["protocol"] == 1


@pytest.mark.parametrize(("argv", "cwd", "words"), [
    (["no-such-program-xyz"], None, "not found in PATH"),
    (["/nonexistent/bin/prog"], None, "does not exist"),
    (["/etc/passwd"], None, "not executable|cannot start"),
    (["sh"], "/nonexistent/dir", "working directory"),
])
def test_spawn_failure_leaves_no_session_and_no_zombie(client: Client, daemon: DaemonProcess,
                                                       argv: list[str], cwd: str | None,
                                                       words: str) -> None:
    with pytest.raises(SpawnFailed, match=words):
        client.spawn(argv, name="broken", cwd=cwd)
    assert client.list() == []
    assert zombies_of(daemon.proc.pid) == []


def test_exec_failure_after_fork_is_reported(client: Client, daemon: DaemonProcess,
                                             tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "badinterp"
    script.write_text("#!/nonexistent/interpreter\n")
    script.chmod(0o755)
    with pytest.raises(SpawnFailed, match="cannot start"):
        client.spawn([str(script)], name="broken")
    assert client.list() == []
    # The failed child is reaped on the daemon's next SIGCHLD wakeup, which may follow the reply.
    wait_until(lambda: zombies_of(daemon.proc.pid) == [], message="no zombie left")


def test_requests_from_a_req_socket_are_answered(daemon: DaemonProcess) -> None:
    ctx = zmq.Context()
    req = ctx.socket(zmq.REQ)
    req.connect(f"ipc://{daemon.dir}/ctl.sock")
    req.send_multipart(encode_request(9, "hello", {}))
    assert req.poll(5000)
    reply = decode_reply(req.recv_multipart())
    assert reply.id == 9 and reply.result is not None and reply.result["protocol"] == 1
    ctx.destroy(linger=0)


frames_strategy = st.lists(
    st.one_of(
        st.binary(max_size=64),
        st.just(VERSION_FRAME),
        st.builds(lambda items: msgpack.packb(items, use_bin_type=True),
                  st.lists(st.one_of(st.integers(-5, 5), st.text(max_size=8),
                                     st.sampled_from(["hello", "spawn", "read", "input"]),
                                     st.dictionaries(st.text(max_size=6), st.integers(-(2**63), 2**64 - 1) | st.text(max_size=4),
                                                     max_size=3),
                                     st.none(), st.binary(max_size=8)), max_size=5)),
    ),
    min_size=1, max_size=4,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=frames_strategy)
def test_fuzzed_frames_never_kill_the_daemon(raw: RawPeer, frames: list[bytes]) -> None:
    raw.sock.send_multipart(frames)
    # Every message gets exactly one reply (error or not): drain it, then check liveness.
    assert raw.sock.poll(5000), f"no reply to {frames!r}"
    raw.sock.recv_multipart()
    _, error, result = raw.ask(encode_request(1, "hello", {}))
    assert error is None and result is not None


def test_daemon_still_serves_after_the_abuse(client: Client) -> None:
    for _ in range(3):
        with pytest.raises(BadRequest):
            client.request("spawn", {"argv": "not-a-list"})
    info = client.spawn(["sh", "-c", "echo ok"], name="fine")
    assert client.wait(info["name"], 10)["exit_code"] == 0
    assert os.path.exists(client.dir / "ctl.sock")
