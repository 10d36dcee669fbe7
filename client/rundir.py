"""The runtime directory a client shares with its daemon: where it is, whether a daemon holds
it, made private, files opened safely."""

from ._daemon_dir import (
    check_runtime_dir,
    daemon_running,
    make_runtime_dir,
    open_private,
    resolve_dir,
)

__all__ = ["check_runtime_dir", "daemon_running", "make_runtime_dir", "open_private",
           "resolve_dir"]
