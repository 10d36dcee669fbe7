"""The daemon's git engine: a branch and a checkout per agent, on pygit2 (never the `git` command).

- `branches.BranchManager`: create / commit / push / merge / diff / delete an agent's branch
  `agent/{agent_id}-{task_id}`.
- `workspace.WorkspaceManager`: the agent's sandbox directory (a git worktree of its branch, or
  a plain directory without a repository), CLAUDE.md injection, cleanup.
- `service`: the engine as the `git.*` and `sandbox.*` ops (and `spawn` with `repo`) use it:
  in a small pool of worker threads, off the event loop, with errors sent as `git_error`.

Results and exceptions are the shared types of `ptyd.proto.gitworkspace`; clients reach all of
this through the protocol (`ptyd.runtime.branches` and `ptyd.runtime.workspace` are such clients).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .branches import BranchManager
    from .workspace import WorkspaceManager

__all__ = ["BranchManager", "WorkspaceManager"]


def __getattr__(name: str) -> Any:
    """Import pygit2 only when the engine is first used (it is slow to import)."""
    if name == "BranchManager":
        from .branches import BranchManager
        return BranchManager
    if name == "WorkspaceManager":
        from .workspace import WorkspaceManager
        return WorkspaceManager
    raise AttributeError(name)
