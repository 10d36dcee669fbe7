"""Remotes as git understands them: relative path URLs, and the user's credentials.

Relative paths. `git remote add origin ../remote.git` stores the path as typed, and git resolves
it against the directory it runs in, which is the top of the checkout (git chdirs there before
any command; the git directory for a bare repository). libgit2 resolves it against the process's
working directory instead, the daemon's, where it names nothing, and then reports "unsupported
URL protocol". So the URL is resolved here first, as git would from the main checkout.

Credentials. libgit2 asks a callback for credentials, again after each refusal, until the
callback gives up. `UserCredentials` offers what `git push` would use, in git's order: for ssh,
the keys of the running ssh-agent ($SSH_AUTH_SOCK), then the default key files in ~/.ssh (as
ssh does without an IdentityFile); for http(s), what git's credential helpers return, through
`git credential fill` (git's own interface to them, the only use of the git command; prompts are
off: the daemon has no terminal). When nothing is left it raises CredentialsFailed naming what
was tried and what is missing, instead of libgit2's bare "authentication required".

The ssh-agent is the daemon's own: libssh2 reads SSH_AUTH_SOCK from the process environment
when it connects to the agent, and libgit2 offers no way to name another socket, so a caller's
agent cannot be used per push without changing the whole daemon's environment under its other
threads. A daemon under systemd needs SSH_AUTH_SOCK in its unit's environment, or a key file.

Host keys: pygit2 accepts any ssh host key (its certificate callback passes libssh2 host keys
through without a known_hosts check, and hands Python no key to check), so a push over ssh
trusts the network path to the server as `StrictHostKeyChecking=no` would.
"""

from __future__ import annotations

import getpass
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import pygit2
from pygit2.enums import CredentialType

from ptyd.proto.gitworkspace import CredentialsFailed

Credential = pygit2.Username | pygit2.UserPass | pygit2.Keypair  # KeypairFromAgent is a Keypair

SSH_KEY_FILES = ("id_ed25519", "id_ecdsa", "id_ecdsa_sk", "id_ed25519_sk", "id_rsa", "id_dsa")
"""The identities ssh tries when no IdentityFile is configured, in ssh's order."""
CREDENTIAL_HELPER_TIMEOUT_S = 30.0


def is_local_path(url: str) -> bool:
    """True if git takes `url` for a path on this machine (git's url_is_local_not_ssh): no
    `scheme://`, and no `host:` before the first '/' (that would be scp-like ssh)."""
    if "://" in url:
        return False
    colon, slash = url.find(":"), url.find("/")
    return colon < 0 or (0 <= slash < colon)


def resolve_url(repo: pygit2.Repository, url: str) -> str:
    """`url`, with a relative path made absolute against the top of the main checkout (the git
    directory of a bare repository), where git runs."""
    if not is_local_path(url) or os.path.isabs(url):
        return url
    base = repo.workdir or repo.path
    return os.path.normpath(os.path.join(base, url))


class UserCredentials:
    """A libgit2 credentials callback offering, one per call, what git would use."""

    def __init__(self, repo_dir: str, env: Mapping[str, str] | None = None,
                 home: Path | None = None) -> None:
        self.repo_dir = repo_dir
        self.env = dict(os.environ if env is None else env)
        self.home = home or Path(self.env.get("HOME") or Path.home())
        self.tried: list[str] = []
        self._ssh: Iterator[tuple[Credential, str]] | None = None
        self._http_given = False

    def __call__(self, url: str, username: str | None, allowed: int) -> Credential:
        if allowed & CredentialType.USERNAME:
            # ssh:// without a user: ssh logs in as the local user, so does git.
            return pygit2.Username(username or getpass.getuser())
        if allowed & CredentialType.SSH_KEY:
            return self._next_ssh(url, username or getpass.getuser())
        if allowed & CredentialType.USERPASS_PLAINTEXT:
            return self._from_helper(url, username)
        raise CredentialsFailed(f"{url} asks for a kind of credentials ptyd cannot give "
                                f"(libgit2 credential types {allowed})")

    def _next_ssh(self, url: str, user: str) -> Credential:
        if self._ssh is None:
            self._ssh = self._ssh_candidates(user)
        for credential, label in self._ssh:
            self.tried.append(label)
            return credential
        tried = ", ".join(self.tried) or "nothing"
        raise CredentialsFailed(
            f"{url} refused every ssh key the daemon could use as {user!r} (tried: {tried}); "
            "start ssh-agent and `ssh-add` your key before the daemon starts (it reads "
            f"$SSH_AUTH_SOCK), or put an unencrypted key at {self.home}/.ssh/id_ed25519, and "
            "check that the server has its public key")

    def _ssh_candidates(self, user: str) -> Iterator[tuple[Credential, str]]:
        sock = self.env.get("SSH_AUTH_SOCK")
        if sock and os.path.exists(sock):
            # One attempt tries every identity the agent holds (libssh2 walks them).
            yield pygit2.KeypairFromAgent(user), f"ssh-agent at {sock}"
        for name in SSH_KEY_FILES:
            private = self.home / ".ssh" / name
            if private.is_file():
                public = private.with_name(name + ".pub")
                # Without the .pub file libssh2 derives the public key from the private one.
                yield (pygit2.Keypair(user, str(public) if public.is_file() else None,
                                      str(private), ""), str(private))

    def _from_helper(self, url: str, username: str | None) -> Credential:
        if self._http_given:
            raise CredentialsFailed(
                f"{url} refused the credentials git's credential helper gave for it; update "
                "them (`git credential reject`, then push once with git by hand) or configure "
                "another credential.helper")
        self._http_given = True
        self.tried.append("git credential helpers")
        filled = credential_fill(url, username, self.repo_dir, self.env)
        if filled is None:
            raise CredentialsFailed(
                f"{url} wants a user name and password (or token) and no git credential helper "
                "has one for it; store them once (`git config credential.helper store`, then "
                "push once with git by hand), or use an ssh remote")
        return pygit2.UserPass(*filled)


def credential_fill(url: str, username: str | None, repo_dir: str,
                    env: Mapping[str, str]) -> tuple[str, str] | None:
    """(user, password) from git's credential helpers for `url`, or None if none has any."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    fields = {"protocol": parts.scheme, "host": host, "path": parts.path.lstrip("/")}
    if username:
        fields["username"] = username
    request = "".join(f"{k}={v}\n" for k, v in fields.items()) + "\n"
    # No terminal, no askpass program: a helper answers or nothing does (git would prompt).
    quiet = {**env, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
    try:
        proc = subprocess.run(["git", "credential", "fill"], input=request, text=True,
                              capture_output=True, cwd=repo_dir, env=quiet,
                              timeout=CREDENTIAL_HELPER_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None  # no git installed, or a helper that hangs
    if proc.returncode != 0:
        return None
    answer = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    if "password" not in answer:
        return None
    return answer.get("username", username or ""), answer["password"]
