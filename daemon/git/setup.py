"""Prepare every new worktree like the main checkout: copy the untracked files it needs (`.env`),
link what is safe to share (`node_modules`), and name the command that installs the rest.

A repository says so in `.ptyd.toml` at the root of its main checkout:

    [worktree]
    copy = [".env", "config/local.yml"]     # globs, relative to the main checkout
    symlink = ["node_modules"]              # linked, not copied (shared with the main checkout)
    setup = ["npm", "ci"]                   # run in the new worktree before the agent starts
    setup_timeout = 600                     # seconds

A cloned repository must not run commands by itself, so that file is honoured only once the user
allowed it with `ptyd trust-repo DIR`, which records the repository's path and the SHA-256 of the
file in $XDG_STATE_HOME/ptyd/trusted-repos.json: a changed file needs a new `trust-repo`. Until
then a new worktree is refused (UntrustedSetup) rather than made half-ready.

Copied and linked paths join the worktree's private exclude, like an injected CLAUDE.md, so they
never reach the agent's commits. A file the checkout already has (tracked) is left alone. The
setup command itself runs in the session, before the agent (daemon/setupexec.py).

Runs in the git worker threads: plain file work, no event loop.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ptyd.proto.gitworkspace import BadSetup, UntrustedSetup
from ptyd.proto.locations import trusted_repos_file

from ..logs import log

SETUP_FILE = ".ptyd.toml"
DEFAULT_SETUP_TIMEOUT_S = 600.0
MAX_SETUP_TIMEOUT_S = 24 * 3600.0
MAX_MATCHES = 1000
_KEYS = {"copy", "symlink", "setup", "setup_timeout"}


@dataclass(frozen=True)
class WorktreeSetup:
    copy: tuple[str, ...] = ()
    symlink: tuple[str, ...] = ()
    setup: tuple[str, ...] = ()
    setup_timeout: float = DEFAULT_SETUP_TIMEOUT_S
    source: str = ""
    """Where it came from, for messages: the .ptyd.toml path."""


def parse(table: object, source: str) -> WorktreeSetup:
    """The [worktree] table; BadSetup names the key that is wrong."""
    if not isinstance(table, dict):
        raise BadSetup(f"{source}: [worktree] must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise BadSetup(f"{source}: worktree.{unknown[0]}: unknown key (known: "
                       f"{', '.join(sorted(_KEYS))})")
    lists = {}
    for key in ("copy", "symlink", "setup"):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v and "\x00" not in v
                                                  for v in value):
            raise BadSetup(f"{source}: worktree.{key}: expected an array of strings")
        lists[key] = tuple(value)
    for pattern in lists["copy"] + lists["symlink"]:
        parts = PurePosixPath(pattern).parts
        if pattern.startswith("/") or ".." in parts or ".git" in parts:
            raise BadSetup(f"{source}: {pattern!r}: a path relative to the repository, "
                           "without '..' or .git")
    timeout = table.get("setup_timeout", DEFAULT_SETUP_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not (
            0 < timeout <= MAX_SETUP_TIMEOUT_S):
        raise BadSetup(f"{source}: worktree.setup_timeout: expected seconds from 1 to "
                       f"{MAX_SETUP_TIMEOUT_S:g}")
    return WorktreeSetup(lists["copy"], lists["symlink"], lists["setup"], float(timeout), source)


def parse_configured(value: object) -> dict[str, WorktreeSetup]:
    """The configuration file's `[worktree."<repository path>"]` tables; ValueError says which
    is wrong."""
    if not isinstance(value, dict):
        raise ValueError('tables [worktree."<repository path>"]')
    found = {}
    for name, table in value.items():
        path = Path(name).expanduser()
        if not path.is_absolute():
            raise ValueError(f'[worktree."{name}"]: the repository path must be absolute '
                             "(or start with ~)")
        try:
            found[str(path.resolve())] = parse(table, f'[worktree."{name}"]')
        except BadSetup as e:
            raise ValueError(str(e)) from None
    return found


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def trusted(root: Path, file_digest: str) -> bool:
    """Whether the user allowed this repository's .ptyd.toml as it is now."""
    path = trusted_repos_file(os.environ, os.path.expanduser("~"))
    try:
        record = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    repos = record.get("repos") if isinstance(record, dict) else None
    return isinstance(repos, dict) and repos.get(str(root)) == file_digest


def load(main_root: Path, configured: Mapping[str, WorktreeSetup]) -> WorktreeSetup | None:
    """The repository's worktree setup: from the configuration file's tables (`configured`,
    by resolved path: the user's own file, so trusted as it is), else its .ptyd.toml, else
    None; UntrustedSetup if the user has not allowed that file (or it changed since), BadSetup
    if it is not valid."""
    root = main_root.resolve()
    if str(root) in configured:
        return configured[str(root)]
    path = root / SETUP_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise BadSetup(f"{path}: cannot read it: {e.strerror}") from None
    if not trusted(root, digest(data)):
        raise UntrustedSetup(
            f"{path} asks to copy files and run commands in every new worktree, and you have "
            f"not allowed it (or it changed since): read it, then run `ptyd trust-repo {root}`")
    try:
        table = tomllib.loads(data.decode("utf-8")).get("worktree", {})
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise BadSetup(f"{path}: invalid TOML: {e}") from None
    return parse(table, str(path))


PENDING_FILE = "ptyd-setup.json"
"""In the worktree's git dir: the setup command still to run, as trusted when the worktree
was made; the session that runs it removes the file when it succeeded."""


def mark_pending(plan: WorktreeSetup, gitdir: Path) -> None:
    if plan.setup:
        (gitdir / PENDING_FILE).write_text(json.dumps(
            {"setup": list(plan.setup), "setup_timeout": plan.setup_timeout,
             "source": plan.source}))


def pending(gitdir: Path) -> WorktreeSetup | None:
    """The setup a worktree still needs run, or None."""
    path = gitdir / PENDING_FILE
    try:
        data = json.loads(path.read_bytes())
        return WorktreeSetup(setup=tuple(data["setup"]),
                             setup_timeout=float(data["setup_timeout"]),
                             source=str(path))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("worktree setup: ignoring %s: %s", path, e)
        return None


def _in_other_checkout(root: Path, rel: Path) -> bool:
    """Inside another worktree (the agents' sandboxes usually lie in the main checkout): a
    `**/.env` must not copy another agent's files."""
    here = root
    for part in rel.parts:
        here = here / part
        if (here / ".git").exists():
            return True
    return False


def _matches(root: Path, pattern: str) -> list[Path]:
    found = sorted(root.glob(pattern))[:MAX_MATCHES]
    inside = []
    for match in found:
        rel = match.relative_to(root)
        if ".git" in rel.parts or _in_other_checkout(root, rel):
            continue
        if match.is_symlink() or not match.resolve().is_relative_to(root):
            log.warning("worktree setup: %s skipped: a symlink", match)
            continue
        inside.append(match)
    return inside


def planned(plan: WorktreeSetup, main_root: Path) -> list[str]:
    """The paths apply_files would make (relative, '/'-separated), for the private exclude."""
    root = main_root.resolve()
    return [m.relative_to(root).as_posix() for pattern in plan.copy + plan.symlink
            for m in _matches(root, pattern)]


def apply_files(plan: WorktreeSetup, main_root: Path, worktree: Path) -> list[str]:
    """Copy and link the plan's files from the main checkout into the new worktree; returns
    the paths made (relative, '/'-separated)."""
    root = main_root.resolve()
    made: list[str] = []
    for link, patterns in ((False, plan.copy), (True, plan.symlink)):
        for pattern in patterns:
            matches = _matches(root, pattern)
            if not matches:
                log.info("worktree setup: %s: nothing matches %r in %s", plan.source, pattern,
                         root)
            for source in matches:
                rel = source.relative_to(root)
                target = worktree / rel
                if target.exists() or target.is_symlink():
                    continue  # tracked in the branch: its own version wins
                target.parent.mkdir(parents=True, exist_ok=True)
                if link:
                    target.symlink_to(source, target_is_directory=source.is_dir())
                elif source.is_dir():
                    shutil.copytree(source, target, symlinks=True)
                else:
                    shutil.copy2(source, target, follow_symlinks=False)
                made.append(rel.as_posix())
    return made
