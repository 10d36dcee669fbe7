"""Which daemons `ptyd top` watches: the one of the command line (`--dir`, or `--connect` over
CURVE), plus the `[[remote]]` entries of the remotes file.

The remotes file is the client's own, `$XDG_CONFIG_HOME/ptyd/remotes.toml` (or `--remotes
FILE`), not the daemon's config.toml: there `[remote]` is a table (the daemon's own endpoints),
and TOML cannot hold a table and an array of tables of one name."""

from __future__ import annotations

import argparse
import os
import tomllib
from pathlib import Path
from typing import Any

from ptyd.client import CurveKeys
from ptyd.proto.paths import Endpoints

from .daemons import Target


class ConfigError(Exception):
    """The remotes file is unreadable or wrong: the message says where."""


def remotes_path(args: argparse.Namespace) -> Path:
    if getattr(args, "remotes", None):
        return Path(args.remotes)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ptyd" / "remotes.toml"


def targets_from(args: argparse.Namespace, connection: dict[str, Any]) -> list[Target]:
    """`--connect`: that daemon alone. Otherwise the local one (`--dir`) and every remote."""
    if connection.get("endpoints") is not None:
        endpoints: Endpoints = connection["endpoints"]
        cli = ["--connect", endpoints.control, "--publish", endpoints.publish]
        cli += ["--server-key", args.server_key] if args.server_key else []
        cli += ["--client-key", args.client_key] if args.client_key else []
        host = endpoints.control.removeprefix("tcp://")
        return [Target(host, connection.get("dir"), endpoints, connection["curve"], cli)]
    local = Target("local", connection.get("dir"), None, None,
                   ["--dir", str(args.dir)] if args.dir else [])
    return [local, *remote_targets(remotes_path(args), explicit=bool(getattr(args, "remotes", None)))]


def remote_targets(path: Path, explicit: bool = False) -> list[Target]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{path}: no such file") from None
        return []
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: {e}") from None
    entries = data.get("remote", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: remote must be an array of tables: [[remote]]")
    targets = []
    for i, entry in enumerate(entries, 1):
        where = f"{path}: [[remote]] #{i}"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ConfigError(f"{where}: needs name = \"...\"")
        unknown = set(entry) - {"name", "endpoint", "publish", "server_key", "client_key",
                                "dir"}
        if unknown:
            raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        targets.append(_target(entry, where))
    return targets


def _target(entry: dict[str, Any], where: str) -> Target:
    name = entry["name"]
    if "dir" in entry:  # another local daemon (another runtime directory)
        return Target(name, str(entry["dir"]), None, None, ["--dir", str(entry["dir"])])
    control = entry.get("endpoint")
    if not isinstance(control, str) or not control.startswith("tcp://") or \
            not control.rpartition(":")[2].isdigit():
        raise ConfigError(f"{where}: endpoint wants tcp://HOST:PORT (or give dir = ...)")
    host, _, port = control.rpartition(":")
    publish = str(entry.get("publish") or f"{host}:{int(port) + 1}")
    keys = [os.path.expanduser(str(entry[k])) if entry.get(k) else None
            for k in ("server_key", "client_key")]
    try:
        curve = CurveKeys.load(keys[0], keys[1])
    except (OSError, ValueError) as e:
        raise ConfigError(f"{where}: cannot load the CURVE keys ({e})") from None
    cli = ["--connect", control, "--publish", publish]
    cli += ["--server-key", keys[0]] if keys[0] else []
    cli += ["--client-key", keys[1]] if keys[1] else []
    return Target(name, None, Endpoints(control, publish), curve, cli)
