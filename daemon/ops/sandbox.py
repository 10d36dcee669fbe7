"""sandbox.*: an agent's directory under `sandbox_dir`, a git worktree of its branch when a
`repo` is given, a plain directory otherwise; context injection (CLAUDE.md) and cleanup. The
work runs in the git workers (daemon/git/service), never on the loop."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from ptyd.proto import ops

if TYPE_CHECKING:
    from ..context import Context
    from ..git import service
else:
    from ._gitlazy import service

Reply = Awaitable[dict[str, Any]]


def create(d: Context, msg: ops.SandboxCreate, peer: bytes) -> Reply:
    return service.run(service.sandbox_create, msg, d.config.worktrees)


def get(d: Context, msg: ops.SandboxGet, peer: bytes) -> Reply:
    return service.run(service.sandbox_get, msg)


def listing(d: Context, msg: ops.SandboxList, peer: bytes) -> Reply:
    return service.run(service.sandbox_list, msg)


def inject(d: Context, msg: ops.SandboxInject, peer: bytes) -> Reply:
    return service.run(service.sandbox_inject, msg)


def cleanup(d: Context, msg: ops.SandboxCleanup, peer: bytes) -> Reply:
    return service.run(service.sandbox_cleanup, msg)


def cleanup_all(d: Context, msg: ops.SandboxCleanupAll, peer: bytes) -> Reply:
    return service.run(service.sandbox_cleanup_all, msg)


SERVES = {
    "sandbox.create": (ops.SandboxCreate, create),
    "sandbox.get": (ops.SandboxGet, get),
    "sandbox.list": (ops.SandboxList, listing),
    "sandbox.inject": (ops.SandboxInject, inject),
    "sandbox.cleanup": (ops.SandboxCleanup, cleanup),
    "sandbox.cleanup_all": (ops.SandboxCleanupAll, cleanup_all),
}
