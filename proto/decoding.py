"""The one decoder of every operation: it reads a request's params as the op's spec declares them.

Each parameter is read by the reader of its type (`READERS`, built on `fields.Params`, which
words the refusals), bounded by what its `Param` says (range, choices, sizes); absent optional
parameters take their declared default; then the spec's cross-parameter checks run; a parameter
the spec does not declare is refused. The result is a plain map of values, one per declared
parameter: proto stays free of the daemon's types, and the daemon builds its handler's typed
request from it (daemon/ops/__init__.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import ops
from .checks import json_like
from .errors import ErrorCode, ProtocolError, bad_request
from .fields import NAME_RE, Params
from .limits import MAX_STRING_BYTES
from .specs import BY_NAME, OpSpec, Param

Reader = Callable[[Params, Param], Any]


def _text(p: Params, param: Param) -> str | None:
    if param.choices is not None:
        return p.choice(param.name, param.choices)
    return p.text(param.name, required=param.required,
                  max_bytes=param.max_bytes or MAX_STRING_BYTES, nonempty=param.nonempty)


def _path(p: Params, param: Param) -> str | None:
    """An absolute path: the daemon's working directory means nothing to the client."""
    value = p.text(param.name, required=param.required, nonempty=True)
    if value is not None and not value.startswith("/"):
        raise bad_request(f"{p.op}: '{param.name}' must be an absolute path, not {value!r} (the "
                          "daemon's working directory means nothing to you)", param=param.name)
    return value


def _viewer(p: Params, param: Param) -> str | None:
    viewer = p.text(param.name, required=param.required, max_bytes=ops.VIEWER_ID_CHARS)
    if viewer is not None and not NAME_RE.fullmatch(viewer):
        raise bad_request(f"{p.op}: 'viewer' must be an id of [A-Za-z0-9_.-]", param=param.name)
    return viewer


def _int(p: Params, param: Param) -> int | None:
    lo, hi = param.range or (-ops.U64, ops.U64)
    return p.integer(param.name, lo=int(lo), hi=int(hi), required=param.required)


def _number(p: Params, param: Param) -> float | None:
    lo, hi = param.range or (float("-inf"), float("inf"))
    return p.number(param.name, lo=lo, hi=hi, required=param.required)


def _flag(p: Params, param: Param) -> bool | None:
    if p.raw(param.name, param.required) is None:
        return None
    return p.flag(param.name)


def _bytes(p: Params, param: Param) -> bytes | None:
    assert param.max_bytes is not None, f"{param.name}: bytes need max_bytes"
    return p.binary(param.name, required=param.required, max_bytes=param.max_bytes)


def _text_list(p: Params, param: Param) -> tuple[str, ...] | None:
    assert param.max_items is not None, f"{param.name}: lists need max_items"
    value = p.text_list(param.name, max_items=param.max_items, required=param.required,
                        nonempty=param.nonempty)
    return None if value is None else tuple(value)


def _text_map(p: Params, param: Param) -> dict[str, str] | None:
    assert param.max_items is not None, f"{param.name}: maps need max_items"
    return p.text_map(param.name, max_items=param.max_items)


def _mapping(p: Params, param: Param) -> dict[str, Any] | None:
    return p.mapping(param.name, max_items=param.max_items or 256)


def _maps(p: Params, param: Param) -> tuple[dict[str, Any], ...] | None:
    """A list of maps of JSON values (spawn's `notify`: the daemon checks their keys)."""
    value = p.raw(param.name, param.required)
    if value is None:
        return None
    limit = param.max_items or 16
    if (not isinstance(value, list) or len(value) > limit
            or not all(isinstance(v, dict) and json_like(v) for v in value)):
        raise bad_request(f"{p.op}: '{param.name}' must be a list of at most {limit} tables "
                          "of JSON values", param=param.name)
    return tuple(value)


def _signal(p: Params, param: Param) -> int | None:
    value = p.raw(param.name, param.required)
    return None if value is None else ops.parse_signal(value)


def _states(p: Params, param: Param) -> tuple[str, ...] | None:
    until = p.raw(param.name, param.required)
    if until is None:
        return None
    states = [until] if isinstance(until, str) else until
    if (not isinstance(states, list) or not states
            or not all(isinstance(s, str) and s in ops.STATES for s in states)):
        raise bad_request(f"{p.op}: '{param.name}' must be a state or a list of states from "
                          f"{ops.STATES}", param=param.name)
    return tuple(states)


def _author(p: Params, param: Param) -> ops.Author | None:
    value = p.mapping(param.name, max_items=2)
    if value is None:
        return None
    name, email = value.get("name"), value.get("email")
    for part in (name, email):
        if (not isinstance(part, str) or not part or len(part) > 256
                or any(c in part for c in "<>\n\x00")):
            raise bad_request(f"{p.op}: 'author' must be {{name, email}}, both non-empty strings "
                              "of at most 256 characters without '<', '>', newline or NUL",
                              param=param.name)
    assert isinstance(name, str) and isinstance(email, str)
    return ops.Author(name, email)


READERS: dict[str, Reader] = {
    "name": lambda p, param: p.name(param.name, required=param.required),
    "str": _text,
    "path": _path,
    "viewer-id": _viewer,
    "int": _int,
    "number": _number,
    "bool": _flag,
    "bytes": _bytes,
    "[str]": _text_list,
    "map str→str": _text_map,
    "map": _mapping,
    "[map]": _maps,
    "signal": _signal,
    "state(s)": _states,
    "author": _author,
}
"""Every type a `Param` may have, as the document writes it; tests/proto/test_specs.py checks
that each spec's types are here and that the request dataclasses' field types match."""


def decode_spec(spec: OpSpec, params: dict[str, Any]) -> dict[str, Any]:
    """Validate `params` for `spec` into {param: value}, refusing unknown params."""
    p = Params(spec.name, params)
    values: dict[str, Any] = {}
    for param in spec.params:
        value = READERS[param.type](p, param)
        # An empty string takes a str default (`integration: ""` is the default branch), as the
        # hand-written decoders did; where "" is wrong the param says nonempty or choices.
        empty = value == "" and isinstance(param.default, str)
        values[param.name] = param.default if value is None or empty else value
    p.done()
    for check in spec.checks:
        check(spec.name, values)
    return values


def decode(op: str, params: dict[str, Any]) -> dict[str, Any]:
    """Validate `params` for `op`: {param: value} for each declared parameter."""
    spec = BY_NAME.get(op)
    if spec is None:
        raise ProtocolError(ErrorCode.UNKNOWN_OP, f"unknown op {op!r}", {"op": op})
    return decode_spec(spec, params)
