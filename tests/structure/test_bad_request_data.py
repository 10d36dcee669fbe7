"""D11: every `bad_request` about a request's parameters names the parameter in its data
(`param`, or `unknown` for unknown ones), so a client can point at what it sent wrong."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "proto" / "ops.py", ROOT / "proto" / "fields.py",
         *sorted((ROOT / "daemon" / "ops").glob("*.py"))]


def _names_param(call: ast.Call) -> bool:
    if any(k.arg in ("param", "unknown") for k in call.keywords):
        return True
    data = call.args[2] if len(call.args) > 2 else None
    return isinstance(data, ast.Dict) and any(
        isinstance(k, ast.Constant) and k.value == "param" for k in data.keys)


def test_every_bad_request_of_a_parameter_names_it() -> None:
    missing = []
    for path in FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            is_bad_request = getattr(func, "id", None) == "bad_request" or (
                getattr(func, "id", None) == "ProtocolError" and node.args
                and isinstance(node.args[0], ast.Attribute) and node.args[0].attr == "BAD_REQUEST")
            if is_bad_request and not _names_param(node):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert missing == []
