"""Rewrite docs/protocol.md's parameter tables from the op specs (proto/specs.py).

    python docs/doctables.py --write    # rewrite the marked tables in place
    python docs/doctables.py            # exit 1 and name the tables that differ

Only the tables between `<!-- params:… -->` and `<!-- /params -->` are touched; the text
around them is hand-written. tests/proto/test_protocol_doc.py runs the same comparison.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ptyd.proto import doctables

DOC = Path(__file__).resolve().parent / "protocol.md"


def main(argv: list[str]) -> int:
    text = DOC.read_text()
    wanted = doctables.regenerate(text)
    if "--write" in argv:
        if wanted != text:
            DOC.write_text(wanted)
        print(f"{DOC}: {len(doctables.marked(wanted))} tables written")
        return 0
    stale = sorted(key for key, body in doctables.marked(text).items()
                   if body != doctables.table(key))
    for key in stale:
        print(f"{DOC.name}: the table params:{key} differs from proto/specs.py")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
