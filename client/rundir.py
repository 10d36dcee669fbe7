"""The runtime directory a client shares with its daemon: made private, files opened safely."""

from ._daemon_dir import make_runtime_dir, open_private

__all__ = ["make_runtime_dir", "open_private"]
