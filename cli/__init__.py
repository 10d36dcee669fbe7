"""ptyd: a pseudo-terminal multiplexer daemon for AI coding agents.

The import package `ptyd` holds the `ptyd` command (this folder) and the subpackages
`ptyd.proto` (the wire protocol), `ptyd.daemon`, `ptyd.client`, `ptyd.attach` and
`ptyd.runtime`.
"""

from .proto.release import VERSION as __version__

__all__ = ["__version__"]
