"""pause / resume of an agent's workspace on a real repository: every byte of the agent's work
survives the round trip (a WIP commit on its branch), the checkout goes away and comes back,
and a Claude agent continues its conversation (`--resume=ID`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ptyd.client import BadRequest, Client
from tests.agents.fake_claude_support import claude_home, fake_claude_command
from tests.conftest import DaemonProcess, wait_until
from tests.gitrepos import GIT_ENV, git, make_project

HOOK_TIMEOUT_S = 30


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project", {"README.md": "# demo\n",
                                                "old.txt": "to be deleted\n"})


def test_pause_and_resume_keep_every_byte(client: Client, project: Path) -> None:
    info = client.request("spawn", {"argv": ["sh"], "name": "ag", "repo": str(project),
                                    "task": "t1", "env": {"PATH": os.environ["PATH"]}})
    sandbox = Path(info["cwd"])
    work = {"README.md": b"# demo\nedited by the agent\n",
            "new/deep/file.bin": bytes(range(256)) * 4,
            "notes.txt": "unicode: \u00e9\u00e8 \u2603\n".encode()}
    for path, data in work.items():
        (sandbox / path).parent.mkdir(parents=True, exist_ok=True)
        (sandbox / path).write_bytes(data)
    (sandbox / "old.txt").unlink()

    seq = client.events(0)["last"]
    assert client.info("ag")["paused"] is False
    paused = client.pause("ag")
    assert paused["paused"] is True and paused["commit"]
    after = client.info("ag")
    assert after["status"] == "exited" and after["stop_reason"] == "paused"
    assert after["paused"] is True
    events = [e for e in client.events(seq)["events"] if e["type"] == "session.paused"]
    assert [(e["session"], e["branch"], e["commit"]) for e in events] == [
        ("ag", info["branch"], paused["commit"])]
    exited = [e["seq"] for e in client.events(seq)["events"] if e["type"] == "session.exited"]
    assert exited and exited[0] < events[0]["seq"], "the pause is done after the exit"
    assert not sandbox.exists()  # the checkout is gone, the branch stays
    branch = info["branch"]
    assert git(project, "log", "-1", "--format=%s", branch).startswith("WIP")
    for path, data in work.items():
        shown = subprocess.run(["git", "show", f"{branch}:{path}"], cwd=project, env=GIT_ENV,
                               capture_output=True, timeout=30).stdout
        assert shown == data
    with pytest.raises(BadRequest):
        client.pause("ag")  # paused already

    resumed = client.resume("ag")
    assert resumed["name"] == "ag" and resumed["status"] == "running"
    assert resumed["argv"] == ["sh"] and resumed["cwd"] == str(sandbox)
    for path, data in work.items():
        assert (sandbox / path).read_bytes() == data
    assert not (sandbox / "old.txt").exists()
    with pytest.raises(BadRequest):
        client.resume("ag")  # running, not paused
    client.kill("ag")


def test_a_session_without_a_branch_cannot_be_paused(client: Client) -> None:
    client.spawn(["sleep", "60"], name="plain")
    with pytest.raises(BadRequest):
        client.pause("plain")
    assert client.info("plain")["status"] == "running"


def test_a_claude_agent_resumes_its_conversation(client: Client, project: Path,
                                                 tmp_path: Path) -> None:
    home = claude_home(tmp_path / "home", trusted=[project])
    claude = str(fake_claude_command(tmp_path / "bin"))
    client.request("spawn", {"argv": [claude], "name": "c", "repo": str(project),
                             "task": "t2", "agent": "claude",
                             "env": {**os.environ, "HOME": str(home)}})
    s = client.session("c")
    s.wait(HOOK_TIMEOUT_S, until="idle")
    s.send_line("remember the word pineapple")
    agent_id = wait_until(lambda: client.info("c")["agent_session_id"], HOOK_TIMEOUT_S,
                          message="the agent's session id")
    wait_until(lambda: client.info("c")["turn"] >= 1 and client.info("c")["state"] == "idle",
               HOOK_TIMEOUT_S, message="the turn's end")
    client.pause("c")
    resumed = client.resume("c")
    assert f"--resume={agent_id}" in resumed["argv"]
    s = client.session("c")
    s.wait(HOOK_TIMEOUT_S, until="idle")
    assert client.info("c")["status"] == "running"
    client.kill("c")


def test_pause_and_resume_verbs(client: Client, daemon: DaemonProcess, project: Path) -> None:
    info = client.request("spawn", {"argv": ["sleep", "600"], "name": "v", "repo": str(project),
                                    "task": "t3"})
    (Path(info["cwd"]) / "x.txt").write_text("x\n")
    paused = daemon.cli("pause", "v", "-m", "half way")
    assert paused.returncode == 0, paused.stderr
    assert "paused v: agent/v-t3" in paused.stdout
    assert git(project, "log", "-1", "--format=%s", "agent/v-t3") == "WIP: half way"
    again = daemon.cli("pause", "v")
    assert again.returncode == 1 and "paused already" in again.stderr
    row = [line for line in daemon.cli("ls").stdout.splitlines() if line.startswith("v ")]
    assert len(row) == 1 and row[0].split()[1] == "paused", row
    resumed = daemon.cli("resume", "v")
    assert resumed.returncode == 0 and resumed.stdout.strip() == "v"
    assert client.info("v")["status"] == "running"
    client.kill("v")


def test_a_paused_agent_resumes_after_an_upgrade(client: Client, daemon: DaemonProcess,
                                                 project: Path) -> None:
    """Paused on Friday, daemon upgraded over the weekend, resumed on Monday: the pause and the
    request to start the agent again are the session's, carried by the handover."""
    info = client.request("spawn", {"argv": ["sleep", "600"], "name": "w", "repo": str(project),
                                    "task": "t4", "env": {"MARK": "kept"}})
    (Path(info["cwd"]) / "w.txt").write_text("work\n")
    client.pause("w")
    seq = client.events(0)["last"]
    client.request("upgrade")
    daemon.wait_upgraded(seq)
    with daemon.client() as c:
        with pytest.raises(BadRequest, match="paused already"):
            c.pause("w")
        resumed = c.resume("w")
        assert resumed["status"] == "running" and resumed["argv"] == ["sleep", "600"]
        environ = Path(f"/proc/{resumed['pid']}/environ").read_bytes().split(b"\0")
        assert b"MARK=kept" in environ
        assert (Path(resumed["cwd"]) / "w.txt").read_text() == "work\n"
        c.kill("w")

