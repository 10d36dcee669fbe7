"""The envelope and typed ops, without any I/O."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptyd.proto import (
    VERSION_FRAME,
    decode_reply,
    decode_request,
    decoding,
    encode_reply,
    encode_request,
    ops,
    pubsub,
    specs,
)
from ptyd.proto.errors import ErrorCode, ProtocolError
from ptyd.proto.keys import key_bytes


def test_request_round_trip() -> None:
    frames = encode_request(42, "spawn", {"argv": ["bash"], "cols": 80, "rows": 24})
    assert frames[0] == VERSION_FRAME == b"ptyd/1"
    request = decode_request(frames)
    assert (request.id, request.op) == (42, "spawn")
    message = ops.Spawn(**decoding.decode(request.op, request.params))
    assert message == ops.Spawn(argv=("bash",), cols=80, rows=24)


def test_reply_round_trip_with_result_and_error() -> None:
    ok = decode_reply(encode_reply(1, {"x": b"\x00\xff"}))
    assert ok.id == 1 and ok.error is None and ok.result == {"x": b"\x00\xff"}
    err = decode_reply(encode_reply(2, error=ProtocolError(ErrorCode.NO_SUCH_SESSION, "gone",
                                                           {"session": "a"})))
    assert err.result is None and err.error is not None
    assert (err.error.code, err.error.message, err.error.data) == ("no_such_session", "gone",
                                                                   {"session": "a"})


def test_reply_keeps_unknown_result_fields() -> None:
    reply = decode_reply([VERSION_FRAME, msgpack.packb([1, 5, None, {"new_field": 1}])])
    assert reply.result == {"new_field": 1}


def test_invalid_utf8_string_is_bad_request() -> None:
    raw = b"\x94\x00\x01\xa2\xff\xfe\x80"  # [0, 1, <invalid str>, {}]
    with pytest.raises(ProtocolError) as e:
        decode_request([VERSION_FRAME, raw])
    assert e.value.code == "bad_request"


@given(st.lists(st.binary(max_size=40), max_size=4))
def test_decode_request_raises_only_protocol_errors(frames: list[bytes]) -> None:
    try:
        request = decode_request(frames)
        decoding.decode(request.op, request.params)
    except ProtocolError as e:
        assert e.code in set(ErrorCode)


@given(st.dictionaries(st.sampled_from(["session", "argv", "data", "cols", "rows", "offset",
                                        "signal", "timeout", "force", "since", "x"]),
                       st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                                 st.floats(), st.text(max_size=5), st.binary(max_size=5),
                                 st.lists(st.text(max_size=3), max_size=3)), max_size=5),
       st.sampled_from(sorted(specs.BY_NAME)))
def test_ops_decode_validates_every_field(params: dict, op: str) -> None:  # type: ignore[type-arg]
    try:
        decoding.decode(op, params)
    except ProtocolError as e:
        assert e.code == "bad_request"


def test_signal_names() -> None:
    assert ops.parse_signal("TERM") == ops.parse_signal("SIGTERM") == ops.parse_signal(15) == 15
    assert ops.parse_signal("int") == 2
    with pytest.raises(ProtocolError):
        ops.parse_signal(0)


def test_output_topics_do_not_prefix_match_other_sessions() -> None:
    assert not pubsub.output_topic("a10").startswith(pubsub.output_topic("a1"))
    chunk = pubsub.decode_published(pubsub.output_frames("a1", 7, 100, b"xyz"))
    assert chunk == pubsub.OutputChunk("a1", 7, 100, b"xyz") and chunk.end == 103


def test_unknown_published_topic_is_skipped() -> None:
    assert pubsub.decode_published([b"future:thing", b"x"]) is None


@pytest.mark.parametrize(("name", "expected"), [
    ("Enter", b"\r"), ("C-c", b"\x03"), ("C-[", b"\x1b"), ("M-x", b"\x1bx"), ("Up", b"\x1b[A"),
    ("BSpace", b"\x7f"), ("F5", b"\x1b[15~"), ("Tab", b"\t"), ("PageDown", b"\x1b[6~"),
])
def test_key_names(name: str, expected: bytes) -> None:
    assert key_bytes(name) == expected


def test_unknown_key_lists_known_ones() -> None:
    with pytest.raises(ValueError, match="Enter"):
        key_bytes("Hyper")
