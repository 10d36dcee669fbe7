"""`ptyd config show` (no daemon needed) and `ptyd serve` refusing an invalid file."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.conftest import PYTHON, run_cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The caller's environment with its own (empty) user configuration directory."""
    return {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
            "XDG_STATE_HOME": str(tmp_path / "state")}


def user_file(env: dict[str, str], text: str) -> Path:
    path = Path(env["XDG_CONFIG_HOME"]) / "ptyd" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_show_prints_values_and_their_sources(env: dict[str, str], tmp_path: Path) -> None:
    user = user_file(env, 'log_level = "debug"\n\n[limits]\nscrollback = "1M"\n'
                          '[env.set]\nLANG = "C.UTF-8"\n')
    explicit = tmp_path / "explicit.toml"
    explicit.write_text('[limits]\nscrollback = "2M"\n')
    result = run_cli("config", "show", "--config", str(explicit), "--max-sessions", "7",
                     env=env)
    assert result.returncode == 0, result.stderr
    rows = {line.split("=")[0].strip(): line for line in result.stdout.splitlines()
            if "=" in line and not line.startswith("#")}
    assert rows["log_level"].endswith(f"# {user}:1")
    assert '"2M"' in rows["scrollback"] and rows["scrollback"].endswith(f"# {explicit}:2")
    assert rows["max_sessions"].endswith("# command line --max-sessions")
    assert rows["kill_grace"].endswith("# default")
    assert rows["LANG"].endswith(f"# {user}:6")
    assert f"{user} (read)" in result.stdout
    # What it prints is itself a valid configuration file.
    shown = tomllib.loads(result.stdout)
    assert shown["limits"]["max_sessions"] == 7 and shown["env"]["set"] == {"LANG": "C.UTF-8"}


def test_show_json_for_scripts(env: dict[str, str], tmp_path: Path) -> None:
    user = user_file(env, '[recording]\nformat = "asciicast"\n')
    result = run_cli("--dir", str(tmp_path / "run"), "config", "show", "--json", env=env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    fmt = shown["options"]["recording.format"]
    assert fmt == {"value": "asciicast", "from": f"{user}:2", "kind": "file", "file": str(user),
                   "line": 2}
    assert shown["options"]["dir"]["value"] == str(tmp_path / "run")
    assert shown["options"]["dir"]["from"] == "command line --dir"
    assert shown["options"]["limits.scrollback"] == {"value": 4 << 20, "from": "default",
                                                     "kind": "default"}
    assert {"path": str(user), "read": True} in shown["files"]


def test_show_refuses_an_invalid_file_like_serve(env: dict[str, str]) -> None:
    user = user_file(env, "[limits]\nmax_sessions = true\n")
    result = run_cli("config", "show", env=env)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == (f"ptyd config: {user}:2: limits.max_sessions: expected an "
                                     "integer in 1..1000000, got true")
    user.write_text("")
    bad_option = run_cli("config", "show", "--scrollback", "lots", env=env)
    assert bad_option.returncode == 2 and "command line --scrollback" in bad_option.stderr


@pytest.mark.parametrize(("text", "expected"), [
    ('[limits]\nscrollback = "4M\n', ":2:17: invalid TOML: Illegal character"),
    ('log_level = "loud"\n', ":1: log_level: expected one of 'debug'"),
    ('\n[recording]\nformt = "log"\n', ":3: recording.formt: unknown key (did you mean 'format'?)"),
    ('[remote]\ncontrol = "tcp://0.0.0.0:7710"\npublish = "tcp://0.0.0.0:7711"\n',
     ":2: remote.control: plain TCP is refused"),
])
def test_serve_refuses_an_invalid_file(env: dict[str, str], tmp_path: Path, text: str,
                                       expected: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    rundir = tmp_path / "run"
    proc = subprocess.run([PYTHON, "-m", "ptyd", "--dir", str(rundir), "serve", "--config",
                           str(bad)], capture_output=True, text=True, timeout=30, env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"ptyd serve: {bad}{expected}"), proc.stderr
    assert proc.stderr.count("\n") == 1  # one line
    assert not (rundir / "ctl.sock").exists()


def test_serve_refuses_a_bad_user_file_too(env: dict[str, str], tmp_path: Path) -> None:
    user = user_file(env, "kill_grace = 'soon'\n")
    proc = subprocess.run([PYTHON, "-m", "ptyd", "--dir", str(tmp_path / "run"), "serve"],
                          capture_output=True, text=True, timeout=30, env=env)
    assert proc.returncode == 1 and f"{user}:1: kill_grace" in proc.stderr
