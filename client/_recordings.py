"""Reading session recordings, for `ptyd logs` once the daemon no longer has the session.

The recording directory is found as the daemon finds it: `recording.dir` from the user's
configuration file over the system's, else $XDG_STATE_HOME/ptyd/recordings (the shared pure
helper in ptyd.proto.locations). A daemon started with `--config FILE` or `--recording-dir`
that moves its recordings elsewhere is not seen from here. This module never imports the daemon.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from ptyd.proto.locations import (
    SYSTEM_CONFIG_FILE,
    default_recording_dir,
    recording_suffix,
    user_config_file,
)


def recording_dir(env: Mapping[str, str] = os.environ) -> Path:
    home = env.get("HOME") or os.path.expanduser("~")
    directory = default_recording_dir(env, home)
    for path in (SYSTEM_CONFIG_FILE, user_config_file(env, home)):
        try:
            with open(path, "rb") as f:
                value = tomllib.load(f).get("recording", {}).get("dir")
        except (OSError, tomllib.TOMLDecodeError, AttributeError):
            continue  # an unreadable or invalid file: the daemon refuses it too
        if isinstance(value, str) and Path(value).expanduser().is_absolute():
            directory = Path(value).expanduser()
    return directory


def newest_recording(name: str, directory: Path | None = None) -> Path | None:
    """NAME.cast or NAME.log, whichever was written last (rotated parts are older)."""
    directory = recording_dir() if directory is None else directory
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
