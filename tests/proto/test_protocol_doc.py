"""docs/protocol.md is the contract: its parameter tables are generated from the op specs
(proto/specs.py, from which the daemon decodes), and every op has its prose.

The tables between `<!-- params:… -->` markers must be exactly what proto/doctables.py writes
(`python docs/doctables.py --write` fixes them); every op must have a generated table and a
section of its own (a numbered `###` heading naming it, or its row in a hand-written table of
§13).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ptyd.proto import doctables, specs

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "protocol.md"
HEADING = re.compile(r"^### \d+\.\d+ `([a-z_.]+)`", re.M)
ROW = re.compile(r"^\| `([a-z_.]+)` \|", re.M)


def test_the_documents_tables_are_what_the_specs_generate() -> None:
    text = DOC.read_text()
    stale = sorted(key for key, body in doctables.marked(text).items()
                   if body != doctables.table(key))
    assert stale == [], (f"{DOC.name}: the tables {stale} differ from proto/specs.py; run "
                         f"`{doctables.COMMAND}`")


def test_every_marker_names_an_op_or_a_family() -> None:
    keys = set(doctables.marked(DOC.read_text()))
    families = {s.name.split(".")[0] + ".*" for s in specs.SPECS if "." in s.name}
    assert sorted(keys - set(specs.BY_NAME) - families - {"git-target"}) == []


@pytest.mark.parametrize("op", sorted(specs.BY_NAME))
def test_every_op_has_its_generated_table(op: str) -> None:
    assert op in doctables.covered_ops(DOC.read_text()), (
        f"{DOC.name} has no parameter table of op {op!r}: put `<!-- params:{op} -->` and "
        f"`<!-- /params -->` in its section, then run `{doctables.COMMAND}`")


@pytest.mark.parametrize("op", sorted(specs.BY_NAME))
def test_every_op_has_a_section_of_prose(op: str) -> None:
    prose = doctables.MARKED.sub("", DOC.read_text())  # generated rows are not prose
    assert op in set(HEADING.findall(prose)) | set(ROW.findall(prose)), (
        f"{DOC.name} has no section for op {op!r} (a `### 7.N `{op}`` heading saying what it "
        "does, its result and its errors)")


@pytest.mark.parametrize(("op", "name"), [(s.name, p.name) for s in specs.SPECS
                                          for p in s.params if p.range is not None])
def test_the_tables_give_each_range(op: str, name: str) -> None:
    lo, hi = specs.BY_NAME[op].param(name).range or (0, 0)
    shown = f"{doctables.shown_number(lo)}..{doctables.shown_number(hi)}"
    row = next(line for line in doctables.table(op).splitlines()
               if line.startswith(f"| `{name}` |"))
    assert shown in row


def test_the_generator_checks_and_rewrites_the_document() -> None:
    """`docs/doctables.py` as a person runs it: no difference now, so exit 0."""
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "doctables.py")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_table_of_contents_lists_every_chapter() -> None:
    text = DOC.read_text()
    chapters = re.findall(r"^## (\d+)\. (.+)$", text, re.M)
    contents = text[text.index("Contents"):text.index("\n---")]
    for number, title in chapters:
        anchor = re.sub(r"[^a-z0-9 -]", "", f"{number} {title}".lower()).replace(" ", "-")
        assert f"{number}. [{title}](#{anchor})" in contents
