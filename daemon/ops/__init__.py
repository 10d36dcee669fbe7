"""One module per protocol operation, each exporting `handle(context, message, peer)`.

A handler returns the reply's result map, or an awaitable of it for operations that wait
(`wait`); it raises ProtocolError for a request it must refuse. The table below is the whole
dispatch: adding an op never touches the others. A handler sees the daemon through
`daemon.context.Context` (a Protocol), never `server.Daemon`: what it may use is written there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from . import (
    attach,
    detach,
    events,
    gitbranch,
    hello,
    hook,
    info,
    input,
    kill,
    listing,
    pause,
    read,
    redraw,
    remove,
    resize,
    sandbox,
    shutdown,
    signal,
    spawn,
    upgrade,
    wait,
)

if TYPE_CHECKING:
    from ..context import Context

Handler = Callable[["Context", Any, bytes],
                   "dict[str, Any] | Awaitable[dict[str, Any]] | None"]
"""A handler's result is the reply; None: no reply (input with `ack` false, once accepted)."""

OPS: dict[str, Handler] = {
    "hello": hello.handle,
    "spawn": spawn.handle,
    "list": listing.handle,
    "info": info.handle,
    "input": input.handle,
    "resize": resize.handle,
    "signal": signal.handle,
    "kill": kill.handle,
    "read": read.handle,
    "wait": wait.handle,
    "remove": remove.handle,
    "shutdown": shutdown.handle,
    "events": events.handle,
    "attach": attach.handle,
    "detach": detach.handle,
    "redraw": redraw.handle,
    "hook": hook.handle,
    "upgrade": upgrade.handle,
    "git.repo": gitbranch.repo,
    "git.create": gitbranch.create,
    "git.commit": gitbranch.commit,
    "git.push": gitbranch.push,
    "git.merge": gitbranch.merge,
    "git.diff": gitbranch.diff,
    "git.info": gitbranch.info,
    "git.list": gitbranch.listing,
    "git.delete": gitbranch.delete,
    "sandbox.create": sandbox.create,
    "sandbox.get": sandbox.get,
    "sandbox.list": sandbox.listing,
    "sandbox.inject": sandbox.inject,
    "sandbox.cleanup": sandbox.cleanup,
    "sandbox.cleanup_all": sandbox.cleanup_all,
    "pause": pause.pause,
    "resume": pause.resume,
}
