"""pause / resume: put an agent's workspace away and bring it back.

`pause` ends the agent, commits what it left in its checkout to its branch (a WIP commit),
and removes the checkout; the branch stays. `resume` checks the branch out again and starts the
same command there (a Claude agent whose session id is known with `--resume=ID`, so its
conversation continues). The git work runs in the git workers, never on the loop.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Any

from ptyd.proto import decoding, ops
from ptyd.proto.errors import ErrorCode, ProtocolError

from .. import pausing
from ..agentkinds import resume_argv
from ..logs import log
from . import spawn
from .gitbranch import branch_of, note_clean

if TYPE_CHECKING:
    from ..context import Context
    from ..git import service
else:
    from ._gitlazy import service

STOP_WAIT_S = 5.0


async def pause(d: Context, msg: ops.Pause, peer: bytes) -> dict[str, Any]:
    session = d.get(msg.session)
    if session.repo is None or session.sandbox_dir is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"session {session.name!r} works on no "
                            "branch: only an agent spawned with 'repo' can be paused",
                            {"session": session.name, "param": "session"})
    if session.paused:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"session {session.name!r} is paused "
                            "already (resume it)", {"session": session.name, "param": "session"})
    if session.running:
        # First the program ends (SIGHUP, SIGTERM, then SIGKILL after the grace, as `kill`),
        # so nothing it writes afterwards can miss the commit.
        grace = d.config.kill_grace_s
        d.terminate(session, signal.SIGTERM, grace, hangup_first=True, reason="paused")
        if not await d.wait_finished(session, grace + STOP_WAIT_S):
            raise ProtocolError(ErrorCode.INTERNAL,
                                f"session {session.name!r} did not die after SIGKILL")
    where = branch_of(session)
    commit = None
    try:
        done = await service.run(service.commit, where,
                                 pausing.wip_message(session.name, msg.message), None)
        commit = done["commit"]
        note_clean(d, where)
    except ProtocolError as e:
        if not (isinstance(e.data, dict) and e.data.get("kind") == "nothing_to_commit"):
            raise
    # Without force: anything the commit did not take (there should be nothing) is refused
    # as uncommitted_changes rather than lost.
    await service.run(service.sandbox_cleanup, ops.SandboxCleanup(
        sandbox_dir=session.sandbox_dir, repo=session.repo, agent=session.name))
    session.paused = True
    log.info("session=%s paused branch=%s commit=%s", session.name, session.branch, commit)
    # Its exit was published before the commit: a monitor learns here that the pause is done.
    d.emit("session.paused", session=session.name, epoch=session.epoch, branch=session.branch,
           commit=commit)
    return {"session": session.name, "branch": session.branch, "commit": commit,
            "paused": True}


async def resume(d: Context, msg: ops.Resume, peer: bytes) -> dict[str, Any]:
    session = d.get(msg.session)
    if not session.paused:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"session {session.name!r} is not paused "
                            "(pause it first)", {"session": session.name, "param": "session"})
    if session.spawn_params is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"the command of session {session.name!r} "
                            "is not known; spawn it again with its repo and task (the branch "
                            "is kept)", {"session": session.name, "param": "session"})
    params = dict(session.spawn_params)  # (argv replaced below: the session's stays)
    params["argv"] = resume_argv({"request": params,
                                  "agent_session_id": session.agent_session_id})
    request = ops.Spawn(**decoding.decode("spawn", params))
    # The paused session gives its name to the new one: one row per agent.
    if d.sessions.get(session.name) is session:
        d.remove_session(session)
        d.emit("session.removed", session=session.name, epoch=session.epoch)
    return await spawn.start_on_branch(d, request)


SERVES = {
    "pause": (ops.Pause, pause),
    "resume": (ops.Resume, resume),
}
