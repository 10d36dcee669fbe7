"""A git branch per agent: create, commit, push, merge into integration, diff. pygit2 only.

Where the work happens: `create_agent_branch("a1", "T1")` creates `agent/a1-T1` from the
integration branch *and* checks it out as a linked worktree at `<workspace>/a1` (default
`<repo>/sandbox/a1`, listed in .git/info/exclude so the main checkout ignores it; see
WorkspaceManager). The agent edits files there; `commit_changes` commits
what changed in that checkout; `merge_to_integration` merges the branch into integration in
memory, without a checkout; a checkout that has integration itself checked out (the main
worktree when integration is `main`) is moved along if it is clean, and the merge is refused
(UncommittedChanges, nothing changed) if it is not (see _git_merge).

Integration: created from the current HEAD the first time it is needed. In an empty repository
(no commit yet) it gets an empty root commit, so agents can start a project from nothing; HEAD
and the main checkout are left alone.

Threads: every method opens its own pygit2.Repository (libgit2's one-object-per-thread rule) and
takes the repository's in-process locks (see _git), so one manager can serve many threads.
Other processes are kept off by git's own .lock files (RepositoryLocked when we lose the race).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pygit2
from pygit2.enums import CredentialType

from ptyd.proto.gitworkspace import (
    BranchDiff,
    BranchExists,
    BranchInfo,
    DetachedHead,
    GitWorkspaceError,
    InvalidArgument,
    MergeResult,
    NothingToCommit,
    NotMerged,
    PushRejected,
    RemoteMissing,
    SandboxMissing,
    UnknownAgent,
    WrongBranch,
)

from . import _git_registry as registry
from ._git import (
    StrPath,
    branch_tip,
    check_branch_name,
    check_id,
    configured_identity,
    find_common_dir,
    git_errors,
    locks_for,
    make_signature,
    open_repo,
    rereads_torn_config,
    translate_git_error,
)
from ._git_diff import diff_commits
from ._git_merge import merge_into
from ._git_registry import AgentRecord
from ._git_remote import UserCredentials, resolve_url
from ._git_worktree import injected_paths
from .setup import WorktreeSetup
from .workspace import WorkspaceManager

__all__ = ["BranchManager", "Credentials"]

Credentials = pygit2.Username | pygit2.UserPass | pygit2.Keypair

_NON_FAST_FORWARD = ("non-fastforward", "contains commits that are not present locally")


class _PushCallbacks(pygit2.RemoteCallbacks):
    """Collects per-ref rejections: over ssh/https a refused update (hook, protection rule)
    does not raise, it only arrives here with a message."""

    def __init__(self, credentials: Credentials | UserCredentials) -> None:
        super().__init__()
        self._credentials = credentials
        self.rejected: dict[str, str] = {}

    def credentials(self, url: str, username_from_url: str | None,
                    allowed_types: CredentialType) -> Credentials:
        # Called again after each refusal; UserCredentials offers the next candidate each time.
        return self._credentials(url, username_from_url, allowed_types)

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message is not None:
            self.rejected[refname] = message


class BranchManager:
    """Git branch operations for agents, one branch and one sandbox per agent.

    `repo_dir`: any path inside the repository. `integration_branch`: where agents' work is
    merged. `workspace`: where agents' checkouts live (default: `WorkspaceManager(<repo
    root>/sandbox, repo=<repo root>)`; required for a bare repository). Commits are made by
    `signature`'s or `author_name`/`author_email`'s identity, else the repository's user.name
    and user.email, else `ptyd <ptyd@localhost>`; the time is taken at each commit.
    """

    def __init__(
        self,
        repo_dir: StrPath,
        integration_branch: str = "integration",
        *,
        workspace: WorkspaceManager | None = None,
        signature: pygit2.Signature | None = None,
        author_name: str | None = None,
        author_email: str | None = None,
        setups: Mapping[str, WorktreeSetup] | None = None,
    ) -> None:
        self.repo_dir = Path(repo_dir)
        self.common_dir = find_common_dir(repo_dir)
        self.integration_branch = check_branch_name(integration_branch)
        with open_repo(self.common_dir) as repo:
            default_name, default_email = configured_identity(repo)
            workdir = repo.workdir
        if signature is not None:
            default_name, default_email = signature.name, signature.email
        self.author_name = author_name or default_name
        self.author_email = author_email or default_email
        if workspace is None:
            if workdir is None:
                raise GitWorkspaceError(
                    f"{self.common_dir} is a bare repository: pass "
                    "workspace=WorkspaceManager(<dir for checkouts>, repo=...)"
                )
            workspace = WorkspaceManager(Path(workdir) / "sandbox", repo=workdir, setups=setups)
        elif workspace.common_dir != self.common_dir:
            raise GitWorkspaceError(
                f"{workspace!r} manages {workspace.common_dir or 'plain directories'}, not "
                f"{self.common_dir}; create it with repo={str(self.repo_dir)!r}"
            )
        self.workspace = workspace
        self._locks = locks_for(self.common_dir)

    def __repr__(self) -> str:
        return (
            f"BranchManager({str(self.repo_dir)!r}, "
            f"integration_branch={self.integration_branch!r})"
        )

    # ---- creating -------------------------------------------------------------------------

    def create_agent_branch(self, agent_id: str, task_id: str) -> str:
        """Create `agent/{agent_id}-{task_id}` from integration and check it out in the agent's
        sandbox; returns the branch name. An agent has one branch at a time (BranchExists)."""
        name = registry.branch_name(check_id("agent id", agent_id), check_id("task id", task_id))
        check_branch_name(name)
        locks = self._locks
        action = f"creating branch {name!r}"
        with locks.agent(agent_id):
            with locks.repo, open_repo(self.common_dir) as repo, git_errors(action):
                existing = registry.lookup(repo, agent_id)
                if existing is not None:
                    raise BranchExists(
                        f"agent {agent_id!r} already has branch {existing.branch!r}; merge it "
                        f"and delete_agent_branch({agent_id!r}) first, or use another agent id"
                    )
                if name in repo.branches.local:
                    raise BranchExists(
                        f"branch {name!r} already exists and is no agent's; delete it "
                        f"(`git branch -D {name}`) or use another task id"
                    )
                base = self._ensure_integration(repo)
                repo.branches.local.create(name, repo[base].peel(pygit2.Commit))
                registry.register(repo, AgentRecord(agent_id, task_id, name, str(base)))
            try:
                self.workspace.create_sandbox(agent_id, branch=name)
            except BaseException:
                undo = f"undoing {action}"
                with locks.repo, open_repo(self.common_dir) as repo, git_errors(undo):
                    repo.branches.local.delete(name)
                    registry.unregister(repo, agent_id)
                raise
        return name

    def _ensure_integration(self, repo: pygit2.Repository) -> pygit2.Oid:
        """Integration's head, creating the branch from HEAD (or an empty root) if missing."""
        ref = repo.branches.local.get(self.integration_branch)
        if ref is not None:
            return ref.peel(pygit2.Commit).id
        if repo.head_is_unborn:
            # No commit yet: HEAD names a branch that does not exist, so there is nothing to
            # branch from. An empty root commit is the neutral starting point.
            sig = self._signature()
            empty_tree = repo.TreeBuilder().write()
            return repo.create_commit(
                f"refs/heads/{self.integration_branch}", sig, sig,
                "ptyd: empty root commit for integration", empty_tree, [],
            )
        # repo.head also resolves a detached HEAD, which is as good a starting point.
        head = repo.head.peel(pygit2.Commit)
        repo.branches.local.create(self.integration_branch, head)
        return head.id

    # ---- committing -----------------------------------------------------------------------

    def commit_changes(self, agent_id: str, message: str) -> str:
        """Commit everything the agent changed in its sandbox; returns the commit id (hex).

        Like `git add -A && git commit`: new, modified and deleted files, minus those
        .gitignore (or info/exclude) ignores and minus injected context files.
        """
        if not message.strip():
            raise InvalidArgument("empty commit message: say what the agent did")
        record = self._lookup(agent_id)
        with self._locks.agent(agent_id):
            sandbox = self._sandbox(record)
            with open_repo(sandbox) as worktree, git_errors(f"committing for {agent_id!r}"):
                self._check_on_branch(worktree, record, sandbox)
                head = worktree.head.peel(pygit2.Commit)
                index = worktree.index
                index.add_all()  # = `git add -A`, honours ignore rules; releases the GIL
                _keep_out(index, head.tree, injected_paths(self.common_dir, agent_id))
                tree = index.write_tree()
                index.write()
                if tree == head.tree_id:
                    raise NothingToCommit(
                        f"agent {agent_id!r} has nothing to commit: {sandbox} matches "
                        f"{record.branch!r} (ignored files and injected context files are "
                        "never committed); change files there first"
                    )
                sig = self._signature()
                with self._locks.repo:
                    # "HEAD" resolves to the worktree's own HEAD, i.e. the agent's branch;
                    # libgit2 refuses if the branch moved away from `head` meanwhile.
                    commit = worktree.create_commit("HEAD", sig, sig, message, tree, [head.id])
        return str(commit)

    @staticmethod
    def _check_on_branch(
        worktree: pygit2.Repository, record: AgentRecord, sandbox: Path
    ) -> None:
        if worktree.head_is_detached:
            raise DetachedHead(
                f"agent {record.agent_id!r}'s checkout {sandbox} is on a detached HEAD "
                f"({str(worktree.head.target)[:12]}), so a commit would belong to no branch; "
                f"run `git switch {record.branch}` there (commits made meanwhile can be "
                "kept with `git branch <name>` first)"
            )
        on = worktree.references["HEAD"].target
        if on != f"refs/heads/{record.branch}":
            raise WrongBranch(
                f"agent {record.agent_id!r}'s checkout {sandbox} is on {on} instead of "
                f"{record.branch!r}; run `git switch {record.branch}` there"
            )

    # ---- pushing --------------------------------------------------------------------------

    def push_branch(
        self,
        agent_id: str,
        remote: str = "origin",
        *,
        force: bool = False,
        credentials: Credentials | None = None,
    ) -> str:
        """Push the agent's branch to the same name on `remote` and make that its upstream;
        returns the pushed commit id. Non-fast-forward (or any refusal) raises PushRejected.

        Like `git push`: a relative path URL is relative to the main checkout; without
        `credentials`, the user's own are used (ssh-agent, ~/.ssh keys, git credential
        helpers; see _git_remote), and CredentialsFailed says what was missing."""
        with self._locks.agent(agent_id), open_repo(self.common_dir) as repo:
            record = self._record(repo, agent_id)
            branch = record.branch
            ref = f"refs/heads/{branch}"
            try:
                target = repo.remotes[remote]
            except KeyError:
                raise RemoteMissing(
                    f"no remote named {remote!r} in {self.common_dir}; "
                    f"add it with `git remote add {remote} <url>`"
                ) from None
            head = branch_tip(repo, branch)
            named, url = target, target.push_url or target.url or ""
            if resolve_url(repo, url) != url:
                # libgit2 would take the relative path from the daemon's working directory.
                target = repo.remotes.create_anonymous(resolve_url(repo, url))
            callbacks = _PushCallbacks(
                credentials or UserCredentials(repo.workdir or repo.path))
            # No repository lock while the network is busy: a push only writes the
            # remote-tracking ref of this one branch, and each ref has its own .lock file.
            try:
                target.push([f"{'+' if force else ''}{ref}:{ref}"], callbacks=callbacks)
            except pygit2.GitError as exc:
                # The local and file:// transports raise instead of calling back, with one of
                # two messages: the remote tip is known here but not an ancestor, or unknown.
                if not any(text in str(exc) for text in _NON_FAST_FORWARD):
                    raise translate_git_error(exc, f"pushing {branch!r} to {remote!r}") from exc
                callbacks.rejected[ref] = str(exc)
            if callbacks.rejected:
                reason = "; ".join(callbacks.rejected.values())
                raise PushRejected(
                    f"{remote!r} rejected {branch!r}: {reason}; if the remote branch has "
                    "commits this one lacks, fetch and integrate them, or push with "
                    "force=True to overwrite them"
                )
            with self._locks.repo:
                if target is not named:
                    _update_tracking_ref(repo, named, ref, head)
                config = repo.config
                config[f"branch.{branch}.remote"] = remote
                config[f"branch.{branch}.merge"] = ref
        return str(head)

    # ---- merging and diffing --------------------------------------------------------------

    def merge_to_integration(self, agent_id: str) -> MergeResult:
        """Merge the agent's committed work into integration: fast-forward when possible, else
        a merge commit. MergeConflict (with `.paths`) changes nothing. Uncommitted work in the
        sandbox is not merged."""
        with self._locks.repo, open_repo(self.common_dir) as repo:
            record = self._record(repo, agent_id)
            action = f"merging {record.branch!r} into {self.integration_branch!r}"
            with git_errors(action):
                return merge_into(
                    repo, self.common_dir, self.integration_branch, record.branch,
                    self._signature(),
                )

    def get_diff_from_base(self, agent_id: str) -> BranchDiff:
        """The agent's committed work: `git diff <integration>...<branch>`, with file stats."""
        with open_repo(self.common_dir) as repo, git_errors(f"diffing {agent_id!r}'s branch"):
            head = branch_tip(repo, self._record(repo, agent_id).branch)
            base = self._merge_base(repo, head)
            return diff_commits(repo, base, head)

    def _merge_base(self, repo: pygit2.Repository, head: pygit2.Oid) -> pygit2.Oid:
        base = repo.merge_base(head, branch_tip(repo, self.integration_branch))
        if base is None:
            raise GitWorkspaceError(
                f"{self.integration_branch!r} and the agent's branch share no history; "
                "was integration recreated? Merge or rebase by hand"
            )
        return base

    # ---- state ----------------------------------------------------------------------------

    @rereads_torn_config
    def get_branch_info(self, agent_id: str) -> BranchInfo:
        """The agent's branch state (ahead/behind integration, dirty, merged, pushed)."""
        # The agent lock makes this a consistent reading: no commit or cleanup of this agent
        # is halfway through while the sandbox is looked at.
        action = f"reading {agent_id!r}'s branch"
        with self._locks.agent(agent_id), open_repo(self.common_dir) as repo, git_errors(action):
            return self._info(repo, self._record(repo, agent_id))

    @rereads_torn_config
    def list_branches(self) -> list[BranchInfo]:
        """Every agent's branch, sorted by agent id."""
        infos = []
        with open_repo(self.common_dir) as repo, git_errors("listing agent branches"):
            for record in registry.all_records(repo):
                with self._locks.agent(record.agent_id):
                    # Deleted by another thread since the listing? Then it is not listed.
                    if record.branch in repo.branches.local:
                        infos.append(self._info(repo, record))
        return infos

    def _info(self, repo: pygit2.Repository, record: AgentRecord) -> BranchInfo:
        head = branch_tip(repo, record.branch)
        ahead, behind = repo.ahead_behind(head, branch_tip(repo, self.integration_branch))
        sandbox: Path | None
        try:
            sandbox = self.workspace.get_sandbox(record.agent_id)
            dirty = bool(self.workspace.uncommitted_changes(record.agent_id))
        except UnknownAgent:
            sandbox, dirty = None, False
        try:
            upstream = repo.branches.local[record.branch].upstream
            pushed = upstream is not None and upstream.target == head
        except (KeyError, pygit2.GitError):
            pushed = False  # no upstream configured, or its remote-tracking ref is gone
        return BranchInfo(
            name=record.branch,
            agent_id=record.agent_id,
            task_id=record.task_id,
            base_commit=str(self._merge_base(repo, head)),
            head_commit=str(head),
            ahead=ahead,
            behind=behind,
            dirty=dirty,
            merged=ahead == 0 and str(head) != record.created_from,
            pushed=pushed,
            sandbox=sandbox,
            created_from=record.created_from,
        )

    # ---- deleting -------------------------------------------------------------------------

    def delete_agent_branch(self, agent_id: str, *, force: bool = False) -> None:
        """Remove the agent's sandbox and branch, so the agent id can take a new task.

        Refuses commits integration lacks (NotMerged) and uncommitted work in the sandbox
        (UncommittedChanges) unless `force`; nothing is removed when it refuses.
        """
        with self._locks.agent(agent_id):
            with open_repo(self.common_dir) as repo, git_errors(f"deleting {agent_id!r}'s branch"):
                record = self._record(repo, agent_id)
                head = branch_tip(repo, record.branch)
                ahead, _ = repo.ahead_behind(head, branch_tip(repo, self.integration_branch))
            if ahead and not force:
                raise NotMerged(
                    f"{record.branch!r} has {ahead} commit(s) that {self.integration_branch!r} "
                    f"lacks; merge_to_integration({agent_id!r}) first, or pass force=True to "
                    "drop them"
                )
            if self._has_sandbox(agent_id):
                self.workspace.cleanup(agent_id, force=force)
            with self._locks.repo, open_repo(self.common_dir) as repo, git_errors(
                f"deleting {record.branch!r}"
            ):
                repo.branches.local.delete(record.branch)
                registry.unregister(repo, agent_id)

    # ---- helpers --------------------------------------------------------------------------

    def _lookup(self, agent_id: str) -> AgentRecord:
        with open_repo(self.common_dir) as repo:
            return self._record(repo, agent_id)

    def _record(self, repo: pygit2.Repository, agent_id: str) -> AgentRecord:
        record = registry.lookup(repo, check_id("agent id", agent_id))
        if record is None:
            raise UnknownAgent(
                f"agent {agent_id!r} has no branch in {self.common_dir}; "
                f"create_agent_branch({agent_id!r}, task_id) makes one "
                "(list_branches() shows the agents)",
                agent_id,
            )
        return record

    def _has_sandbox(self, agent_id: str) -> bool:
        try:
            self.workspace.get_sandbox(agent_id)
        except UnknownAgent:
            return False
        return True

    def _sandbox(self, record: AgentRecord) -> Path:
        try:
            return self.workspace.get_sandbox(record.agent_id)
        except UnknownAgent:
            raise SandboxMissing(
                f"agent {record.agent_id!r} has branch {record.branch!r} but no checkout under "
                f"{self.workspace.base_dir}; workspace.create_sandbox({record.agent_id!r}) "
                "checks it out again"
            ) from None

    def _signature(self) -> pygit2.Signature:
        return make_signature(self.author_name, self.author_email)


def _keep_out(index: pygit2.Index, head_tree: pygit2.Tree, paths: set[str]) -> None:
    """Reset `paths` in `index` to their state in `head_tree` (absent if absent there).

    The per-worktree exclude already keeps untracked injected files out of `add_all`; this
    also covers a CLAUDE.md the project tracks (no ignore rule applies to tracked files) and
    repositories where the exclude could not be installed.
    """
    for path in paths:
        try:
            entry = head_tree[path]
        except KeyError:
            if path in index:
                index.remove(path)
            continue
        index.add(pygit2.IndexEntry(path, entry.id, entry.filemode))


def _update_tracking_ref(repo: pygit2.Repository, remote: pygit2.Remote, ref: str,
                         head: pygit2.Oid) -> None:
    """Move `remote`'s remote-tracking ref of `ref` to `head`, as a push through the named
    remote does (libgit2 does it only for the remote it pushed through, here an anonymous one
    with the resolved URL)."""
    for n in range(remote.refspec_count):
        spec = remote.get_refspec(n)
        if spec.src_matches(ref):
            repo.references.create(spec.transform(ref), head, force=True)
