"""Runtime: where agents work. One git branch and one checkout per agent, and their processes.

- `ptyd.runtime.branches`: BranchManager (create / commit / push / merge / diff an agent's
  branch `agent/{agent_id}-{task_id}`), BranchInfo, BranchDiff, MergeResult.
- `ptyd.runtime.workspace`: WorkspaceManager (the agent's sandbox directory: a git worktree of
  its branch, or a plain directory without a repository; CLAUDE.md injection; cleanup).
- `ptyd.runtime.process`: TerminalManager, AgentProcess (agents as ptyd sessions).

All of them are clients of the ptyd daemon, which does the work (the git engine, on pygit2, is
the daemon's: daemon/git); the git classes raise the exception tree of `GitWorkspaceError`
(drawn in `ptyd.proto.gitworkspace`), re-exported by both modules.
"""
