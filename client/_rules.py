"""The connection rules every client of the library keeps (AsyncClient, the Wire under Client
and attach, the `ptyd` command's LeanClient): plain values, importable without pyzmq."""

DEFAULT_TIMEOUT_S = 10.0
RECONNECT_GRACE_S = 30.0
"""How long a client waits for a daemon that still holds its lock (re-executing) to return."""
RESENDABLE_OPS = frozenset({"hello", "list", "info", "read", "wait", "events"})
"""Requests that change nothing, and so may be sent again after a reconnect."""
AUTOSTART_TIMEOUT_S = 15.0
REPLY_BUDGET_LIMITS = frozenset({"max_queued_reply_bytes", "max_peer_queued_reply_bytes"})
"""A `read` refused for these is backpressure (replies the daemon still holds, ours among them
until libzmq reports them sent), not an error: the clients retry it."""
BUDGET_RETRY_FIRST_S = 0.005
BUDGET_RETRY_MAX_S = 0.2
BUDGET_RETRY_FOR_S = 5.0
"""How long a read refused by the reply budget is retried (backing off from FIRST to MAX)."""


def budget_refusal(error: Exception) -> bool:
    """Whether `error` is the daemon's reply budget asking us to come back in a moment."""
    data = getattr(error, "data", None)
    return getattr(error, "code", None) == "limit_exceeded" and isinstance(data, dict) \
        and data.get("limit") in REPLY_BUDGET_LIMITS
