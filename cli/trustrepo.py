"""`ptyd trust-repo DIR`: allow a repository's `.ptyd.toml` to prepare new worktrees (copy
files, run its setup command), as it is now. The daemon honours the file only while its SHA-256
matches the one recorded here (in $XDG_STATE_HOME/ptyd/trusted-repos.json), so a pulled change
to it needs a new look and a new `trust-repo`. `--revoke` takes the permission back."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ptyd.proto.locations import trusted_repos_file

SETUP_FILE = ".ptyd.toml"


def repository_root(directory: str) -> Path:
    """The main checkout holding `directory` (ValueError if none): the path the daemon checks.
    A linked worktree's `.git` is a file naming its main repository; only the main checkout's
    `.ptyd.toml` counts."""
    start = Path(directory).resolve()
    if not start.is_dir():
        raise ValueError(f"{directory}: no such directory")
    for candidate in (start, *start.parents):
        if (candidate / ".git").is_dir():
            return candidate
        if (candidate / ".git").is_file():
            raise ValueError(f"{candidate} is a linked worktree: trust the main checkout's "
                             f"{SETUP_FILE} instead")
    raise ValueError(f"{directory} is not in a git repository")


def _record(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {"version": 1, "repos": {}}
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: cannot read it ({e}); remove it to start afresh") from None
    if not isinstance(record, dict) or not isinstance(record.get("repos"), dict):
        raise ValueError(f"{path}: not a ptyd trust record; remove it to start afresh")
    return record


def _write(path: Path, record: dict[str, Any]) -> None:
    """Atomically, 0600 in a 0700 directory: a reader sees the old record or the new one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".trusted-repos.")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(record, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def trust(directory: str, revoke: bool = False) -> str:
    """Record (or revoke) the trust; returns what to tell the user. ValueError: why not."""
    root = repository_root(directory)
    store = trusted_repos_file(os.environ, os.path.expanduser("~"))
    record = _record(store)
    if revoke:
        if record["repos"].pop(str(root), None) is None:
            return f"ptyd: {root} was not trusted"
        _write(store, record)
        return f"ptyd: {root}/{SETUP_FILE} no longer trusted"
    try:
        data = (root / SETUP_FILE).read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{root} has no {SETUP_FILE}: nothing to trust") from None
    digest = hashlib.sha256(data).hexdigest()
    record["repos"][str(root)] = digest
    _write(store, record)
    return (f"ptyd: trusted {root}/{SETUP_FILE} (sha256 {digest[:12]}): new worktrees of this "
            "repository get its files and run its setup command; a change to the file needs "
            "`ptyd trust-repo` again")
