"""Claude's "trust this folder" dialog is answered for the person only when they asked (`trust`),
or for a checkout ptyd made of a repository they already trust; the trust is written into
Claude's own config of the session's HOME, atomically, keeping everything else in it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ptyd.client import BadRequest, Client, SpawnFailed
from ptyd.daemon import claude_config
from tests.agents.fake_claude_support import claude_home, fake_claude_command
from tests.conftest import DaemonProcess, screen_text, wait_for_output
from tests.gitrepos import make_project

HOOK_TIMEOUT_S = 30  # SessionStart comes from a `python -m ptyd hook` process
DIALOG = "Yes, I trust this folder"  # the 2.1.197 trust dialog, as the fake draws it
OTHER_KEYS = {"theme": "dark", "hasCompletedOnboarding": True, "numStartups": 7,
              "oauthAccount": {"emailAddress": "someone@example.invalid"}}


def _home(tmp_path: Path, trusted: list[Path] | None = None, mode: int = 0o600) -> Path:
    """A HOME whose .claude.json has onboarding done, other keys of Claude's, an unrelated
    project entry, and (or not) trusted folders."""
    home = claude_home(tmp_path / "home", trusted=trusted or [])
    config = json.loads((home / ".claude.json").read_text())
    config.update(OTHER_KEYS)
    config["projects"]["/elsewhere"] = {"allowedTools": ["Bash(ls)"]}
    (home / ".claude.json").write_text(json.dumps(config))
    (home / ".claude.json").chmod(mode)
    return home


def _config(home: Path) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((home / ".claude.json").read_text())
    return config


def _trusted(home: Path, directory: Path) -> bool:
    entry = _config(home)["projects"].get(os.path.realpath(directory)) or {}
    return entry.get("hasTrustDialogAccepted") is True


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(home)}


def _git_repo(path: Path) -> Path:
    return make_project(path, {"README.md": "demo\n"})


def _starts_without_dialog(client: Client, name: str) -> None:
    """Claude's SessionStart hook fires only once no dialog is up."""
    assert client.wait(name, HOOK_TIMEOUT_S, until=["idle"])["state"] == "idle"
    assert DIALOG not in screen_text(client, name)


def test_trust_writes_the_real_path_keeps_other_keys_and_mode(
        client: Client, tmp_path: Path) -> None:
    claude = fake_claude_command(tmp_path / "bin")
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "link").symlink_to(project)  # Claude keys trust by the resolved real path
    home = _home(tmp_path, mode=0o640)
    before = _config(home)

    client.spawn([str(claude)], name="c", cwd=str(tmp_path / "link"), env=_env(home),
                 agent="claude", trust=True)

    _starts_without_dialog(client, "c")
    after = _config(home)
    assert after["projects"][str(project)] == {"hasTrustDialogAccepted": True}
    assert str(tmp_path / "link") not in after["projects"]
    del after["projects"][str(project)]
    assert after == before  # nothing else changed
    assert (home / ".claude.json").stat().st_mode & 0o777 == 0o640
    assert [p.name for p in home.iterdir()] == [".claude.json"]  # no temporary file left


def test_without_trust_the_dialog_stays_up_and_nothing_is_written(
        client: Client, tmp_path: Path) -> None:
    claude = fake_claude_command(tmp_path / "bin")
    project = tmp_path / "project"
    project.mkdir()
    home = _home(tmp_path)
    before = (home / ".claude.json").read_bytes()
    client.spawn([str(claude)], name="c", cwd=str(project), env=_env(home), agent="claude")
    wait_for_output(client, "c", DIALOG)
    assert (home / ".claude.json").read_bytes() == before


def test_a_checkout_of_a_trusted_repository_inherits_the_trust(
        client: Client, tmp_path: Path) -> None:
    claude = fake_claude_command(tmp_path / "bin")
    repo = _git_repo(tmp_path / "repo")
    home = _home(tmp_path, trusted=[repo])
    info = client.request("spawn", {"argv": [str(claude)], "name": "a1", "repo": str(repo),
                                    "task": "T1", "env": _env(home), "agent": "claude"})
    checkout = Path(info["cwd"])
    assert checkout != repo and checkout.is_dir()
    _starts_without_dialog(client, "a1")
    assert _trusted(home, checkout) and _trusted(home, repo)
    assert {k: v for k, v in _config(home).items() if k != "projects"} == OTHER_KEYS


def test_a_repository_trusted_through_a_folder_above_it_passes_the_trust_on(
        client: Client, tmp_path: Path) -> None:
    """Claude trusts a folder whose parent is trusted: so does ptyd, for the repository."""
    claude = fake_claude_command(tmp_path / "bin")
    (tmp_path / "src").mkdir()
    repo = _git_repo(tmp_path / "src" / "repo")
    home = _home(tmp_path, trusted=[tmp_path / "src"])
    sandboxes = tmp_path / "elsewhere"  # checkouts outside the trusted folder
    info = client.request("spawn", {"argv": [str(claude)], "name": "a1", "repo": str(repo),
                                    "task": "T1", "env": _env(home), "agent": "claude",
                                    "sandbox_dir": str(sandboxes)})
    assert Path(info["cwd"]).parent == sandboxes
    _starts_without_dialog(client, "a1")
    assert _trusted(home, Path(info["cwd"])) and not _trusted(home, repo)


def test_a_checkout_of_an_untrusted_repository_gets_no_entry(
        client: Client, tmp_path: Path) -> None:
    claude = fake_claude_command(tmp_path / "bin")
    repo = _git_repo(tmp_path / "repo")
    home = _home(tmp_path)
    before = (home / ".claude.json").read_bytes()
    info = client.request("spawn", {"argv": [str(claude)], "name": "a1", "repo": str(repo),
                                    "task": "T1", "env": _env(home), "agent": "claude"})
    wait_for_output(client, "a1", DIALOG)
    assert (home / ".claude.json").read_bytes() == before
    assert not _trusted(home, Path(info["cwd"]))


def test_a_symlinked_config_is_not_written_through(client: Client, tmp_path: Path) -> None:
    claude = fake_claude_command(tmp_path / "bin")
    project = tmp_path / "project"
    project.mkdir()
    home = _home(tmp_path)
    real = tmp_path / "dotfiles" / "claude.json"
    real.parent.mkdir()
    (home / ".claude.json").rename(real)
    (home / ".claude.json").symlink_to(real)
    before = real.read_bytes()
    with pytest.raises(SpawnFailed, match="symbolic link"):
        client.spawn([str(claude)], name="c", cwd=str(project), env=_env(home),
                     agent="claude", trust=True)
    assert real.read_bytes() == before and (home / ".claude.json").is_symlink()
    assert "c" not in {s["name"] for s in client.list()}


def test_the_config_dir_of_the_sessions_environment_is_used(client: Client,
                                                            tmp_path: Path) -> None:
    claude = fake_claude_command(tmp_path / "bin")
    project = tmp_path / "project"
    project.mkdir()
    home = _home(tmp_path)
    config_dir = claude_home(tmp_path / "config-dir")
    env = {**_env(home), "CLAUDE_CONFIG_DIR": str(config_dir)}
    home_before = (home / ".claude.json").read_bytes()
    client.spawn([str(claude)], name="c", cwd=str(project), env=env, agent="claude",
                 trust=True)
    _starts_without_dialog(client, "c")
    assert _trusted(config_dir, project)
    assert (home / ".claude.json").read_bytes() == home_before


def test_trust_needs_an_agent(client: Client, daemon: DaemonProcess, tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="'trust' needs 'agent'"):
        client.request("spawn", {"argv": ["true"], "trust": True})
    for agent in ((), ("--agent", "generic")):
        result = daemon.cli("new", "-d", *agent, "--trust", "--", "true")
        assert result.returncode == 2 and "--trust needs --agent claude" in result.stderr
    assert client.list() == []


def test_cli_new_with_trust_starts_claude_without_the_dialog(
        client: Client, daemon: DaemonProcess, tmp_path: Path) -> None:
    claude = fake_claude_command(tmp_path / "bin")
    project = tmp_path / "project"
    project.mkdir()
    home = _home(tmp_path)
    result = daemon.cli("new", "-d", "-s", "c", "--agent", "claude", "--trust", "--cwd",
                        str(project), "--", str(claude), env=_env(home))
    assert result.returncode == 0, result.stderr
    _starts_without_dialog(client, "c")
    assert _trusted(home, project)


def test_a_config_that_is_not_json_is_left_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".claude.json").write_text("{not json")
    with pytest.raises(claude_config.TrustError, match="not valid JSON"):
        claude_config.trust({"HOME": str(home)}, str(tmp_path))
    assert (home / ".claude.json").read_text() == "{not json"
    assert not claude_config.is_trusted({"HOME": str(home)}, str(tmp_path))


def test_a_missing_config_is_created_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert claude_config.trust({"HOME": str(home)}, str(tmp_path)) is True
    assert claude_config.trust({"HOME": str(home)}, str(tmp_path)) is False  # already
    assert (home / ".claude.json").stat().st_mode & 0o777 == 0o600
    assert claude_config.is_trusted({"HOME": str(home)}, str(tmp_path))
