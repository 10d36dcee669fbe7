"""`python -m ptyd.hook`: what an agent's hook runs (Claude Code fires one per tool call), so it
must be cheap. It reads the hook's JSON on stdin and sends one `hook` request to the daemon named
by PTYD_DIR for the session PTYD_SESSION, with a bare ZeroMQ socket: no asyncio, no client
library. It never fails loudly: a hook that errors would disturb the agent."""

from __future__ import annotations

import json
import os
import sys

import zmq

from ptyd.proto import decode_reply, encode_request
from ptyd.proto.paths import CONTROL_SOCKET, Endpoints, runtime_dir

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
    if not (where / CONTROL_SOCKET).exists():
        return 0  # no daemon there (the settings file used outside ptyd): nothing to report
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


if __name__ == "__main__":
    sys.exit(report(sys.argv[1] if len(sys.argv) > 1 else None))
