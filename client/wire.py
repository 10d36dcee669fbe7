"""The blocking connection to a daemon (no event loop, no thread), for clients that poll it
among their own file descriptors, as `ptyd attach` does; and what its live stream carries,
with a connection to the local daemon that needs no I/O thread (ZmtpStream)."""

from ._exceptions import remote_error
from ._items import LIVENESS_PROBE_S, Lost
from ._wire import Wire, readable
from ._zmtp import ZmtpError, ZmtpStream

__all__ = ["LIVENESS_PROBE_S", "Lost", "Wire", "ZmtpError", "ZmtpStream", "readable",
           "remote_error"]
