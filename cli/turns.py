"""`ptyd send` then `ptyd wait --until idle` from the same shell must not race.

Right after a send the agent is still `idle` from before it (its UserPromptSubmit hook has not
fired yet), so a plain wait would return at once. `ptyd send` therefore records, per shell (its
parent process) and session, the daemon's event number at its input (`seq` of the reply, with
the session's epoch), when the send submitted something (Enter, or a line end in the text);
`ptyd wait --until ...` from that shell passes it as `since_seq`, so only a state entered after
the send answers it (`--now` ignores the record). The record is a small file in a private
directory ($XDG_RUNTIME_DIR/ptyd-cli, else the temp directory).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _record_path(daemon: str, session: str) -> Path:
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    directory = base / f"ptyd-cli-{os.getuid()}"
    key = hashlib.sha256(f"{daemon}\0{session}\0{os.getppid()}".encode()).hexdigest()[:24]
    return directory / f"sent-{key}.json"


def submits(kind: str, data: bytes) -> bool:
    """Whether this send item submits a prompt (Enter, or text holding a line end)."""
    return b"\r" in data or (kind == "text" and b"\n" in data)


def record_send(daemon: str, session: str, reply: dict[str, Any]) -> None:
    """Remember the input reply of a send that submitted something (best effort)."""
    if "seq" not in reply:
        return  # an older daemon: nothing to wait after
    path = _record_path(daemon, session)
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"seq": reply["seq"], "turn": reply.get("turn"),
                                   "epoch": reply.get("epoch")}))
        os.replace(tmp, path)
    except OSError:
        pass


def last_send(daemon: str, session: str) -> dict[str, Any] | None:
    """The record of this shell's last send to `session` (`seq`, `turn`, `epoch`): the caller
    checks that the epoch is the session's now (not another session of that name)."""
    try:
        record = json.loads(_record_path(daemon, session).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("seq"), int) else None
