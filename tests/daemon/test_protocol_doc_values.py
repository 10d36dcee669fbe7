"""docs/protocol.md against a real daemon: every feature, limit (with its value), error code
and session-object field the daemon has is in the document; §11's minimal client runs as
printed; the version in the document's header is the daemon's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from ptyd.client import Client
from ptyd.daemon.scrollback import Scrollback
from ptyd.daemon.session import Session
from ptyd.proto.errors import ErrorCode
from ptyd.proto.limits import PROTOCOL_MINOR, PROTOCOL_VERSION

from ..conftest import DaemonProcess

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
UNITS = {"": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "s": 1}


def _section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(f"\n{title}")
    level = title.split(" ")[0]
    end = text.find(f"\n{level} ", start + 1)
    return text[start:end if end > 0 else len(text)]


def _table(section: str) -> dict[str, list[str]]:
    """First-column names (every `backticked` word of it) → the row's other cells."""
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            for name in re.findall(r"`([a-z_.\-]+)`", cells[0].split(" — ")[0]):
                rows[name] = cells[1:]
    return rows


def _value(cell: str) -> float:
    """`1 MiB (1048576)` → 1048576; `4 MiB unless configured` → 4194304; `1 s` → 1."""
    exact = re.search(r"\((\d+)(?: bytes)?\)", cell)
    if exact:
        return int(exact.group(1))
    m = re.match(r"([\d.]+)\s*(KiB|MiB|GiB|s)?\b", cell)
    assert m, f"no value in {cell!r}"
    return float(m.group(1)) * UNITS[m.group(2) or ""]


def test_every_feature_in_hello_is_defined(client: Client) -> None:
    features = _table(_section("## 4. Versioning"))
    assert sorted(set(client.hello()["features"]) - set(features)) == []


def test_every_limit_in_hello_is_in_the_limits_table_with_its_value(client: Client) -> None:
    table = _table(_section("## 10. Limits"))
    limits = client.hello()["limits"]
    assert sorted(set(limits) - set(table)) == [], "limits §10 does not name"
    for name, value in limits.items():
        if value is None:
            assert "nil" in table[name][0], name
        else:
            assert _value(table[name][0]) == value, f"{name}: {table[name][0]} vs {value}"
        assert table[name][1] == "hello", f"{name} is reported in hello"
    hello_section = _section("### 7.1 `hello`")
    assert sorted(n for n in limits if f"`{n}`" not in hello_section) == []


def test_every_error_code_is_in_the_errors_table() -> None:
    documented = set(_table(_section("## 5. Errors"))) | set(
        _table(_section("### 13.1 The error `git_error`")))
    assert sorted({str(code) for code in ErrorCode} - documented) == []


def test_the_session_object_is_documented_field_by_field() -> None:
    session = Session(name="a", argv=["sh"], cwd="/", pid=1, master_fd=-1, cols=80, rows=24,
                      scrollback=Scrollback(4096))
    documented = set(_table(_section("## 6. The session object"))) | set(
        _table(_section("### 13.7 Additions to the session object")))
    assert sorted(set(session.describe()) - documented) == []
    assert sorted(documented - set(session.describe())) == []


def test_the_hello_example_has_every_field_and_feature(client: Client) -> None:
    example = _section("### 3.4 Example: `hello`")
    hello = client.hello()
    assert sorted(k for k in hello if f'"{k}"' not in example) == []
    assert sorted(f for f in hello["features"] if f'"{f}"' not in example) == []
    assert sorted(k for k in hello["limits"] if f'"{k}"' not in example) == []


def test_the_header_names_the_protocol_version() -> None:
    assert f"Protocol **{PROTOCOL_VERSION}**, minor **{PROTOCOL_MINOR}**" in DOC.read_text()


def test_the_minimal_client_runs_as_printed(daemon: DaemonProcess, tmp_path: Path) -> None:
    code = re.search(r"```python\n(.*?)```", _section("## 11. A minimal client"), re.S)
    assert code is not None
    script = tmp_path / "minimal_client.py"
    script.write_text(code.group(1))
    done = subprocess.run([sys.executable, str(script), str(daemon.dir)],
                          capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stderr
    assert "[exit code 3, signal None]" in done.stdout, done.stdout
