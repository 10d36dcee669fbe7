"""`ptyd send` then `ptyd wait --until idle` from the same shell must not race.

Right after a send the agent is still `idle` from before it (its UserPromptSubmit hook has not
fired yet), so a plain wait would return at once. `ptyd send` therefore records, per shell (its
parent process) and session, the daemon's event number at its input (`seq` of the reply, with
the session's epoch), when the send submitted something (Enter, or a line end in the text);
`ptyd wait --until ...` from that shell passes it as `since_seq`, so only a state entered after
the send answers it (`--now` ignores the record). The record is a small file in the local
runtime directory (`<dir>/cli/`), which the client has checked is ours alone (0700, not a
link): never in a shared temp directory, where another user could plant a link to write
through. Files are opened without following links. Best effort: no record, no wait-after.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def _record_path(runtime_dir: Path, daemon: str, session: str) -> Path | None:
    """Where this shell's last send to `session` of `daemon` is recorded, or None when the
    local runtime directory is missing (a remote-only user): then nothing is recorded."""
    import hashlib  # (only `send` and `wait` pay for these)

    from ptyd.client.rundir import check_runtime_dir

    if not check_runtime_dir(runtime_dir):  # raises UnsafeRuntimeDir for a foreign one
        return None
    key = hashlib.sha256(f"{daemon}\0{session}\0{os.getppid()}".encode()).hexdigest()[:24]
    return runtime_dir / "cli" / f"sent-{key}.json"


def submits(kind: str, data: bytes) -> bool:
    """Whether this send item submits a prompt (Enter, or text holding a line end)."""
    return b"\r" in data or (kind == "text" and b"\n" in data)


def record_send(runtime_dir: Path, daemon: str, session: str, reply: dict[str, Any]) -> None:
    """Remember the input reply of a send that submitted something (best effort)."""
    if "seq" not in reply:
        return  # an older daemon: nothing to wait after
    try:
        path = _record_path(runtime_dir, daemon, session)
        if path is None:
            return
        from ptyd.client.rundir import open_private

        path.parent.mkdir(mode=0o700, exist_ok=True)  # inside our 0700 directory
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        with os.fdopen(fd, "w") as f:
            json.dump({"seq": reply["seq"], "turn": reply.get("turn"),
                       "epoch": reply.get("epoch")}, f)
        os.replace(tmp, path)
    except OSError:
        pass


def last_send(runtime_dir: Path, daemon: str, session: str) -> dict[str, Any] | None:
    """The record of this shell's last send to `session` (`seq`, `turn`, `epoch`): the caller
    checks that the epoch is the session's now (not another session of that name)."""
    try:
        path = _record_path(runtime_dir, daemon, session)
        if path is None:
            return None
        from ptyd.client.rundir import open_private

        fd = open_private(path, os.O_RDONLY)
        with os.fdopen(fd) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("seq"), int) else None
