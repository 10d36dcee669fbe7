"""Programs built on the client library (the command, attach, the seed runtime) use its public
modules only: the private ones (`ptyd.client._x`) may change without notice."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_client_private_module_is_imported_from_outside_the_client() -> None:
    offenders = []
    for folder in ("cli", "attach", "runtime"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                        "ptyd.client._"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.module}")
    assert offenders == []
