"""wait: answer when the session exits, or when the timeout passes, without blocking others.

With `since_seq` (an input reply's `seq`) or `after_turn` (its `turn`) only a state entered
after that input counts: "wait until the turn I just started is over" never returns on the idle
from before it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ptyd.proto import ops

if TYPE_CHECKING:
    from ..context import Context


async def _wait(d: Context, msg: ops.Wait) -> dict[str, Any]:
    session = d.get(msg.session)
    reached = await d.wait_finished(session, msg.timeout, msg.until, msg.after_turn,
                                    msg.since_seq)
    return {**session.describe(), "exited": session.finished, "reached": reached}


def handle(d: Context, msg: ops.Wait, peer: bytes) -> Any:
    d.get(msg.session)  # refuse an unknown session now, not from inside a task
    return _wait(d, msg)


SERVES = {"wait": (ops.Wait, handle)}
