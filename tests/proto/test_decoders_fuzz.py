"""Every op's decoder, fed any msgpack value as any parameter, answers with a protocol error of the
bad_request class or a decoded message: never another exception (which the daemon reports as
`internal`)."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ptyd.proto import decoding, envelope, ops, specs
from ptyd.proto.errors import ErrorCode, ProtocolError

# What a hostile client can put in a msgpack body: scalars, bytes, and nested lists and maps
# (string keys, as the strict unpacker demands), including unicode digits and huge integers.
scalars = (st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats()
           | st.text(max_size=12) | st.binary(max_size=12)
           | st.sampled_from(["\uff19", "\u00b2", "TERM", "15", "claude", "/tmp", "-1",
                             "\uff11\uff12", ""]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)

PARAM_NAMES = sorted({"argv", "name", "cwd", "env", "cols", "rows", "scrollback_bytes",
                      "size_policy", "agent", "agent_settings", "idle_after", "timeout", "stderr",
                      "persistent", "record", "record_input", "repo", "task", "integration",
                      "sandbox_dir", "session", "data", "viewer", "signal", "group", "grace",
                      "offset", "max_bytes", "clamp", "stream", "until", "force", "since", "max",
                      "read_only", "replay_bytes", "event", "payload", "python", "client",
                      "author", "message", "remote", "patch", "branch", "content", "legacy_name",
                      "changes", "trust"})
BAD_REQUEST_CLASS = {ErrorCode.BAD_REQUEST, ErrorCode.LIMIT_EXCEEDED}


def _decode(op: str, params: Any) -> None:
    """As the daemon does: through the envelope (which checks that params is a map), then the
    op's decoder."""
    frames = envelope.encode_request(1, op, {})
    body = msgpack.packb([0, 1, op, params], use_bin_type=True)
    try:
        request = envelope.decode_request([frames[0], body])
        decoding.decode(request.op, request.params)
    except ProtocolError as e:
        assert e.code in BAD_REQUEST_CLASS, (op, params, e)


@pytest.mark.parametrize("op", sorted(specs.BY_NAME))
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(params=st.dictionaries(st.sampled_from(PARAM_NAMES), values, max_size=6))
def test_any_params_of_any_op_get_bad_request_or_decode(op: str, params: dict[str, Any]) -> None:
    _decode(op, params)


@pytest.mark.parametrize("op", sorted(specs.BY_NAME))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(params=values)
def test_params_that_are_not_a_map_get_bad_request(op: str, params: Any) -> None:
    _decode(op, params)


@pytest.mark.parametrize("params", [
    {"argv": ["sh"], "env": [["A", "1"], ["B", "2"]]},
    {"argv": ["sh"], "agent": "claude", "agent_settings": [["hooks", []]]},
    {"argv": [["sh"]]},
    {"argv": ["sh"], "cwd": ["/tmp"]},
    {"argv": ["sh"], "size_policy": [["latest"]]},
    {"argv": ["sh"], "agent": {"claude": 1}},
])
def test_nested_lists_where_maps_or_strings_belong_are_bad_requests(params: dict[str, Any]
                                                                     ) -> None:
    with pytest.raises(ProtocolError) as caught:
        decoding.decode("spawn", params)
    assert caught.value.code == ErrorCode.BAD_REQUEST


@pytest.mark.parametrize("signal", ["\uff19", "\uff11\uff15", "\u00b2", "\u0669",
                                    "99999999999999999999"])
def test_signal_numbers_are_ascii_digits_only(signal: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        ops.parse_signal(signal)
    assert caught.value.code == ErrorCode.BAD_REQUEST


def test_signal_names_and_ascii_numbers_still_parse() -> None:
    assert ops.parse_signal("9") == 9
    assert ops.parse_signal("term") == 15
    assert ops.parse_signal("SIGHUP") == 1
    assert ops.parse_signal(2) == 2
