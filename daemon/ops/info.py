"""info: one session's state. For an agent on its own branch, `dirty` is looked at afresh (a
git status of its checkout, in the git workers); `list` only reports the last value seen."""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from typing import TYPE_CHECKING, Any

from ptyd.proto import ops
from ptyd.proto.errors import ProtocolError

from ..logs import log
from ..session import Session
from .gitbranch import branch_of

if TYPE_CHECKING:
    from ..git import service
    from ..server import Daemon
else:
    from ._gitlazy import service

DIRTY_WAIT_S = 2.0
"""How long `info` waits for the status of an agent's checkout. When the git workers are busy
(pushes to a slow remote, say) it answers with the last value seen, and the status, still
queued, updates it when it runs."""

_CHECKS: weakref.WeakKeyDictionary[Session, asyncio.Future[None]] = weakref.WeakKeyDictionary()
"""The status under way for a session, if any: one at a time, however many ask."""


async def _check(session: Session) -> None:
    try:
        dirty = await service.run(service.dirty, branch_of(session))
    except ProtocolError as e:  # the repository is gone or broken: info still answers
        log.info("session=%s cannot look at its checkout: %s", session.name, e.message)
        dirty = None
    session.dirty, session.dirty_at = dirty, time.time()


async def _with_dirty(session: Session) -> dict[str, Any]:
    check = _CHECKS.get(session)
    if check is None or check.done():
        check = _CHECKS[session] = asyncio.ensure_future(_check(session))
    with contextlib.suppress(TimeoutError):  # busy workers: what is known now
        await asyncio.wait_for(asyncio.shield(check), DIRTY_WAIT_S)
    return session.describe()


def handle(d: Daemon, msg: ops.Info, peer: bytes) -> Any:
    session = d.get(msg.session)
    if session.repo is None:
        return session.describe()
    return _with_dirty(session)
