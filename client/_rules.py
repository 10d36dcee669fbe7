"""The connection rules every client of the library keeps (AsyncClient, the Wire under Client
and attach, the `ptyd` command's LeanClient): plain values, importable without pyzmq."""

DEFAULT_TIMEOUT_S = 10.0
RECONNECT_GRACE_S = 30.0
"""How long a client waits for a daemon that still holds its lock (re-executing) to return."""
RESENDABLE_OPS = frozenset({"hello", "list", "info", "read", "wait", "events"})
"""Requests that change nothing, and so may be sent again after a reconnect."""
AUTOSTART_TIMEOUT_S = 15.0
