"""What a spawn carries of its caller (working directory, environment): public for the command
and other clients built on this library."""

from ._caller import spawn_context

__all__ = ["spawn_context"]
