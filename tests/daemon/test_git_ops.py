"""The git.* and sandbox.* ops, and spawn with a repository, at the protocol level: real
repositories, a bare repository as the remote, a real daemon, the git CLI as the referee."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ptyd.client import BadRequest, Client, RemoteError, SpawnFailed
from ptyd.daemon.git.service import GIT_WORKERS
from ptyd.daemon.ops.info import DIRTY_WAIT_S
from tests.conftest import DaemonProcess, slack, wait_until
from tests.gitrepos import GIT_ENV, add_origin, git, make_project

AUTHOR = {"name": "Agent Tester", "email": "agent@tests.invalid"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


@pytest.fixture
def origin(tmp_path: Path, project: Path) -> Path:
    return add_origin(project, tmp_path / "origin.git")


def branch_of(c: Client, project: Path, agent: str, **params: Any) -> dict[str, Any]:
    """git.create for `agent` on task T1, checkouts in <project>/sandbox."""
    return c.request("git.create", {"repo": str(project), "agent": agent, "task": "T1",
                                    "author": AUTHOR, **params})


def commit(c: Client, project: Path, agent: str, files: dict[str, str]) -> str:
    for rel, text in files.items():
        (project / "sandbox" / agent / rel).write_text(text)
    reply = c.request("git.commit", {"repo": str(project), "agent": agent, "message": "work",
                                     "author": AUTHOR})
    return str(reply["commit"])


def git_error(e: pytest.ExceptionInfo[RemoteError]) -> dict[str, Any]:
    assert e.value.code == "git_error", e.value
    return e.value.data


def test_create_commit_info_merge_list_delete(client: Client, project: Path) -> None:
    described = client.request("git.repo", {"repo": str(project / "README.md")})
    assert described["common_dir"] == str(project / ".git")
    assert (described["workdir"], described["bare"]) == (str(project), False)
    created = branch_of(client, project, "a1")
    assert created["branch"] == "agent/a1-T1"
    assert created["sandbox"] == str(project / "sandbox" / "a1")

    head = commit(client, project, "a1", {"api.md": "# API\n"})

    assert head == git(project, "rev-parse", "agent/a1-T1")
    info = client.request("git.info", {"repo": str(project), "agent": "a1"})
    assert (info["ahead"], info["behind"], info["dirty"], info["merged"]) == (1, 0, False, False)
    assert info["sandbox"] == created["sandbox"] and info["task"] == "T1"
    merged = client.request("git.merge", {"repo": str(project), "agent": "a1"})
    assert (merged["outcome"], merged["commit"]) == ("fast-forward", head)
    assert git(project, "rev-parse", "integration") == head
    listed = client.request("git.list", {"repo": str(project)})["branches"]
    assert [(b["agent"], b["merged"]) for b in listed] == [("a1", True)]
    client.request("git.delete", {"repo": str(project), "agent": "a1"})
    assert client.request("git.list", {"repo": str(project)})["branches"] == []
    assert git(project, "worktree", "list").count("\n") == 0


def test_merge_conflict_is_a_git_error_with_the_paths_and_changes_nothing(
        client: Client, project: Path) -> None:
    for agent in ("a1", "a2"):
        branch_of(client, project, agent)
    commit(client, project, "a1", {"README.md": "# demo\n\nfirst line\nby a1\n"})
    commit(client, project, "a2", {"README.md": "# demo\n\nfirst line\nby a2\n"})
    client.request("git.merge", {"repo": str(project), "agent": "a1"})
    before = git(project, "rev-parse", "integration", "agent/a2-T1")

    with pytest.raises(RemoteError) as e:
        client.request("git.merge", {"repo": str(project), "agent": "a2"})

    assert git_error(e) == {"kind": "merge_conflict", "paths": ["README.md"]}
    assert "conflicts in README.md" in e.value.message
    assert git(project, "rev-parse", "integration", "agent/a2-T1") == before


def test_rejected_push_is_a_git_error_and_force_overwrites(
        client: Client, project: Path, origin: Path, tmp_path: Path) -> None:
    branch_of(client, project, "a1")
    commit(client, project, "a1", {"x.txt": "x\n"})
    pushed = client.request("git.push", {"repo": str(project), "agent": "a1"})
    assert git(origin, "rev-parse", "agent/a1-T1") == pushed["commit"]
    other = tmp_path / "other"  # someone else pushes to the same branch
    git(tmp_path, "clone", "-q", "-b", "agent/a1-T1", str(origin), str(other))
    (other / "theirs.txt").write_text("theirs\n")
    git(other, "add", "-A")
    git(other, "commit", "-q", "-m", "theirs")
    git(other, "push", "-q", "origin", "agent/a1-T1")
    theirs = git(origin, "rev-parse", "agent/a1-T1")
    ours = commit(client, project, "a1", {"ours.txt": "ours\n"})

    with pytest.raises(RemoteError) as e:
        client.request("git.push", {"repo": str(project), "agent": "a1"})
    assert git_error(e)["kind"] == "push_rejected"
    assert git(origin, "rev-parse", "agent/a1-T1") == theirs

    client.request("git.push", {"repo": str(project), "agent": "a1", "force": True})
    assert git(origin, "rev-parse", "agent/a1-T1") == ours
    with pytest.raises(RemoteError) as e:
        client.request("git.push", {"repo": str(project), "agent": "a1", "remote": "nope"})
    assert git_error(e)["kind"] == "remote_missing"


def test_diff_carries_the_exact_patch_and_per_file_stats(client: Client, project: Path) -> None:
    branch_of(client, project, "a1")
    commit(client, project, "a1", {"README.md": "# demo\n\nfirst line\nchanged\nadded\n",
                                   "new.bin": "\x00\x01binary"})

    diff = client.request("git.diff", {"repo": str(project), "agent": "a1"})

    expected = subprocess.run(["git", "diff", "integration...agent/a1-T1"], cwd=project,
                              env=GIT_ENV, capture_output=True, check=True).stdout
    assert diff["patch"] == expected
    files = {f["path"]: (f["status"], f["insertions"], f["deletions"], f["binary"])
             for f in diff["files"]}
    assert files == {"README.md": ("M", 2, 1, False), "new.bin": ("A", 0, 0, True)}
    assert (diff["files_changed"], diff["insertions"], diff["deletions"]) == (2, 2, 1)
    stat_only = client.request("git.diff", {"repo": str(project), "agent": "a1", "patch": False})
    assert stat_only["patch"] is None and stat_only["files"] == diff["files"]


class SilentServer:
    """An HTTP 'remote' that accepts the connection and never answers: a push to it hangs in
    libgit2 until the connection closes."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(20)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/repo.git"

    def accept(self) -> socket.socket:
        conn, _ = self.sock.accept()
        return conn


def test_a_hanging_git_op_does_not_block_other_requests(
        client: Client, daemon: DaemonProcess, project: Path, tmp_path: Path) -> None:
    branch_of(client, project, "a1")
    branch_of(client, project, "a2")
    server = SilentServer()
    git(project, "remote", "add", "slow", server.url)
    other = tmp_path / "other"
    git(tmp_path, "init", "-q", str(other))
    outcome: list[BaseException | dict[str, Any]] = []

    def push() -> None:
        with daemon.client(timeout=60) as c:
            try:
                outcome.append(c.request("git.push", {"repo": str(project), "agent": "a1",
                                                      "remote": "slow"}))
            except BaseException as e:  # re-raised in the test thread
                outcome.append(e)

    pusher = threading.Thread(target=push)
    pusher.start()
    conn = server.accept()  # the push is now blocked in a worker, waiting for the server
    try:
        started = time.monotonic()
        assert client.hello()["pid"] > 0
        assert client.list() == []
        # Other git work goes on too: another repository, another agent of this one (the
        # pushing agent's own branch waits for its push: the engine's per-agent lock).
        assert client.request("git.repo", {"repo": str(other)})["bare"] is False
        assert client.request("git.info", {"repo": str(project), "agent": "a2"})["ahead"] == 0
        commit(client, project, "a2", {"a2.txt": "a2\n"})
        assert time.monotonic() - started < slack(5)
        assert pusher.is_alive() and not outcome
    finally:
        conn.close()  # the push fails now
        pusher.join(30)
        server.sock.close()
    (result,) = outcome
    assert isinstance(result, RemoteError) and result.code == "git_error", result


def test_requests_are_validated_before_any_git_work(client: Client, project: Path) -> None:
    bad: list[tuple[str, dict[str, Any]]] = [
        ("git.create", {"repo": "project", "agent": "a1", "task": "T1"}),  # relative path
        ("git.commit", {"session": "s", "repo": str(project), "agent": "a1", "message": "m"}),
        ("git.diff", {"repo": str(project)}),  # no agent
        ("git.push", {"session": "s", "force": "yes"}),
        ("git.commit", {"session": "s", "message": "m", "author": {"name": "x"}}),
        ("sandbox.create", {"agent": "a1"}),  # no sandbox_dir
        ("spawn", {"argv": ["true"], "repo": str(project)}),  # no task
        ("spawn", {"argv": ["true"], "task": "T1"}),  # no repo
        ("spawn", {"argv": ["true"], "repo": str(project), "task": "T1", "cwd": "/"}),
    ]
    for op, params in bad:
        with pytest.raises(BadRequest):
            client.request(op, params)
    with pytest.raises(RemoteError) as e:  # what git cannot take is the engine's to refuse
        client.request("git.create", {"repo": str(project), "agent": "a b", "task": "T1"})
    assert git_error(e)["kind"] == "invalid_argument"
    with pytest.raises(RemoteError) as e:
        client.request("git.repo", {"repo": str(project.parent)})
    assert git_error(e)["kind"] == "not_a_repository"
    with pytest.raises(RemoteError) as e:
        client.request("git.info", {"repo": str(project), "agent": "ghost"})
    assert git_error(e) == {"kind": "unknown_agent", "paths": [], "agent": "ghost"}
    client.spawn(["sleep", "30"], name="plain")
    with pytest.raises(BadRequest, match="works on no branch"):
        client.request("git.diff", {"session": "plain"})


def test_spawn_with_a_repo_starts_the_agent_in_its_checkout(
        client: Client, project: Path) -> None:
    sandbox = project / "sandbox" / "a1"
    script = "pwd; echo work > new.txt; exec sleep 30"
    info = client.request("spawn", {"argv": ["sh", "-c", script], "name": "a1",
                                    "repo": str(project), "task": "T1"})

    assert (info["cwd"], info["branch"], info["repo"]) == (str(sandbox), "agent/a1-T1",
                                                           str(project))
    assert git(sandbox, "symbolic-ref", "HEAD") == "refs/heads/agent/a1-T1"
    wait_until(lambda: (sandbox / "new.txt").exists(), message="the agent's file")
    # info looks (for DIRTY_WAIT_S at most: a slow `git status` answers on a later call)
    wait_until(lambda: client.info("a1")["dirty"] is True, message="info to see the new file")
    listed = client.list()[0]
    assert (listed["branch"], listed["dirty"]) == ("agent/a1-T1", True)  # list reports
    commit = client.request("git.commit", {"session": "a1", "message": "agent work",
                                           "author": AUTHOR})["commit"]
    assert commit == git(project, "rev-parse", "agent/a1-T1")
    assert client.list()[0]["dirty"] is False  # the commit took everything
    diff = client.request("git.diff", {"session": "a1", "patch": False})
    assert [f["path"] for f in diff["files"]] == ["new.txt"]


def test_spawn_that_fails_leaves_no_branch_and_a_restart_reuses_it(
        client: Client, project: Path) -> None:
    with pytest.raises(SpawnFailed):
        client.request("spawn", {"argv": ["/no/such/program"], "name": "a1",
                                 "repo": str(project), "task": "T1"})
    assert git(project, "branch", "--list", "agent/*") == ""
    assert not (project / "sandbox" / "a1").exists()

    client.request("spawn", {"argv": ["sh", "-c", "echo kept > kept.txt"], "name": "a1",
                             "repo": str(project), "task": "T1"})
    client.wait("a1", 20)
    client.remove("a1")
    again = client.request("spawn", {"argv": ["sleep", "30"], "name": "a1",
                                     "repo": str(project), "task": "T1"})
    assert (Path(again["cwd"]) / "kept.txt").read_text() == "kept\n"  # same checkout
    client.kill("a1")
    client.wait("a1", 20)
    client.remove("a1")
    with pytest.raises(RemoteError) as e:  # another task while the first is unmerged
        client.request("spawn", {"argv": ["true"], "name": "a1", "repo": str(project),
                                 "task": "T2"})
    assert git_error(e)["kind"] == "branch_exists"
    assert client.list() == []


def test_plain_sandboxes_without_a_repository(client: Client, tmp_path: Path) -> None:
    where = {"sandbox_dir": str(tmp_path / "sandbox")}
    created = client.request("sandbox.create", {**where, "agent": "a1"})
    assert created["path"] == str(tmp_path / "sandbox" / "a1")
    written = client.request("sandbox.inject", {**where, "agent": "a1", "content": "ctx\n",
                                                "legacy_name": True})["paths"]
    assert [Path(p).name for p in written] == ["CLAUDE.md", ".claude.md"]
    got = client.request("sandbox.get", {**where, "agent": "a1", "changes": True})
    assert (got["injected"], got["changes"]) == ([], [])
    client.request("sandbox.create", {**where, "agent": "a2"})
    listed = client.request("sandbox.list", where)["sandboxes"]
    assert sorted(listed) == ["a1", "a2"]
    assert client.request("sandbox.cleanup_all", where)["removed"] == ["a1", "a2"]
    assert not any((tmp_path / "sandbox").iterdir())
    with pytest.raises(RemoteError) as e:
        client.request("sandbox.get", {**where, "agent": "a1"})
    assert git_error(e)["kind"] == "unknown_agent"


@pytest.mark.parametrize("repo", [True, False], ids=["worktree", "plain"])
def test_inject_replaces_a_planted_claude_md_link_and_leaves_its_target_alone(
        client: Client, project: Path, tmp_path: Path, repo: bool) -> None:
    """A CLAUDE.md symlink in the sandbox (planted by the agent, or committed) is replaced by
    the context; the file it pointed at is untouched. Replaced rather than refused: the sandbox
    is the agent's to write, the link is no reason to go without context, and a rename only
    changes the sandbox's own directory entry."""
    victim = tmp_path / "victim"
    victim.write_text("the user's own file\n")
    if repo:  # an agent's worktree of the project, on its own branch
        branch_of(client, project, "a1")
        where = {"sandbox_dir": str(project / "sandbox"), "repo": str(project)}
        sandbox = project / "sandbox" / "a1"
    else:
        where = {"sandbox_dir": str(tmp_path / "sandbox")}
        sandbox = Path(client.request("sandbox.create", {**where, "agent": "a1"})["path"])
    (sandbox / "CLAUDE.md").symlink_to(victim)
    (sandbox / ".claude.md").symlink_to(victim)
    written = client.request("sandbox.inject", {**where, "agent": "a1", "content": "ctx\n",
                                                "legacy_name": True})["paths"]
    assert victim.read_text() == "the user's own file\n"
    for path in written:
        assert not Path(path).is_symlink() and Path(path).read_text() == "ctx\n"
    assert sorted(p.name for p in sandbox.iterdir() if p.name.endswith(".tmp")) == []


def test_info_answers_while_every_git_worker_is_busy(
        client: Client, daemon: DaemonProcess, project: Path) -> None:
    client.request("spawn", {"argv": ["sleep", "60"], "name": "a0", "repo": str(project),
                             "task": "T1"})
    assert client.info("a0")["dirty"] is False
    server = SilentServer()
    git(project, "remote", "add", "slow", server.url)
    pushers = [f"p{i}" for i in range(GIT_WORKERS)]
    for agent in pushers:
        branch_of(client, project, agent)
    errors: list[BaseException] = []

    def push(agent: str) -> None:
        with daemon.client(timeout=60) as c, pytest.raises(RemoteError) as e:
            c.request("git.push", {"repo": str(project), "agent": agent, "remote": "slow"})
        if e.value.code != "git_error":
            errors.append(e.value)

    threads = [threading.Thread(target=push, args=(agent,)) for agent in pushers]
    for t in threads:
        t.start()
    conns = [server.accept() for _ in pushers]  # every worker now waits on the server
    try:
        (project / "sandbox" / "a0" / "wip.txt").write_text("wip\n")
        started = time.monotonic()
        info = client.info("a0")  # its status is queued: the last value seen, at once
        assert time.monotonic() - started < DIRTY_WAIT_S + slack(3)
        assert info["dirty"] is False
        assert client.hello()["pid"] > 0
    finally:
        for conn in conns:
            conn.close()
        for t in threads:
            t.join(30)
        server.sock.close()
    assert not errors, errors
    wait_until(lambda: client.info("a0")["dirty"], message="the queued status to land")
