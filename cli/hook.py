"""`python -m ptyd.hook`: what an agent's hook runs (Claude Code fires one per tool call), so it
must be cheap. It reads the hook's JSON on stdin and sends one `hook` request to the daemon named
by PTYD_DIR for the session PTYD_SESSION, with a bare ZeroMQ socket: no asyncio, no client
library. It never fails loudly: a hook that errors would disturb the agent. Like every client it
sends nothing through a runtime directory or socket that is not the caller's alone
(ptyd.proto.trust): the hook's payload tells what the agent is doing."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import zmq

from ptyd.proto import decode_reply, encode_request
from ptyd.proto.paths import CONTROL_SOCKET, Endpoints, runtime_dir
from ptyd.proto.trust import runtime_dir_problem, socket_problem

REPLY_TIMEOUT_MS = 5000


def report(event: str | None = None, directory: str | None = None) -> int:
    session = os.environ.get("PTYD_SESSION")
    try:
        payload = json.load(sys.stdin)
    except (ValueError, OSError):
        payload = {}
    if not session or not isinstance(payload, dict):
        return 0
    name = str(payload.get("hook_event_name") or event or "unknown")
    where = runtime_dir(os.environ, os.getuid(), "/tmp", directory or os.environ.get("PTYD_DIR"))
    try:
        problem = _unsafe(where)
    except FileNotFoundError:
        return 0  # no daemon there (the settings file used outside ptyd): nothing to report
    if problem:
        print(f"ptyd hook: {problem}", file=sys.stderr)
        return 0
    ctx = zmq.Context()
    try:
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(Endpoints.in_dir(where).control)
        sock.send_multipart(encode_request(1, "hook", {
            "session": session, "event": name, "payload": payload,
            "token": os.environ.get("PTYD_SESSION_TOKEN", "")}))  # proves it runs in `session`
        if not sock.poll(REPLY_TIMEOUT_MS):
            print("ptyd hook: no reply from the daemon", file=sys.stderr)
            return 0
        reply = decode_reply(sock.recv_multipart())
        if reply.error is not None:
            print(f"ptyd hook: {reply.error.message}", file=sys.stderr)
    except Exception as e:  # never disturb the agent
        print(f"ptyd hook: {e}", file=sys.stderr)
    finally:
        ctx.destroy(linger=0)
    return 0


def _unsafe(where: Path) -> str | None:
    """Why the daemon of `where` must not be told anything, if so (FileNotFoundError: none)."""
    # lstat, never stat: a symlinked directory or socket is judged itself, not its target.
    st = os.lstat(where)
    if problem := runtime_dir_problem(where, st, os.getuid(), f"uid {st.st_uid}"):
        return problem
    socket = where / CONTROL_SOCKET
    st = os.lstat(socket)
    return socket_problem(socket, st, os.getuid(), f"uid {st.st_uid}")


if __name__ == "__main__":
    sys.exit(report(sys.argv[1] if len(sys.argv) > 1 else None))
