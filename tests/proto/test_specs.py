"""The op specs (proto/specs.py) are the one declaration: the generic decoder reads them, each
handler module's request dataclass has exactly their parameters, and the dispatch table serves
exactly their ops."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest

from ptyd.daemon.ops import REQUESTS, SERVED
from ptyd.proto import decoding, ops, specs
from ptyd.proto.errors import ProtocolError

SAMPLES: dict[str, Any] = {"name": "a1", "path": "/tmp/x", "str": "x", "int": 1,
                           "bytes": b"x", "[str]": ["sh"], "signal": 15, "viewer-id": "v1"}
"""A valid value of each type, to build the smallest request a spec allows."""

PYTHON_TYPES: dict[str, Any] = {
    "name": str, "str": str, "path": str, "viewer-id": str, "int": int, "number": float,
    "bool": bool, "bytes": bytes, "[str]": tuple[str, ...], "map str→str": dict[str, str],
    "map": dict[str, Any], "[map]": tuple[dict[str, Any], ...], "signal": int,
    "state(s)": tuple[str, ...], "author": ops.Author}
"""The field type a request dataclass gives a parameter of each wire type."""


def minimal_request(spec: specs.OpSpec) -> dict[str, Any]:
    request = {p.name: SAMPLES[p.type] for p in spec.params if p.required}
    if set(specs.GIT_TARGET) <= set(spec.params):  # the branch by `session`, or repo + agent
        request["session"] = SAMPLES["name"]
    return request


def test_every_spec_has_one_handler_and_every_handler_a_spec() -> None:
    names = [s.name for s in specs.SPECS]
    assert len(names) == len(set(names))
    assert sorted(set(names) - set(SERVED)) == [], "ops with no handler module serving them"
    assert sorted(set(SERVED) - set(names)) == [], "handlers of ops proto/specs.py lacks"


def test_every_param_type_has_a_reader() -> None:
    assert {p.type for s in specs.SPECS for p in s.params} <= set(decoding.READERS)
    assert set(PYTHON_TYPES) == set(decoding.READERS)


@pytest.mark.parametrize("spec", specs.SPECS, ids=lambda s: s.name)
def test_the_request_dataclass_has_exactly_the_specs_params(spec: specs.OpSpec) -> None:
    """Field names = parameter names; a field's type is its parameter's (optional when the
    parameter may be absent without a default); a field's default is the parameter's."""
    request = REQUESTS[spec.name]
    fields = {f.name: f for f in dataclasses.fields(request)}
    assert sorted(fields) == sorted(p.name for p in spec.params), request.__name__
    hints = typing.get_type_hints(request)
    for param in spec.params:
        expected = PYTHON_TYPES[param.type]
        if not param.required and param.default is None:
            expected = expected | None
        assert hints[param.name] == expected, (request.__name__, param.name)
        field = fields[param.name]
        if field.default is not dataclasses.MISSING:
            assert field.default == param.default, (request.__name__, param.name)
        elif field.default_factory is not dataclasses.MISSING:
            assert field.default_factory() == param.default, (request.__name__, param.name)


@pytest.mark.parametrize("spec", specs.SPECS, ids=lambda s: s.name)
def test_the_smallest_request_decodes_into_the_handlers_request(spec: specs.OpSpec) -> None:
    values = decoding.decode(spec.name, minimal_request(spec))
    assert set(values) == {p.name for p in spec.params}
    REQUESTS[spec.name](**values)


@pytest.mark.parametrize("spec", [s for s in specs.SPECS if any(p.required for p in s.params)],
                         ids=lambda s: s.name)
def test_each_required_param_is_required(spec: specs.OpSpec) -> None:
    for param in spec.params:
        if param.required:
            request = minimal_request(spec)
            del request[param.name]
            with pytest.raises(ProtocolError) as refused:
                decoding.decode(spec.name, request)
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
        decoding.decode(spec.name, _with(spec, param, int(value) if param.type == "int" else value))
    for value in (lo - step, hi + step):
        with pytest.raises(ProtocolError) as refused:
            decoding.decode(spec.name, _with(spec, param, value))
        assert refused.value.data == {"param": param.name}
