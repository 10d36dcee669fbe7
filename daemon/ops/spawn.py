"""spawn: start a program under a new PTY as a named session.

With `repo` (and `task`), the session is an agent working on its own branch: the daemon first
creates (or reuses) the branch `agent/<name>-<task>` and its checkout, in the git workers, then
starts the program there. Meanwhile the name is reserved, so no other spawn can take it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from typing import TYPE_CHECKING, Any

from ptyd.proto import decoding, limits, ops
from ptyd.proto.errors import ErrorCode, ProtocolError

from .. import agentkinds, worktreesetup
from ..logs import log
from ..notify import NotifyRule, parse_rules
from ..recording import plan as recording_plan
from ..scrollback import Scrollback
from ..session import Session
from ..spawner import SpawnError, child_env, spawn

if TYPE_CHECKING:
    from ..context import Context
    from ..git import service
else:
    from ._gitlazy import service


def handle(d: Context, msg: ops.Spawn, peer: bytes) -> Any:
    if msg.repo is not None:
        return start_on_branch(d, msg)
    return start(d, msg, None, None)


def spawn_session(d: Context, params: dict[str, Any], resumed_from: float) -> dict[str, Any]:
    """Start a session from wire params: a persistent session relaunched at daemon start."""
    msg = ops.Spawn(**decoding.decode("spawn", params))
    checkout = None
    if msg.repo is not None:
        # At daemon start, before any client is served: the agent's checkout is there
        # already (check_out reuses it), so this is quick enough to do on the loop.
        checkout = service.check_out(_agent_branch(d, msg, params["name"]), msg.task or "")
    return start(d, msg, params, resumed_from, checkout)


def _agent_branch(d: Context, msg: ops.Spawn, name: str) -> service.AgentBranch:
    assert msg.repo is not None
    return service.AgentBranch(msg.repo, name, msg.integration or ops.DEFAULT_INTEGRATION,
                               msg.sandbox_dir, d.config.worktrees)


def _free_name(d: Context) -> str:
    """The lowest free number, skipping names reserved by spawns still making a checkout."""
    n = int(d.next_name())
    while str(n) in d.sessions or str(n) in d.preparing:
        n += 1
    return str(n)


async def start_on_branch(d: Context, msg: ops.Spawn) -> dict[str, Any]:
    name = msg.name or _free_name(d)
    admit(d, msg, name)  # refuse now what would be refused after the git work
    d.preparing.add(name)
    where = _agent_branch(d, msg, name)
    try:
        checkout = await service.run(service.check_out, where, msg.task or "")
    finally:
        d.preparing.discard(name)
    try:
        if d.stopping:
            raise ProtocolError(ErrorCode.SHUTTING_DOWN, "the daemon is shutting down")
        return start(d, msg, None, None, checkout, name)
    except BaseException:
        if checkout.created:  # leave no branch behind for a session that never ran
            with contextlib.suppress(ProtocolError):
                await service.run(service.discard, where)
        raise


def admit(d: Context, msg: ops.Spawn, name: str) -> None:
    """Refuse a spawn that cannot be served: the name taken, a limit reached."""
    preparing = d.preparing
    if name in d.sessions or name in preparing:
        raise ProtocolError(ErrorCode.SESSION_EXISTS, f"a session named {name!r} already exists",
                            {"session": name})
    if len(d.sessions) + len(preparing) >= d.config.max_sessions:
        raise ProtocolError(ErrorCode.LIMIT_EXCEEDED,
                            f"the daemon holds {len(d.sessions)} sessions, its limit "
                            "(remove exited ones with ptyd rm)",
                            {"limit": "max_sessions", "max": d.config.max_sessions})
    spawn_notify_rules(msg)
    ring_bytes = msg.scrollback_bytes or d.config.scrollback_bytes
    cap = d.config.max_total_scrollback_bytes
    wanted = ring_bytes * (2 if msg.stderr == "pipe" else 1)
    if cap is not None and d.scrollback_committed() + wanted > cap:
        raise ProtocolError(ErrorCode.LIMIT_EXCEEDED,
                            f"scrollback for this session ({wanted} bytes) would exceed the "
                            f"daemon's total of {cap} bytes (remove exited sessions with ptyd "
                            "rm, or ask for less with --scrollback)",
                            {"limit": "max_total_scrollback", "max": cap})


def spawn_notify_rules(msg: ops.Spawn) -> tuple[NotifyRule, ...]:
    """The spawn's own `notify` rules (daemon/notify.py), or a bad_request naming the bad one."""
    try:
        return parse_rules(list(msg.notify or ()))
    except ValueError as e:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"spawn: notify{e}",
                            {"param": "notify"}) from None


def start(d: Context, msg: ops.Spawn, params: dict[str, Any] | None,
          resumed_from: float | None, checkout: service.Checkout | None = None,
          name: str | None = None) -> dict[str, Any]:
    """Start the program; with a `checkout` (spawn with `repo`), in the agent's checkout."""
    name = name or msg.name or _free_name(d)
    admit(d, msg, name)
    ring_bytes = msg.scrollback_bytes or d.config.scrollback_bytes
    cols = msg.cols or limits.DEFAULT_COLS
    rows = msg.rows or limits.DEFAULT_ROWS
    if msg.cwd is not None and not os.path.isabs(msg.cwd):
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"spawn: cwd must be an absolute path, not "
                            f"{msg.cwd!r} (the daemon's own directory means nothing to you)",
                            {"param": "cwd"})
    cwd = str(checkout.sandbox) if checkout else msg.cwd or os.getcwd()
    epoch = secrets.randbits(63)
    env = child_env(d.config.session_env(msg.env, msg.extra_env), name,
                    str(d.config.runtime_dir), epoch)
    argv = list(msg.argv)
    kind = agentkinds.kind(msg.agent)
    if kind is not None:  # what this agent CLI needs before it starts (settings, trust)
        argv = kind.prepare(agentkinds.Launch(
            d.config.runtime_dir, name, argv, env, cwd, msg.agent_settings, msg.trust,
            msg.repo if checkout is not None else None))
    try:
        recording = recording_plan(msg.record, msg.record_input, d.config.recording)
    except OSError as e:
        raise ProtocolError(ErrorCode.SPAWN_FAILED, f"cannot record the session: {e}") from None
    registered = d.resume_registry.entries.get(name)
    created = time.time()
    if msg.persistent:
        _register(d, name, params or ops.spawn_params(msg, name), created, resumed_from)
    cgroup = d.containment.new_cgroup(epoch)
    setup = checkout.setup if checkout is not None else None
    status = worktreesetup.status_file(d.config.runtime_dir, epoch) if setup else None
    try:
        child = spawn(worktreesetup.wrap(argv, setup, status) if setup and status else argv,
                      cwd, env, cols, rows, stderr_pipe=msg.stderr == "pipe", cgroup=cgroup)
    except SpawnError as e:
        if not d.containment.release(cgroup):
            # The failed child may still be in it for a moment (it is exiting).
            d.loop.call_later(1.0, d.containment.release, cgroup)
        log.info("session=%s spawn failed: %s", name, e)
        if msg.persistent:
            d.resume_registry.withdraw(name, registered)
        raise ProtocolError(ErrorCode.SPAWN_FAILED, str(e), {"argv": list(msg.argv)}) from None
    session = Session(name=name, argv=argv, cwd=cwd, pid=child.pid, epoch=epoch,
                      master_fd=child.master_fd, cols=cols, rows=rows, env=env, created=created,
                      scrollback=Scrollback(ring_bytes), size_policy=msg.size_policy,
                      agent=msg.agent, stderr_mode=msg.stderr, stderr_fd=child.stderr_fd,
                      stderr_ring=Scrollback(ring_bytes) if msg.stderr == "pipe" else None)
    if msg.idle_after is not None:
        session.idle_after = msg.idle_after
    session.cgroup = d.containment.confirm(cgroup, child.pid)
    session.keep_processes = msg.keep_processes
    session.notify = spawn_notify_rules(msg)
    session.setup_status = str(status) if status else None
    if checkout is not None:
        session.repo, session.branch = msg.repo, checkout.branch
        session.integration = msg.integration or ops.DEFAULT_INTEGRATION
        session.sandbox_dir = str(checkout.sandbox.parent)
    session.spawn_params = dict(params or ops.spawn_params(msg, name))
    d.recordings.start(session, recording)
    d.add_session(session)
    if msg.timeout is not None:
        d.schedule_timeout(session, msg.timeout)
    log.info("session=%s spawned pid=%d argv=%s cwd=%s size=%dx%d branch=%s", name, child.pid,
             list(msg.argv), cwd, cols, rows, session.branch)
    d.emit("session.spawned", session=name, pid=child.pid, argv=argv, cols=cols,
           rows=rows, epoch=session.epoch, agent=msg.agent, branch=session.branch)
    session.resumed_from = resumed_from
    return session.describe()


def _register(d: Context, name: str, request: dict[str, Any], created: float,
              resumed_from: float | None) -> None:
    """Write a persistent session to the registry before it starts: one that could not be
    relaunched after a reboot must not start as if it could."""
    try:
        d.resume_registry.remember(name, request, created, resumed_from)
    except OSError as e:  # a full disk, a planted link
        log.error("session=%s cannot be made persistent, %s not written: %s", name,
                  d.resume_registry.path, e)
        raise ProtocolError(ErrorCode.SPAWN_FAILED,
                            f"cannot make the session persistent: writing "
                            f"{d.resume_registry.path} failed: {e}") from None


SERVES = {"spawn": (ops.Spawn, handle)}
