"""What the overview's keys ask of a daemon: each a few requests through the client library,
returning the line the footer shows. Failures raise PtydError; the overview shows them."""

from __future__ import annotations

import os
import re
import shlex
from typing import Any

from ptyd.client import AsyncClient, PtydError
from ptyd.client.caller import spawn_context

from .daemons import DaemonView

GIT_TIMEOUT_S = 600.0
"""Git work (a checkout of a large repository, a push) may take longer than a quick request."""
_CHOICE_RE = re.compile(r"(\d)\.\s+(Yes|No)\b")


def client_of(view: DaemonView) -> AsyncClient:
    if view.client is None or not view.up:
        raise PtydError(f"daemon {view.target.name} is not connected")
    return view.client


async def answer(view: DaemonView, name: str, screen: list[str], key: str) -> str:
    """Answer the dialog on the agent's screen: Enter takes the highlighted choice; y and n
    type the number of its Yes / No choice (Claude numbers them; Esc when there is no No).
    `force`: an agent at a dialog refuses text that is not forced."""
    data = "\r"
    if key in ("y", "n"):
        want = "Yes" if key == "y" else "No"
        choices = {m.group(2): m.group(1) for line in screen for m in _CHOICE_RE.finditer(line)}
        data = choices.get(want) or ("1" if key == "y" else "\x1b")
    await client_of(view).input(name, data, force=True)
    return f"answered {name}'s dialog: {key}"


async def send(view: DaemonView, name: str, text: str) -> str:
    """Text, then Enter as its own write (Claude Code reads them together as a paste)."""
    session = await client_of(view).session(name)
    try:
        await session.send_line(text)
    finally:
        await session.aclose()
    return f"sent to {name}"


async def kill(view: DaemonView, name: str) -> str:
    await client_of(view).kill(name)
    return f"killed {name}"


async def remove(view: DaemonView, name: str) -> str:
    await client_of(view).remove(name, force=True)
    return f"removed {name}"


async def commit(view: DaemonView, name: str, message: str) -> str:
    if not message.strip():
        return "no message: nothing committed"
    result = await client_of(view).request(
        "git.commit", {"session": name, "message": message}, timeout=GIT_TIMEOUT_S)
    view.refresh_git(name)
    return f"committed {name}: {str(result['commit'])[:10]}"


async def git(view: DaemonView, name: str, op: str, done: str) -> str:
    """`git.merge` or `git.push` of the session's branch."""
    result = await client_of(view).request(op, {"session": name}, timeout=GIT_TIMEOUT_S)
    view.refresh_git(name)
    return f"{done} {name}: {result.get('outcome') or str(result.get('commit', ''))[:10]}"


async def pause(view: DaemonView, name: str) -> str:
    result = await client_of(view).pause(name)
    return f"paused {name}: {str(result.get('commit') or '')[:10] or 'nothing to commit'} " \
           "(R resumes)"


async def resume(view: DaemonView, name: str) -> str:
    await client_of(view).resume(name)
    return f"resumed {name}"


async def diff(view: DaemonView, name: str) -> list[str]:
    """The branch's patch, as `git diff integration...agent/…` prints it."""
    result = await client_of(view).request("git.diff", {"session": name},
                                           timeout=GIT_TIMEOUT_S)
    patch = bytes(result.get("patch") or b"").decode("utf-8", "replace")
    return patch.splitlines() or ["(no committed changes on the branch)"]


async def new_agent(view: DaemonView, name: str, command: str, repo: str, task: str) -> str:
    """Spawn as `ptyd new` would: our directory and environment on a local daemon (the
    daemon's own on a remote one); with a repository, on the agent's own branch."""
    argv = shlex.split(command) or [os.environ.get("SHELL") or "/bin/sh"]
    client = client_of(view)
    local = client.endpoints.control.startswith("ipc://")
    params: dict[str, Any] = {"argv": argv, "name": name or None,
                              **spawn_context(local, None, None, None)}
    if os.path.basename(argv[0]) == "claude":
        params["agent"] = "claude"  # exact state from its hooks
    if repo:
        params.update(repo=repo, task=task or "task", cwd=None)  # it runs in its checkout
    info = await client.request("spawn", params, timeout=GIT_TIMEOUT_S if repo else None)
    return str(info["name"])
