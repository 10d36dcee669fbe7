"""docs/protocol.md's parameter tables, written from the specs (proto/specs.py).

The document marks each generated table: `<!-- params:OP -->` … `<!-- /params -->` holds the
full table of one op; `<!-- params:git.* -->` (any family) a compact table, one row per op of the
family; `<!-- params:git-target -->` the parameters naming an agent's branch (§13.2). The prose
around them stays hand-written. Pure text in, text out: `docs/doctables.py --write` applies
`regenerate` to the file, and tests/proto/test_protocol_doc.py fails while the document differs.
"""

from __future__ import annotations

import re
from typing import Any

from .specs import BY_NAME, GIT_TARGET, SPECS, OpSpec, Param

COMMAND = "python docs/doctables.py --write"
"""The one command that rewrites the document's tables from the specs."""
MARKED = re.compile(r"(<!-- params:(?P<key>[^ ]+) -->\n)(?P<body>.*?)(<!-- /params -->)", re.S)
TYPE_SHOWN = {"path": "path", "signal": "int or str", "state(s)": "str or [str]",
              "author": "map {name, email}"}
"""A type as a table shows it, where it differs from the spec's name (see §3.3's list)."""
EN_DASH = "\u2013"
BRANCH_FORM = "the [§13.2](#132-naming-an-agents-branch) branch"


def shown_number(value: float) -> str:
    """A bound as the document writes it: 2**64-1 in superscript, 604800 (not 604800.0)."""
    if value == 2**64 - 1:
        return "2\u2076\u2074\u22121"
    return str(int(value)) if float(value).is_integer() else str(value)


def shown_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, tuple):
        return "`[" + ", ".join(f'"{v}"' for v in value) + "]`"
    return str(value)


def bounds(param: Param) -> str:
    """What the decoder enforces on the value, in words."""
    said = []
    if param.range is not None:
        said.append(f"{shown_number(param.range[0])}..{shown_number(param.range[1])}")
    if param.choices is not None:
        said.append(", ".join(f"`{c}`" for c in param.choices))
    if param.max_bytes is not None:
        said.append(f"≤ {param.max_bytes} bytes")
    if param.max_items is not None:
        low = "1" if param.nonempty else "0"
        unit = "entries" if param.type.startswith("map") else "items"
        said.append(f"{low}{EN_DASH}{param.max_items} {unit}")
    elif param.nonempty and param.type in ("str", "[str]"):
        said.append("non-empty")
    return ", ".join(said)


def default_cell(param: Param) -> str:
    if param.shown_default:
        return param.shown_default
    if param.required:
        return ""
    return "nil" if param.default is None else shown_value(param.default)


def param_row(param: Param) -> str:
    notes = "; ".join(part for part in (bounds(param), param.notes) if part)
    required = param.shown_required or ("yes" if param.required else "no")
    cells = (f"`{param.name}`", TYPE_SHOWN.get(param.type, param.type), required,
             default_cell(param), notes)
    return "|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|"


def full_table(params: tuple[Param, ...]) -> str:
    rows = [param_row(p) for p in params]
    return "\n".join(["| Param | Type | Req. | Default | Range / notes |",
                      "|---|---|---|---|---|", *rows]) + "\n"


def compact_params(spec: OpSpec) -> str:
    """One cell: each parameter with its type, `req.`, default and bounds, in spec order."""
    parts = []
    params = spec.params
    if set(GIT_TARGET) <= set(params):
        parts.append(BRANCH_FORM)
        params = tuple(p for p in params if p not in GIT_TARGET)
    for p in params:
        said = [TYPE_SHOWN.get(p.type, p.type)]
        said += ["req."] if p.required else []
        default = default_cell(p)
        said += [f"default {default}"] if default and default != "nil" else []
        said += [bounds(p)] if bounds(p) else []
        parts.append(f"`{p.name}` ({', '.join(said)})")
    return ", ".join(parts) or "none"


def compact_table(family: str) -> str:
    rows = [f"| `{s.name}` | {compact_params(s)} |" for s in SPECS
            if s.name.startswith(family)]
    return "\n".join(["| Op | Params |", "|---|---|", *rows]) + "\n"


def table(key: str) -> str:
    """The generated table a marker names: an op, a family `git.*`, or `git-target`."""
    if key == "git-target":
        return full_table(GIT_TARGET)
    if key.endswith(".*"):
        return compact_table(key[:-1])
    spec = BY_NAME[key]
    return full_table(spec.params) if spec.params else "No parameters.\n"


def marked(document: str) -> dict[str, str]:
    """Marker key → the table the document holds there."""
    return {m.group("key"): m.group("body") for m in MARKED.finditer(document)}


def regenerate(document: str) -> str:
    """The document with every marked table rewritten from the specs."""
    return MARKED.sub(lambda m: m.group(1) + table(m.group("key")) + m.group(4), document)


def covered_ops(document: str) -> set[str]:
    """The ops whose parameters a marked table of the document gives."""
    ops: set[str] = set()
    for key in marked(document):
        if key.endswith(".*"):
            ops |= {s.name for s in SPECS if s.name.startswith(key[:-1])}
        elif key in BY_NAME:
            ops.add(key)
    return ops
