"""One module per protocol operation (or per family: `gitbranch`, `sandbox`, `pause`).

Each module declares what it serves, `SERVES = {"op": (RequestClass, handler)}`; this package
finds the modules (pkgutil: every module not starting with `_`) and builds the dispatch from
them, so adding an op never touches this file or another handler. The op's spec entry
(proto/specs.py) declares its parameters; the generic decoder (proto/decoding.py) reads them and
`decode` below builds the module's request class from them, a frozen dataclass whose fields are
the spec's parameter names (tests/proto/test_specs.py checks names and types, and that every
spec has exactly one handler and every handler a spec).

A handler `handler(context, request, peer)` returns the reply's result map, or an awaitable of
it for operations that wait (`wait`); it raises ProtocolError for a request it must refuse. It
sees the daemon through `daemon.context.Context` (a Protocol), never `server.Daemon`: what it
may use is written there.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ptyd.proto import decoding

if TYPE_CHECKING:
    from ..context import Context

Handler = Callable[["Context", Any, bytes],
                   "dict[str, Any] | Awaitable[dict[str, Any]] | None"]
"""A handler's result is the reply; None: no reply (input with `ack` false, once accepted)."""


def _served() -> dict[str, tuple[str, type[Any], Handler]]:
    """op → (module, request class, handler), from every handler module's `SERVES`."""
    found: dict[str, tuple[str, type[Any], Handler]] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        serves = getattr(module, "SERVES", None)
        if not isinstance(serves, dict):
            raise ImportError(f"{module.__name__} declares no SERVES (op -> (request, handler))")
        for op, (request, handler) in serves.items():
            if op in found:
                raise ImportError(f"op {op!r} is served by {found[op][0]} and {module.__name__}")
            found[op] = (module.__name__, request, handler)
    return found


SERVED = _served()
OPS: dict[str, Handler] = {op: handler for op, (_, _, handler) in SERVED.items()}
REQUESTS: dict[str, type[Any]] = {op: request for op, (_, request, _) in SERVED.items()}


def decode(op: str, params: dict[str, Any]) -> Any:
    """The typed request of `op` from its wire params (ProtocolError if they are bad)."""
    values = decoding.decode(op, params)
    return REQUESTS[op](**values)
