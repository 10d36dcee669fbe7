"""docs/protocol.md is the contract: its parameter tables say what the daemon accepts.

Each op's parameters (proto/specs.py, which the decoders are checked against) must appear in
the op's table in the document, required where the document says `yes`, and the document may
name no parameter the daemon would refuse as unknown.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ptyd.proto import specs

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
HEADING = re.compile(r"^### (\d+)\.\d+ `([a-z_.]+)`", re.M)
NAME = re.compile(r"`([a-z_]+)`")
GIT_TARGET_FORM = {"session", "repo", "agent", "integration", "sandbox_dir"}
"""§13.2: every `git.*` op names the agent's branch by these, unless its row says otherwise."""
SANDBOX_FORM = {"sandbox_dir", "repo"}
"""§13.5: every `sandbox.*` op takes these."""


def _sections(text: str) -> list[tuple[str, str]]:
    """(op, body) for each `### N.M \\`op\\`` section of the document."""
    marks = list(HEADING.finditer(text))
    ends = [m.start() for m in marks[1:]] + [len(text)]
    return [(m.group(2), text[m.end():end].split("\n### ")[0]) for m, end in
            zip(marks, ends, strict=True)]


def _rows(body: str, header: str) -> list[list[str]]:
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(header):
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                rows.append([cell.strip() for cell in row.strip("|").split("|")])
            return rows
    return []


def documented_ranges() -> dict[tuple[str, str], str]:
    """(op, param) → the last cell of its row in the op's `| Param |` table (range / notes)."""
    found: dict[tuple[str, str], str] = {}
    for op, body in _sections(DOC.read_text()):
        for row in _rows(body, "| Param |"):
            for name in NAME.findall(row[0]):
                found.setdefault((op, name), row[-1])
    return found


def _shown(value: float) -> str:
    """A bound as the document writes it: 2**64-1 in superscript, 604800 (not 604800.0)."""
    if value == 2**64 - 1:
        return "2\u2076\u2074\u22121"
    return str(int(value)) if float(value).is_integer() else str(value)


@pytest.mark.parametrize(("op", "name"), [(s.name, p.name) for s in specs.SPECS
                                          for p in s.params if p.range is not None])
def test_the_document_gives_each_range(op: str, name: str) -> None:
    lo, hi = specs.BY_NAME[op].param(name).range or (0, 0)
    assert f"{_shown(lo)}..{_shown(hi)}" in documented_ranges()[(op, name)]


def documented_params() -> dict[str, dict[str, bool]]:
    """op → {param: required} as the document's tables give them."""
    text = DOC.read_text()
    found: dict[str, dict[str, bool]] = {}
    for op, body in _sections(text):
        table = found.setdefault(op, {})
        for row in _rows(body, "| Param |"):
            required = len(row) > 2 and row[2] == "yes"
            for name in NAME.findall(row[0]):
                table[name] = required
    compact = "| Op | Params"  # §13.4 and §13.5: one row per op
    for section in ("### 13.4", "### 13.5"):
        for row in _rows(text[text.index(section):], compact):
            op = row[0].strip("`")
            names = set(NAME.findall(row[1]))
            if op.startswith("git.") and "not the §13.2 form" not in row[1]:
                names |= GIT_TARGET_FORM
            if op.startswith("sandbox."):
                names |= SANDBOX_FORM
            found[op] = {name: name in _required_in(row[1]) for name in names}
    return found


def _required_in(cell: str) -> set[str]:
    """Names marked `(req.)` in a compact table: `a` (req.), or `a`, `b` (all req.)."""
    required: set[str] = set()
    for group in re.finditer(r"((?:`[a-z_]+`(?: \([^)]*\))?,? ?)+?)\((all )?req\.", cell):
        names = NAME.findall(group.group(1))
        required |= set(names if group.group(2) else names[-1:])
    return required


@pytest.mark.parametrize("spec", specs.SPECS, ids=lambda s: s.name)
def test_the_document_lists_every_param_of_the_op(spec: specs.OpSpec) -> None:
    documented = documented_params()
    assert spec.name in documented, f"no section for op {spec.name!r} in {DOC.name}"
    table = documented[spec.name]
    declared = {p.name for p in spec.params}
    assert sorted(declared - set(table)) == [], "params the document does not name"
    assert sorted(set(table) - declared) == [], "params the daemon refuses as unknown"


@pytest.mark.parametrize("spec", [s for s in specs.SPECS if not s.name.startswith(
    ("git.", "sandbox."))], ids=lambda s: s.name)
def test_the_document_says_which_params_are_required(spec: specs.OpSpec) -> None:
    table = documented_params()[spec.name]
    assert {p.name for p in spec.params if p.required} == {n for n, r in table.items() if r}


def test_the_document_lists_every_op_the_daemon_serves() -> None:
    assert set(documented_params()) >= set(specs.BY_NAME)


def test_the_table_of_contents_lists_every_chapter() -> None:
    text = DOC.read_text()
    chapters = re.findall(r"^## (\d+)\. (.+)$", text, re.M)
    contents = text[text.index("Contents"):text.index("\n---")]
    for number, title in chapters:
        anchor = re.sub(r"[^a-z0-9 -]", "", f"{number} {title}".lower()).replace(" ", "-")
        assert f"{number}. [{title}](#{anchor})" in contents
