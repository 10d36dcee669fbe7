"""Pushing to remotes as git does: relative path URLs, ssh keys and ssh-agent, https credential
helpers; and a clear error naming what is missing when no credentials work.

The ssh tests run a real OpenSSH server on loopback (Debian: `apt-get install openssh-server`);
they skip where /usr/sbin/sshd is missing. The http tests run a real HTTP server that asks for
Basic credentials."""

from __future__ import annotations

import base64
import http.server
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import pytest

from ptyd.proto.gitworkspace import CredentialsFailed
from ptyd.runtime.branches import BranchManager
from ptyd.runtime.workspace import WorkspaceManager
from tests.conftest import (
    DaemonProcess,
    free_tcp_ports,
    short_tempdir,
    start_daemon,
    stop_daemon,
    wait_until,
)

if TYPE_CHECKING:
    from tests.runtime.conftest import GitCLI

SSHD = Path("/usr/sbin/sshd")


def _manager(project: Path, daemon: DaemonProcess | None = None) -> BranchManager:
    client_dir = None if daemon is None else daemon.dir
    return BranchManager(project, workspace=WorkspaceManager(project.parent / "sandbox",
                                                             repo=project, daemon_dir=client_dir),
                         daemon_dir=client_dir, author_name="A", author_email="a@tests.invalid")


def _agent_with_a_commit(branches: BranchManager) -> tuple[str, str]:
    name = branches.create_agent_branch("a1", "T1")
    (branches.workspace.get_sandbox("a1") / "x.txt").write_text("x\n")
    return name, branches.commit_changes("a1", "work")


# ---- relative paths ---------------------------------------------------------------------


@pytest.mark.usefixtures("ptyd_daemon")
def test_relative_path_remote_is_resolved_against_the_checkout_as_git_does(
        project: Path, tmp_path: Path, git: GitCLI) -> None:
    git(tmp_path, "init", "-q", "--bare", "remote.git")
    git(project, "remote", "add", "origin", "../remote.git")  # as typed, relative
    branches = _manager(project)
    name, commit = _agent_with_a_commit(branches)

    assert branches.push_branch("a1") == commit

    assert git.rev(tmp_path / "remote.git", name) == commit
    assert git.rev(project, f"origin/{name}") == commit  # remote-tracking ref, as git push does
    assert branches.get_branch_info("a1").pushed
    assert git(project, "remote", "get-url", "origin") == "../remote.git"  # config untouched


# ---- daemons with a home of their own ---------------------------------------------------


@pytest.fixture
def home() -> Iterator[Path]:
    base = short_tempdir()
    (base / "home" / ".ssh").mkdir(parents=True, mode=0o700)
    yield base / "home"
    shutil.rmtree(base, ignore_errors=True)


def _daemon_in(home: Path, **env: str) -> DaemonProcess:
    """A daemon whose HOME (and so ~/.ssh, ~/.gitconfig) is `home`, with `env` added."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        patch.delenv("SSH_AUTH_SOCK", raising=False)
        for key, value in env.items():
            patch.setenv(key, value)
        return start_daemon(home.parent / "run")


@pytest.fixture
def own_daemon(home: Path) -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for daemon in started:
        assert stop_daemon(daemon) == 0, daemon.log()
        assert "Traceback" not in daemon.log(), daemon.log()


# ---- http(s): git's credential helpers --------------------------------------------------


class _AskForPassword(http.server.BaseHTTPRequestHandler):
    """A git server that accepts nobody: it asks for Basic credentials and notes what came."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_remote() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (_AskForPassword,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/team/app.git", seen
    server.shutdown()
    server.server_close()
    thread.join()


def test_http_push_offers_what_the_credential_helper_gives(
        project: Path, git: GitCLI, home: Path, own_daemon: list[DaemonProcess],
        http_remote: tuple[str, list[str]]) -> None:
    url, seen = http_remote
    git(project, "remote", "add", "origin", url)
    git(project, "config", "credential.helper",
        "!f() { echo username=agent; echo password=s3cret; }; f")
    own_daemon.append(daemon := _daemon_in(home))
    branches = _manager(project, daemon)
    _agent_with_a_commit(branches)

    with pytest.raises(CredentialsFailed, match="refused the credentials git's credential helper"):
        branches.push_branch("a1")
    assert f"Basic {base64.b64encode(b'agent:s3cret').decode()}" in seen


def test_http_push_without_credentials_says_what_is_missing(
        project: Path, git: GitCLI, home: Path, own_daemon: list[DaemonProcess],
        http_remote: tuple[str, list[str]]) -> None:
    url, _seen = http_remote
    git(project, "remote", "add", "origin", url)
    own_daemon.append(daemon := _daemon_in(home))
    branches = _manager(project, daemon)
    _agent_with_a_commit(branches)

    with pytest.raises(CredentialsFailed, match="no git credential helper has one"):
        branches.push_branch("a1")


# ---- ssh: keys and ssh-agent ------------------------------------------------------------


class SSHServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_tcp_ports(1)[0]
        self.authorized = root / "authorized_keys"
        self.authorized.touch(mode=0o600)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(root / "host_key")], check=True, timeout=30)
        (root / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {root}/host_key\n"
            f"AuthorizedKeysFile {self.authorized}\n"
            "StrictModes no\n"  # the test's files live under /tmp, writable by all
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            f"PidFile {root}/sshd.pid\n")
        if os.geteuid() == 0:
            # What the openssh-server service creates at boot: sshd as root refuses to start
            # without its privilege separation directory.
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.proc = subprocess.Popen([str(SSHD), "-D", "-f", str(root / "sshd_config"),
                                      "-E", str(root / "sshd.log")])
        wait_until(self._listens, 10, 0.02, "sshd to listen")

    def _listens(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"sshd exited: {(self.root / 'sshd.log').read_text()}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def url(self, path: Path) -> str:
        return f"ssh://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SSHServer]:
    if not SSHD.exists() or shutil.which("ssh-keygen") is None:
        pytest.skip("needs OpenSSH's sshd (Debian: apt-get install openssh-server)")
    root = tmp_path / "sshd"
    root.mkdir()
    server = SSHServer(root)
    yield server
    server.stop()


def _user_key(where: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(where)],
                   check=True, timeout=30)
    return where


@pytest.fixture
def ssh_remote(tmp_path: Path, project: Path, git: GitCLI, sshd: SSHServer) -> Path:
    git(tmp_path, "init", "-q", "--bare", "remote.git")
    git(project, "remote", "add", "origin", sshd.url(tmp_path / "remote.git"))
    return tmp_path / "remote.git"


def test_ssh_push_uses_the_key_in_dot_ssh(
        project: Path, git: GitCLI, home: Path, own_daemon: list[DaemonProcess],
        sshd: SSHServer, ssh_remote: Path) -> None:
    key = _user_key(home / ".ssh" / "id_ed25519")
    sshd.authorized.write_text(key.with_suffix(".pub").read_text())
    own_daemon.append(daemon := _daemon_in(home))
    branches = _manager(project, daemon)
    name, commit = _agent_with_a_commit(branches)

    assert branches.push_branch("a1") == commit
    assert git.rev(ssh_remote, name) == commit


def test_ssh_push_uses_the_ssh_agent(
        project: Path, git: GitCLI, home: Path, own_daemon: list[DaemonProcess],
        sshd: SSHServer, ssh_remote: Path) -> None:
    key = _user_key(home.parent / "agent_key")  # not in ~/.ssh: only the agent has it
    sshd.authorized.write_text(key.with_suffix(".pub").read_text())
    sock = home.parent / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        wait_until(sock.exists, 10, 0.02, "ssh-agent's socket")
        subprocess.run(["ssh-add", "-q", str(key)], env={**os.environ, "SSH_AUTH_SOCK": str(sock)},
                       check=True, timeout=30, capture_output=True)
        own_daemon.append(daemon := _daemon_in(home, SSH_AUTH_SOCK=str(sock)))
        branches = _manager(project, daemon)
        name, commit = _agent_with_a_commit(branches)

        assert branches.push_branch("a1") == commit
        assert git.rev(ssh_remote, name) == commit
    finally:
        agent.terminate()
        agent.wait(10)


def test_ssh_push_without_a_usable_key_names_what_is_missing(
        project: Path, home: Path, own_daemon: list[DaemonProcess], sshd: SSHServer,
        ssh_remote: Path) -> None:
    _user_key(home / ".ssh" / "id_ed25519")  # a key the server does not know
    own_daemon.append(daemon := _daemon_in(home))
    branches = _manager(project, daemon)
    _agent_with_a_commit(branches)

    with pytest.raises(CredentialsFailed, match=r"refused every ssh key") as refused:
        branches.push_branch("a1")
    assert str(home / ".ssh" / "id_ed25519") in str(refused.value)
    assert "ssh-agent" in str(refused.value)


def test_cli_push_to_a_relative_remote_and_a_clear_error_without_credentials(
        project: Path, tmp_path: Path, git: GitCLI, home: Path,
        own_daemon: list[DaemonProcess], http_remote: tuple[str, list[str]]) -> None:
    """As a user would: `ptyd new --repo`, `ptyd commit`, `ptyd push` to `../remote.git`, then
    to an http remote with no credential helper: one line saying what to set up, exit 1."""
    git(tmp_path, "init", "-q", "--bare", "remote.git")
    git(project, "remote", "add", "origin", "../remote.git")
    git(project, "remote", "add", "web", http_remote[0])
    own_daemon.append(daemon := _daemon_in(home))
    made = daemon.cli("new", "--repo", str(project), "--task", "T1", "-s", "a1", "-d", "--",
                      "sh", "-c", "echo work > x.txt")
    assert made.returncode == 0, made.stderr
    wait_until(lambda: (project / "sandbox" / "a1" / "x.txt").exists(), message="the agent's work")
    assert daemon.cli("commit", "a1", "-m", "work").returncode == 0
    pushed = daemon.cli("push", "a1")
    assert pushed.returncode == 0, pushed.stderr
    assert git.rev(tmp_path / "remote.git", "agent/a1-T1") == git.rev(project, "agent/a1-T1")

    refused = daemon.cli("push", "a1", "--remote", "web")
    assert refused.returncode == 1
    assert "no git credential helper has one" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_ssh_push_falls_back_from_an_empty_agent_to_the_key_file(
        project: Path, git: GitCLI, home: Path, own_daemon: list[DaemonProcess],
        sshd: SSHServer, ssh_remote: Path) -> None:
    key = _user_key(home / ".ssh" / "id_ed25519")
    sshd.authorized.write_text(key.with_suffix(".pub").read_text())
    sock = home.parent / "empty-agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        wait_until(sock.exists, 10, 0.02, "ssh-agent's socket")
        own_daemon.append(daemon := _daemon_in(home, SSH_AUTH_SOCK=str(sock)))
        branches = _manager(project, daemon)
        name, commit = _agent_with_a_commit(branches)

        assert branches.push_branch("a1") == commit
        assert git.rev(ssh_remote, name) == commit
    finally:
        agent.terminate()
        agent.wait(10)
