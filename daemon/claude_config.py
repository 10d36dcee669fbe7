"""What ptyd knows about Claude Code's own configuration file, and the one change it makes there:
marking a folder trusted, as a person does by accepting the "trust this folder" dialog.

Claude Code keeps its state in `$CLAUDE_CONFIG_DIR/.claude.json`, else `$HOME/.claude.json`, of
the environment it runs in (the session's, which the client sent, not the daemon's). A folder is
trusted when `projects["<resolved real path>"].hasTrustDialogAccepted` is true. Pressing Enter on
the dialog blindly is unsafe (the order of its options has changed between versions), so the
trust is written before the program starts:

- only when asked (`spawn` with `trust: true`), or for a checkout ptyd made of a repository the
  user already trusts (the checkout inherits that trust, as Claude does for its own worktrees);
- atomically: a new file in the same directory (O_EXCL, O_NOFOLLOW) renamed over the old one,
  with the old file's mode, every other key kept as it was;
- never through a symlink (the file itself, or the temporary one), and never over a file that is
  not a JSON object: Claude rewrites this file itself, and a broken one is better left alone.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CONFIG_NAME = ".claude.json"
MAX_CONFIG_BYTES = 64 << 20
"""A larger file is not Claude's config: left alone."""
RETRIES = 3
"""Claude may rewrite the file between our read and our rename: then read it again."""


class TrustError(Exception):
    """The trust could not be written; the message says why, for a person."""


def config_path(env: Mapping[str, str]) -> Path | None:
    """Claude Code's config file for a program with environment `env`; None if the environment
    names neither CLAUDE_CONFIG_DIR nor HOME."""
    config_dir = env.get("CLAUDE_CONFIG_DIR")
    if config_dir:
        return Path(config_dir) / CONFIG_NAME
    home = env.get("HOME")
    return Path(home) / CONFIG_NAME if home else None


def project_key(directory: str) -> str:
    """Claude keys projects by the resolved real path of the folder."""
    return os.path.realpath(directory)


def _read(path: Path) -> tuple[dict[str, Any] | None, os.stat_result | None]:
    """The config and the stat of the file read (None, None: there is no file)."""
    try:
        # O_NOFOLLOW: a symlinked config is refused (ELOOP), never read or written through.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, None
    except OSError as e:
        if os.path.islink(path):
            raise TrustError(f"{path} is a symbolic link: ptyd does not write through it "
                             "(trust the folder in Claude yourself)") from None
        raise TrustError(f"cannot read {path}: {e.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise TrustError(f"{path} is not a regular file")
        data = f.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise TrustError(f"{path} is over {MAX_CONFIG_BYTES} bytes: left alone")
    try:
        config = json.loads(data) if data.strip() else {}
    except ValueError:
        raise TrustError(f"{path} is not valid JSON: left alone") from None
    if not isinstance(config, dict):
        raise TrustError(f"{path} is not a JSON object: left alone")
    return config, info


def is_trusted(env: Mapping[str, str], directory: str) -> bool:
    """Whether the user trusts `directory` in Claude (for the program's environment): it, or a
    folder above it, is trusted, as Claude itself decides (2.1.197 walks up the parents)."""
    path = config_path(env)
    if path is None:
        return False
    try:
        config, _ = _read(path)
    except TrustError:
        return False
    projects = (config or {}).get("projects")
    if not isinstance(projects, dict):
        return False
    folder = project_key(directory)
    while True:
        entry = projects.get(folder)
        if isinstance(entry, dict) and entry.get("hasTrustDialogAccepted") is True:
            return True
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent


def trust(env: Mapping[str, str], directory: str) -> bool:
    """Record that the user trusts `directory`; True if the file changed (False: it was
    trusted already). Raises TrustError if it cannot be done safely."""
    path = config_path(env)
    if path is None:
        raise TrustError("the session's environment has neither HOME nor CLAUDE_CONFIG_DIR: "
                         "where is Claude's config?")
    key = project_key(directory)
    for _ in range(RETRIES):
        config, before = _read(path)
        config = {} if config is None else config
        projects = config.setdefault("projects", {})
        if not isinstance(projects, dict):
            raise TrustError(f"{path}: 'projects' is not a JSON object: left alone")
        entry = projects.setdefault(key, {})
        if not isinstance(entry, dict):
            raise TrustError(f"{path}: the entry of {key} is not a JSON object: left alone")
        if entry.get("hasTrustDialogAccepted") is True:
            return False
        entry["hasTrustDialogAccepted"] = True
        if _replace(path, config, before):
            return True
    raise TrustError(f"{path} kept changing while ptyd wrote it; try again")


def _replace(path: Path, config: dict[str, Any], before: os.stat_result | None) -> bool:
    """Write `config` to a new file next to `path` and rename it over; False (nothing done)
    if `path` changed since it was read as `before`."""
    mode = stat.S_IMODE(before.st_mode) if before is not None else 0o600
    temp = path.with_name(f".{path.name}.ptyd-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        # O_EXCL|O_NOFOLLOW: never open something planted at the temporary name.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
    except OSError as e:
        raise TrustError(f"cannot write next to {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), mode)  # the old file's mode, whatever the umask
            json.dump(config, f, indent=2, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        if not _unchanged(path, before):
            os.unlink(temp)
            return False
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return True


def _unchanged(path: Path, before: os.stat_result | None) -> bool:
    try:
        now = os.lstat(path)
    except FileNotFoundError:
        return before is None
    if before is None:
        return False
    return (now.st_ino, now.st_mtime_ns, now.st_size) == (before.st_ino, before.st_mtime_ns,
                                                          before.st_size)


def prepare_trust(env: Mapping[str, str], cwd: str, requested: bool,
                  repo: str | None) -> str | None:
    """Before Claude starts in `cwd`: trust it if the client asked (`requested`), or if `cwd` is
    a checkout ptyd made of `repo` and the user trusts `repo`. Returns why it was trusted
    ("requested", "inherited"), or None when nothing was asked or inherited."""
    if requested:
        trust(env, cwd)
        return "requested"
    if repo is not None and is_trusted(env, repo):
        trust(env, cwd)
        return "inherited"
    return None
