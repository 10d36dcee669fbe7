"""The op specs (proto/specs.py) are the one declaration: the decoders, the daemon's dispatch
table and `hello.ops` agree with them."""

from __future__ import annotations

from typing import Any

import pytest

from ptyd.daemon.ops import OPS
from ptyd.proto import ops, specs
from ptyd.proto.errors import ProtocolError
from ptyd.proto.fields import Params

SAMPLES: dict[str, Any] = {"name": "a1", "path": "/tmp/x", "str": "x", "int": 1,
                           "bytes": b"x", "[str]": ["sh"], "signal": 15, "viewer-id": "v1"}
"""A valid value of each type, to build the smallest request a spec allows."""


def minimal_request(spec: specs.OpSpec) -> dict[str, Any]:
    request = {p.name: SAMPLES[p.type] for p in spec.params if p.required}
    if set(specs.GIT_TARGET) <= set(spec.params):  # the branch by `session`, or repo + agent
        request["session"] = SAMPLES["name"]
    return request


def test_every_decoder_and_handler_has_a_spec() -> None:
    names = [s.name for s in specs.SPECS]
    assert len(names) == len(set(names))
    assert set(names) == set(ops.DECODERS) == set(OPS)


@pytest.mark.parametrize("spec", specs.SPECS, ids=lambda s: s.name)
def test_decoder_reads_exactly_the_declared_params(spec: specs.OpSpec) -> None:
    """The decoder reads every parameter it knows (absent ones too), so what it read after the
    smallest valid request is the set of parameters it accepts."""
    p = Params(spec.name, minimal_request(spec))
    spec.decoder(p)
    p.done()
    assert p._seen == {param.name for param in spec.params}


@pytest.mark.parametrize("spec", [s for s in specs.SPECS if any(p.required for p in s.params)],
                         ids=lambda s: s.name)
def test_each_required_param_is_required(spec: specs.OpSpec) -> None:
    for param in spec.params:
        if param.required:
            request = minimal_request(spec)
            del request[param.name]
            with pytest.raises(ProtocolError) as refused:
                ops.decode(spec.name, request)
            assert refused.value.data == {"param": param.name}


RANGED = [(s, p) for s in specs.SPECS for p in s.params if p.range is not None]


def _with(spec: specs.OpSpec, param: specs.Param, value: float) -> dict[str, Any]:
    request = minimal_request(spec)
    request[param.name] = value
    partner = {"cols": "rows", "rows": "cols"}.get(param.name)
    if partner is not None and partner not in request:  # give both or neither
        request[partner] = spec.param(partner).range[0]  # type: ignore[index]
    return request


@pytest.mark.parametrize(("spec", "param"), RANGED, ids=lambda x: getattr(x, "name", ""))
def test_the_decoder_holds_the_declared_range(spec: specs.OpSpec, param: specs.Param) -> None:
    assert param.range is not None
    lo, hi = param.range
    step = 1 if param.type == "int" else 0.001
    for value in (lo, hi):
        ops.decode(spec.name, _with(spec, param, int(value) if param.type == "int" else value))
    for value in (lo - step, hi + step):
        with pytest.raises(ProtocolError) as refused:
            ops.decode(spec.name, _with(spec, param, value))
        assert refused.value.data == {"param": param.name}
