"""Every request the Python clients send names an op of proto/specs.py and only parameters that
op declares: a client cannot drift from the daemon without this test naming where."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from ptyd.client import AsyncClient, AsyncSession, Session
from ptyd.client._requests import BlockingRequests
from ptyd.proto import specs

ROOT = Path(__file__).resolve().parents[2]


def requests_sent() -> list[tuple[str, str, list[str]]]:
    """(where, op, literal param names) for each `.request("op", {...})` / `.call(...)`."""
    found = []
    for folder in ("client", "cli", "attach", "runtime"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in ("request", "call", "_request") and node.args
                        and isinstance(node.args[0], ast.Constant)
                        and isinstance(node.args[0].value, str)):
                    continue
                params = node.args[1] if len(node.args) > 1 else None
                names = [k.value for k in params.keys if isinstance(k, ast.Constant)] \
                    if isinstance(params, ast.Dict) else []
                if node.func.attr == "_request" and not isinstance(params, ast.Dict):  # git.*
                    names += [k.arg for k in node.keywords if k.arg is not None]
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.args[0].value,
                              names))
    return found


def test_clients_send_only_declared_ops_and_params() -> None:
    sent = requests_sent()
    assert len(sent) > 20  # the scan sees the clients' requests
    wrong = [(where, op, sorted(set(names) - {p.name for p in specs.BY_NAME[op].params}))
             if op in specs.BY_NAME else (where, op, ["<unknown op>"])
             for where, op, names in sent]
    assert [w for w in wrong if w[2]] == []


TYPED = [(AsyncClient, False), (BlockingRequests, False), (AsyncSession, True), (Session, True)]
"""The clients' typed methods named after an op; a session's methods send its own `session`."""

CLIENT_SIDE = {"AsyncClient.input": {"wait"}}
"""Keywords that are the method's own, not a parameter sent as is: `input(wait=False)` does not
wait for the reply (it is sent as `ack: false`)."""


def test_typed_methods_take_only_parameters_their_op_declares() -> None:
    """`Client.kill(session, signal=, grace=)` and the like: a keyword the spec lacks is a
    renamed or dropped parameter (the daemon would refuse it as unknown)."""
    wrong = []
    checked = 0
    for cls, of_session in TYPED:
        for op, spec in specs.BY_NAME.items():
            method = getattr(cls, op, None)
            if not callable(method):
                continue
            names = [n for n in inspect.signature(method).parameters if n != "self"]
            declared = {p.name for p in spec.params} - ({"session"} if of_session else set())
            declared |= CLIENT_SIDE.get(f"{cls.__name__}.{op}", set())
            checked += 1
            if set(names) - declared:
                wrong.append((f"{cls.__name__}.{op}", sorted(set(names) - declared)))
    assert checked > 30  # the methods were found
    assert wrong == []
