"""The blocking connection to a daemon (no event loop, no thread), for clients that poll it
among their own file descriptors, as `ptyd attach` does; and what its live stream carries."""

from ._items import LIVENESS_PROBE_S, Lost
from ._wire import Wire, readable

__all__ = ["LIVENESS_PROBE_S", "Lost", "Wire", "readable"]
