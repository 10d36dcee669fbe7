"""ptyd: a pseudo-terminal multiplexer daemon for AI coding agents.

The import package `ptyd` holds the `ptyd` command (this folder) and the subpackages
`ptyd.proto` (the wire protocol), `ptyd.daemon`, `ptyd.client`, `ptyd.attach` and
`ptyd.runtime`.
"""

__version__ = "0.1.0"
