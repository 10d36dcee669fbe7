"""info: one session's state. For an agent on its own branch, `dirty` is looked at afresh (a
git status of its checkout, in the git workers); `list` only reports the last value seen."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from ptyd.proto import ops
from ptyd.proto.errors import ProtocolError

from ..logs import log
from ..session import Session
from .gitbranch import branch_of

if TYPE_CHECKING:
    from ..context import Context
    from ..git import service
else:
    from ._gitlazy import service

DIRTY_WAIT_S = 2.0
"""How long `info` waits for the status of an agent's checkout. When the git workers are busy
(pushes to a slow remote, say) it answers with the last value seen, and the status, still
queued, updates it when it runs."""

async def _check(session: Session) -> None:
    try:
        dirty = await service.run(service.dirty, branch_of(session))
    except ProtocolError as e:  # the repository is gone or broken: info still answers
        log.info("session=%s cannot look at its checkout: %s", session.name, e.message)
        dirty = None
    session.dirty, session.dirty_at = dirty, time.time()


async def _with_dirty(d: Context, session: Session) -> dict[str, Any]:
    # One status at a time per session, however many ask (the daemon's `dirty_checks`).
    check = d.dirty_checks.get(session)
    if check is None or check.done():
        check = d.dirty_checks[session] = asyncio.ensure_future(_check(session))
        check.add_done_callback(lambda _: d.dirty_checks.pop(session, None))
    with contextlib.suppress(TimeoutError):  # busy workers: what is known now
        await asyncio.wait_for(asyncio.shield(check), DIRTY_WAIT_S)
    return session.describe()


def handle(d: Context, msg: ops.Info, peer: bytes) -> Any:
    session = d.get(msg.session)
    if session.repo is None:
        return session.describe()
    return _with_dirty(d, session)


SERVES = {"info": (ops.Info, handle)}
