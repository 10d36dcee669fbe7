"""`ptyd serve`: run the daemon in the foreground until it is told to stop; `ptyd config show`.

Their options are those of the configuration (configfile.py): each given on the command line
beats the configuration files; one not given leaves the files' value alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ptyd.proto.paths import LOG_FILE

from .configfile import (
    OPTIONS,
    ConfigError,
    Configuration,
    EnvTable,
    Flag,
    Request,
    Size,
    Source,
    load,
    load_daemon_config,
    toml_value,
)
from .logs import setup
from .rundir import RuntimeDirError
from .server import Daemon


def serve(args: argparse.Namespace) -> int:
    try:
        config = load_daemon_config(request_from_args(args, os.environ))
    except ConfigError as e:
        # A bad file: exit 1, as for any refusal to start; a bad option is a usage error.
        print(f"ptyd serve: {e}", file=sys.stderr)
        return 2 if e.from_command_line else 1
    log = setup(config.log_level, config.runtime_dir / LOG_FILE)
    daemon = Daemon(config, adopt=getattr(args, "adopt", None))
    try:
        daemon.prepare()
    except (RuntimeDirError, OSError) as e:
        print(f"ptyd: {e}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(daemon.run())
    except KeyboardInterrupt:
        return 130
    finally:
        log.debug("event loop closed")


SERVE_HELP = ("Run the ptyd daemon in the foreground until it is told to stop (ptyd shutdown, "
              "SIGTERM). An option given here beats the configuration files "
              "(/etc/ptyd/config.toml, then ~/.config/ptyd/config.toml); one not given leaves "
              "their value alone. [KEY] is the option's name in those files.")
"""For people: `ptyd serve --help` names options and files, never this program's sources."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ptyd serve", description=SERVE_HELP)
    add_arguments(parser)
    # Set by a daemon re-executing itself (ptyd upgrade): the handover state to adopt.
    parser.add_argument("--adopt", type=Path, default=None, help=argparse.SUPPRESS)
    return serve(parser.parse_args(argv))


# -- the options, shared by `ptyd serve` and `ptyd config show` ---------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Every configuration option, with defaults of None: an option not given never hides the
    value of a file."""
    parser.add_argument("--config", metavar="FILE", help="configuration file, over "
                        "/etc/ptyd/config.toml and ~/.config/ptyd/config.toml")
    for option in OPTIONS:
        help = f"{option.help} [{option.key}]"
        if not option.live:  # SIGHUP reloads only live options (configfile.reload_config)
            help += "; a change in a file takes effect when the daemon restarts"
        if isinstance(option.kind, Flag):
            parser.add_argument(option.flag, dest=option.dest, default=None, help=help,
                                action=argparse.BooleanOptionalAction)
        elif isinstance(option.kind, EnvTable):
            parser.add_argument(option.flag, dest=option.dest, default=None, action="append",
                                metavar=option.kind.metavar, help=help)
        else:
            parser.add_argument(option.flag, dest=option.dest, default=None,
                                metavar=option.kind.metavar, help=help)


def request_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> Request:
    given = {o.key: getattr(args, o.dest) for o in OPTIONS if getattr(args, o.dest) is not None}
    config_file = Path(args.config).expanduser().absolute() if args.config else None
    return Request(env=dict(env), config_file=config_file, command_line=given)


def config_main(argv: list[str]) -> int:
    """`ptyd config show [--json] [serve options]`: what `ptyd serve` would run with, from the
    same files and options, and where each value comes from. Needs no daemon."""
    parser = argparse.ArgumentParser(prog="ptyd config", description=config_main.__doc__)
    parser.add_argument("action", nargs="?", choices=["show"], default="show")
    parser.add_argument("--json", action="store_true", help="as JSON, for scripts")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config = load(request_from_args(args, os.environ))
    except ConfigError as e:
        print(f"ptyd config: {e}", file=sys.stderr)
        return 2 if e.from_command_line else 1
    if args.json:
        json.dump(show_json(config), sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(show_text(config))
    return 0


def show_text(config: Configuration) -> str:
    """The configuration as TOML (usable as a file), each value commented with its source."""
    lines = ["# ptyd configuration in effect; files read, lowest first:"]
    lines += [f"#   {path} ({'read' if read else 'absent'})" for path, read in config.files]
    section = ""
    for option in OPTIONS:
        table, _, name = option.key.rpartition(".")
        if isinstance(option.kind, EnvTable):
            lines += ["", f"[{option.key}]"]
            section = option.key
            variables = config.tables[option.key]
            lines += [_row(f"{_toml_key(var)} = {toml_value(s.value)}", s.source)
                      for var, s in sorted(variables.items())] or ["# (none)"]
            continue
        if table != section:
            lines += ["", f"[{table}]"]
            section = table
        setting = config.settings[option.key]
        if setting.value is None and not isinstance(option.kind, Size):
            lines.append(_row(f"# {name} = (not set)", setting.source))
        else:
            lines.append(_row(f"{name} = {option.kind.render(setting.value)}", setting.source))
    lines += _notify_text(config)
    for repo, (plan, source) in sorted(config.worktrees.items()):
        lines += ["", _row(f"[worktree.{json.dumps(repo)}]", source)]
        lines += [f"{key} = {json.dumps(list(getattr(plan, key)))}"
                  for key in ("copy", "symlink", "setup")]
        lines.append(f"setup_timeout = {plan.setup_timeout:g}")
    return "\n".join(lines) + "\n"


def _notify_text(config: Configuration) -> list[str]:
    """The [[notify]] rules (daemon/notify.py), as TOML, each with its source."""
    if not config.notify:
        return ["", "# [[notify]] (none)"]
    lines: list[str] = []
    for rule, source in config.notify:
        lines += ["", _row("[[notify]]", source)]
        lines += [f"{key} = {json.dumps(value)}" for key, value in rule.to_json().items()]
    return lines


def _row(assignment: str, source: Source) -> str:
    return f"{assignment:<40} # {source}"


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def show_json(config: Configuration) -> dict[str, Any]:
    """{"files": [{path, read}], "options": {key: {value, from, kind, file, line, name}}}; an
    environment table has per-variable "sources" instead."""
    options: dict[str, Any] = {}
    for option in OPTIONS:
        if isinstance(option.kind, EnvTable):
            variables = config.tables[option.key]
            options[option.key] = {"value": {k: s.value for k, s in variables.items()},
                                   "sources": {k: s.source.to_json()
                                               for k, s in variables.items()}}
        else:
            setting = config.settings[option.key]
            options[option.key] = {"value": option.kind.to_json(setting.value),
                                   **setting.source.to_json()}
    return {"files": [{"path": str(p), "read": read} for p, read in config.files],
            "options": options,
            "notify": [{**rule.to_json(), **source.to_json()} for rule, source in config.notify],
            "worktree": {repo: {"copy": list(plan.copy), "symlink": list(plan.symlink),
                                "setup": list(plan.setup), "setup_timeout": plan.setup_timeout,
                                **source.to_json()}
                         for repo, (plan, source) in config.worktrees.items()}}
