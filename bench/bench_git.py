"""Benchmark: N agents, each with a branch + worktree, a commit, and a merge into integration.

The same work is done three times in one run, on three identical copies of a seeded repository:
through ptyd.runtime (the client API: each operation a request to a private daemon, which runs
it in its git workers), with the daemon's pygit2 engine called in process (ptyd.daemon.git: the
same work without the protocol), and with the `git` command line, the way a shell-script
orchestrator would do it:

    create   git worktree add -b agent/<id>-T1 <sandbox>/<id> integration
    commit   git add -A && git commit -m ...                      (in the worktree)
    merge    git rev-parse; git merge-base --is-ancestor; then update-ref (fast-forward) or
             git merge-tree --write-tree + commit-tree + update-ref (no checkout, like ptyd)
    cleanup  git worktree remove

Afterwards all integration branches must hold the same tree (same ids: same content), which
checks that the three sides did the same work. Prints a side-by-side table of per-operation
p50/p99 and total wall time.

    python bench/bench_git.py            # 50 agents
    python bench/bench_git.py --quick    # 5 agents, for CI
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pygit2

from ptyd.client import Client
from ptyd.daemon import git as engine
from ptyd.runtime.branches import BranchManager
from ptyd.runtime.workspace import WorkspaceManager

OPERATIONS = ("create", "commit", "merge", "cleanup")
SIDES = ("daemon", "engine", "git")
AUTHOR_NAME, AUTHOR_EMAIL = "Bench Agent", "bench@ptyd.invalid"
GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": AUTHOR_NAME,
    "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
    "GIT_COMMITTER_NAME": AUTHOR_NAME,
    "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL,
}

Timings = dict[str, list[float]]


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True)
    if proc.returncode not in (0,):
        raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def git_ok(cwd: Path, *args: str) -> bool:
    """Run a git predicate (exit 0 = yes, 1 = no)."""
    proc = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.returncode == 0


def seed_repository(path: Path, files: int) -> None:
    """A repository on `main` with `files` files of ~1 KB in 10 directories."""
    git(path.parent, "init", "-q", "-b", "main", path.name)
    for n in range(files):
        target = path / f"pkg{n % 10}" / f"mod{n}.py"
        target.parent.mkdir(exist_ok=True)
        target.write_text("".join(f"def f{n}_{k}():\n    return {k}\n" for k in range(30)))
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "seed")
    git(path, "branch", "integration")


def agent_ids(count: int) -> list[str]:
    return [f"agent{n:03d}" for n in range(count)]


def change(sandbox: Path, n: int, files: int) -> None:
    """Agent n's work: edit one file of its own and add one new file (never a conflict)."""
    own = sandbox / f"pkg{n % 10}" / f"mod{n % files}.py"
    own.write_text(own.read_text() + f"\n# edited by agent {n}\n")
    (sandbox / "notes").mkdir(exist_ok=True)
    (sandbox / "notes" / f"agent{n:03d}.md").write_text(f"agent {n} was here\n")


def timed(timings: Timings, op: str, fn: Callable[[], object]) -> None:
    start = time.perf_counter()
    fn()
    timings.setdefault(op, []).append(time.perf_counter() - start)


def client_branches(repo: Path, sandboxes: Path, client: Client) -> BranchManager:
    """The client API, every operation a request to the daemon."""
    workspace = WorkspaceManager(sandboxes, repo=repo, client=client)
    return BranchManager(repo, workspace=workspace, author_name=AUTHOR_NAME,
                         author_email=AUTHOR_EMAIL)


def engine_branches(repo: Path, sandboxes: Path) -> engine.BranchManager:
    """The daemon's engine, called in this process."""
    workspace = engine.WorkspaceManager(sandboxes, repo=repo)
    return engine.BranchManager(repo, workspace=workspace, author_name=AUTHOR_NAME,
                                author_email=AUTHOR_EMAIL)


def run_ptyd(branches: Any, sandboxes: Path, agents: list[str], files: int) -> Timings:
    """The work through `branches`: either kind of BranchManager (same methods)."""
    timings: Timings = {}
    for agent in agents:
        timed(timings, "create", lambda a=agent: branches.create_agent_branch(a, "T1"))
    for n, agent in enumerate(agents):
        change(sandboxes / agent, n, files)
        timed(timings, "commit", lambda a=agent: branches.commit_changes(a, f"{a}: work"))
    for agent in agents:
        timed(timings, "merge", lambda a=agent: branches.merge_to_integration(a))
    for agent in agents:
        timed(timings, "cleanup", lambda a=agent: branches.workspace.cleanup(a))
    return timings


def cli_merge(repo: Path, branch: str) -> None:
    ours, theirs = git(repo, "rev-parse", "integration", branch).split()
    if git_ok(repo, "merge-base", "--is-ancestor", ours, theirs):
        new = theirs
    else:
        tree = git(repo, "merge-tree", "--write-tree", ours, theirs)  # exit 1 on conflict
        message = f"Merge branch '{branch}' into integration"
        new = git(repo, "commit-tree", tree, "-p", ours, "-p", theirs, "-m", message)
    git(repo, "update-ref", "refs/heads/integration", new, ours)


def run_cli(repo: Path, sandboxes: Path, agents: list[str], files: int) -> Timings:
    timings: Timings = {}
    sandboxes.mkdir()
    for agent in agents:
        branch, path = f"agent/{agent}-T1", str(sandboxes / agent)
        timed(
            timings,
            "create",
            lambda b=branch, p=path: git(repo, "worktree", "add", "-q", "-b", b, p, "integration"),
        )
    for n, agent in enumerate(agents):
        change(sandboxes / agent, n, files)
        wt = sandboxes / agent
        timed(
            timings,
            "commit",
            lambda w=wt, a=agent: (git(w, "add", "-A"), git(w, "commit", "-q", "-m", f"{a}: work")),
        )
    for agent in agents:
        timed(timings, "merge", lambda a=agent: cli_merge(repo, f"agent/{a}-T1"))
    for agent in agents:
        path = str(sandboxes / agent)
        timed(timings, "cleanup", lambda p=path: git(repo, "worktree", "remove", p))
    return timings


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p99 of 50 samples is the maximum)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def report(agents: int, files: int, timings: dict[str, Timings], walls: dict[str, float]) -> str:
    """Per operation and side: p50, p99 and sum; the last column is git's sum over the
    daemon's (how many times faster the client API is than the git command line)."""
    ms = 1000.0
    head = f"{'operation':<10}"
    for side in SIDES:
        head += f" {side + ' p50':>11} {side + ' p99':>11} {side + ' sum':>10}"
    lines = [
        f"{agents} agents, {files}-file repository; pygit2 {pygit2.__version__} "
        f"(libgit2 {pygit2.LIBGIT2_VERSION}), {git(Path.cwd(), 'version')}",
        "daemon: ptyd.runtime through a daemon; engine: ptyd.daemon.git in process; "
        "git: the git command line",
        "",
        head + f" {'git/daemon':>10}",
    ]
    for op in OPERATIONS:
        row = f"{op:<10}"
        for side in SIDES:
            values = timings[side][op]
            row += (f" {percentile(values, .5) * ms:>9.1f}ms {percentile(values, .99) * ms:>9.1f}ms"
                    f" {sum(values):>9.2f}s")
        lines.append(row + f" {sum(timings['git'][op]) / sum(timings['daemon'][op]):>9.1f}x")
    row = f"{'total':<10}"
    for side in SIDES:
        row += f" {'':>11} {'':>11} {walls[side]:>9.2f}s"
    lines.append(row + f" {walls['git'] / walls['daemon']:>9.1f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--agents", type=int, default=50, help="number of agents (default 50)")
    parser.add_argument("--files", type=int, default=200, help="files in the seed repository")
    parser.add_argument("--quick", action="store_true", help="5 agents, 50 files (CI smoke run)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    agents_n, files = (5, 50) if args.quick else (args.agents, args.files)
    agents = agent_ids(agents_n)

    # Short: the daemon's ipc socket path must fit in sun_path.
    tmp = Path(tempfile.mkdtemp(prefix="ptyd-bench-git-", dir="/tmp"))
    client = None
    try:
        seed = tmp / "seed"
        seed_repository(seed, files)
        repos = {side: tmp / side for side in SIDES}
        for repo in repos.values():
            shutil.copytree(seed, repo, symlinks=True)
        # A private daemon, started by the client like any program's first request would.
        client = Client(tmp / "run", autostart=True, client_name="bench-git")
        runs: dict[str, Callable[[], Timings]] = {
            "daemon": lambda: run_ptyd(
                client_branches(repos["daemon"], tmp / "sandbox-daemon", client),
                tmp / "sandbox-daemon", agents, files),
            "engine": lambda: run_ptyd(
                engine_branches(repos["engine"], tmp / "sandbox-engine"),
                tmp / "sandbox-engine", agents, files),
            "git": lambda: run_cli(repos["git"], tmp / "sandbox-git", agents, files),
        }
        timings: dict[str, Timings] = {}
        walls: dict[str, float] = {}
        for side in SIDES:
            start = time.perf_counter()
            timings[side] = runs[side]()
            walls[side] = time.perf_counter() - start

        trees = {git(r, "rev-parse", "integration^{tree}") for r in repos.values()}
        if len(trees) != 1:
            print(f"MISMATCH: integration trees differ: {sorted(trees)}", file=sys.stderr)
            return 1
        merged = git(repos["daemon"], "rev-list", "--count", "main..integration")
        print(report(agents_n, files, timings, walls))
        print(f"\nintegration trees identical ({trees.pop()[:12]}); {merged} commits on "
              "integration")
    finally:
        if client is not None:
            client.shutdown(grace=1)
            client.close()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
