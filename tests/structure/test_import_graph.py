"""The daemon's import graph: handlers see a narrow context, never the server.

Import cycles are what make a package hard to change: a module in a cycle cannot be understood,
tested or replaced without all the others. The only cycle allowed is the server and the helpers
it calls directly with itself (`persist.save(daemon)`), which name `Daemon` for their types.
Imports under `if TYPE_CHECKING:` count: they are dependencies of the reader too.
"""

from __future__ import annotations

import ast
from pathlib import Path

DAEMON = Path(__file__).resolve().parents[2] / "daemon"


def _module_name(path: Path) -> str:
    rel = path.relative_to(DAEMON).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts) or "__init__"


def _resolve(importer: str, is_package: bool, level: int, module: str | None) -> str:
    base = importer.split(".") if importer != "__init__" else []
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + (module.split(".") if module else [])) or "__init__"


def import_graph() -> dict[str, set[str]]:
    """Module → the daemon modules it imports (relative or `ptyd.daemon.` imports)."""
    files = {_module_name(p): p for p in DAEMON.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = _resolve(name, is_package, node.level, node.module)
                elif node.module and node.module.startswith("ptyd.daemon"):
                    base = node.module.removeprefix("ptyd.daemon").lstrip(".") or "__init__"
                else:
                    continue
                names = [f"{base}.{a.name}" if base != "__init__" else a.name
                         for a in node.names]
                # `from . import handover` names a submodule, not the package's __init__.
                targets = names if all(n in files for n in names) else [base, *names]
            elif isinstance(node, ast.Import):
                targets = [a.name.removeprefix("ptyd.daemon.") for a in node.names
                           if a.name.startswith("ptyd.daemon.")]
            graph[name].update(t for t in targets if t in files and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_handler_imports_the_server() -> None:
    graph = import_graph()
    offenders = sorted(m for m, deps in graph.items() if m.startswith("ops") and "server" in deps)
    assert offenders == []


def test_no_cycle_wider_than_the_server_and_its_direct_helpers() -> None:
    graph = import_graph()
    allowed = {"server"} | graph["server"]
    for component in cycles(graph):
        assert component <= allowed, f"import cycle beyond server's helpers: {sorted(component)}"


def test_no_per_daemon_state_at_module_level_in_handlers() -> None:
    """Two daemons in one process (the tests start many) must not share a handler's state:
    no module-level dict, set, list or weak dictionary under daemon/ops/ (but `SERVES`, the
    module's ops, which the package reads once at import to build the dispatch)."""
    mutable = {"dict", "set", "list", "WeakKeyDictionary", "WeakValueDictionary", "defaultdict"}
    found = []
    for path in sorted((DAEMON / "ops").glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
            if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == [
                    "SERVES"]:
                continue
            if isinstance(value, (ast.Dict, ast.Set, ast.List)) and path.name != "__init__.py":
                found.append(f"{path.name}:{node.lineno}")
            elif isinstance(value, ast.Call):
                func = value.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in mutable:
                    found.append(f"{path.name}:{node.lineno}")
    assert found == []


PROCESS_WIDE = {"git/_git.py:_LOCKS"}
"""Meant for the whole process: one lock per repository, which two daemons in one process working
on the same repository must share as much as two threads of one daemon."""


def test_no_mutable_state_at_module_level_anywhere_in_the_daemon() -> None:
    """The same rule for every module of the daemon: its state lives on the daemon (or on a
    session, which an upgrade carries), never in a module variable that a second daemon in the
    process would share and that an exec silently drops. Constants (UPPER_CASE names holding
    literals) are tables, not state; a `global` statement is state whatever it holds."""
    mutable = {"dict", "set", "list", "WeakKeyDictionary", "WeakValueDictionary", "WeakSet",
               "defaultdict", "OrderedDict", "deque", "Counter"}
    found = []
    for path in sorted(DAEMON.rglob("*.py")):
        rel = path.relative_to(DAEMON).as_posix()
        tree = ast.parse(path.read_text())
        found += [f"{rel}:{n.lineno}: global" for n in ast.walk(tree) if isinstance(n, ast.Global)]
        for node in tree.body:
            if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if any(n.startswith("__") or f"{rel}:{n}" in PROCESS_WIDE for n in names):
                continue
            value = node.value
            constant = all(n.lstrip("_").isupper() for n in names)
            if isinstance(value, (ast.Dict, ast.Set, ast.List)) and not constant:
                found.append(f"{rel}:{node.lineno}: {names}")
            elif isinstance(value, ast.Call):
                func = value.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in mutable and (not constant or name.startswith("Weak")
                                        or name in ("defaultdict", "deque", "Counter")):
                    found.append(f"{rel}:{node.lineno}: {names} = {name}()")
    assert found == [], "module-level state in the daemon:\n" + "\n".join(found)
