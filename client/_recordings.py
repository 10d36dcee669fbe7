"""Reading session recordings, for `ptyd logs` once the daemon no longer has the session.

Where recordings are is the daemon's to say: `hello` reports `recording_dir` (protocol minor 2),
the directory its configuration (files, `--config`, `--recording-dir`, a SIGHUP reload) puts
them in now. A client never re-reads the daemon's configuration files to guess it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from ptyd.proto.locations import recording_suffix


def recording_dir(server: Mapping[str, Any]) -> Path | None:
    """The directory the daemon that answered this `hello` records to; None from a daemon
    that does not say (minor < 2)."""
    value = server.get("recording_dir")
    return Path(value) if isinstance(value, str) and value.startswith("/") else None


def newest_recording(name: str, directory: Path) -> Path | None:
    """NAME.cast or NAME.log, whichever was written last (rotated parts are older)."""
    found = []
    for fmt in ("asciicast", "log"):
        path = directory / f"{name}{recording_suffix(fmt)}"
        try:
            found.append((path.stat().st_mtime, path))
        except OSError:
            continue
    return max(found)[1] if found else None


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


def write_output(path: Path, out: Writable) -> None:
    """The session's output as recorded: an asciicast's "o" events, a log's bytes. A last line
    cut short (the daemon died mid-write) is skipped."""
    with open(path, "rb") as f:
        if path.suffix != ".cast":
            for block in iter(lambda: f.read(1 << 16), b""):
                out.write(block)
            return
        f.readline()  # the header
        for line in f:
            try:
                _, kind, data = json.loads(line)
            except (ValueError, TypeError):
                continue
            if kind == "o" and isinstance(data, str):
                out.write(data.encode("utf-8", "replace"))
