"""Connecting is decided once (client/_connect.py) for the three transports: Wire (blocking
pyzmq), LeanClient (pure-Python ZMTP) and AsyncClient (asyncio). A transport that checks the
runtime directory or starts a daemon itself would be a second copy of those rules, where a fix
lands once and not twice; and the shared module stays free of pyzmq and asyncio, which the
CLI's lean start-up (`ptyd ls`) cannot afford."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

from tests.conftest import PYTHON

ROOT = Path(__file__).resolve().parents[2]
TRANSPORTS = ("client/_wire.py", "client/_lean.py", "client/_async_client.py")
DECIDED_IN_CONNECT = {"check_runtime_dir", "check_sockets", "start_daemon", "resolve_dir",
                      "log_tail", "AUTOSTART_TIMEOUT_S"}


def names_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    imported = {alias.asname or alias.name for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) for alias in node.names}
    return used | imported


def connect_rules_used(path: Path) -> set[str]:
    """What a transport takes from the shared module (`_connect.prepare(...)`)."""
    return {node.attr for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "_connect"}


def test_the_transports_leave_the_connect_rules_to_one_module() -> None:
    copies = {path: sorted(names_used(ROOT / path) & DECIDED_IN_CONNECT)
              for path in TRANSPORTS}
    assert copies == {path: [] for path in TRANSPORTS}
    for path in TRANSPORTS:
        assert {"locate", "prepare", "NewDaemon"} <= connect_rules_used(ROOT / path), \
            f"{path} does not connect through _connect"


def test_the_connect_rules_import_no_zmq_and_no_asyncio() -> None:
    code = ("import sys, ptyd.client._connect; "
            "print(sorted({'zmq', 'asyncio'} & set(sys.modules)))")
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    assert out.strip() == "[]"
