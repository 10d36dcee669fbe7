"""Many minimal viewers of one session in one process, for the fan-out benchmark.

    _fanout.py --dir DIR --session NAME --viewers K --start OFFSET --bytes N --sha256 HEX

Each viewer is one SUB socket on the session's output topic (its subscription confirmed with the
sync probe) and a position: a chunk that ends before the position is dropped, one that overlaps
is trimmed, one that starts past it reveals a gap (the daemon dropped for this viewer when it was
behind), filled from the scrollback with `read` over one shared DEALER. A viewer that hears
nothing for IDLE_FILL_S reads up to the end. That is all the client library's stream does, minus
the library: the cost measured is the daemon's fan-out, not Python layers on our side.

It prints SUBSCRIBED when every viewer is in place, then hashes bytes [OFFSET, OFFSET+N) per
viewer; its last line is a JSON result.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
from _common import RawClient

from ptyd.proto import limits, pubsub

IDLE_FILL_S = 0.2


@dataclass
class Viewer:
    sub: zmq.Socket[bytes]
    position: int
    stop: int
    digest: Any = field(default_factory=hashlib.sha256)
    live_bytes: int = 0
    filled_bytes: int = 0
    lost: int = 0
    done_at: float | None = None
    heard_at: float = field(default_factory=time.monotonic)

    def take(self, data: bytes, filled: bool) -> None:
        data = data[: self.stop - self.position]
        self.digest.update(data)
        self.position += len(data)
        if filled:
            self.filled_bytes += len(data)
        else:
            self.live_bytes += len(data)
        if self.position >= self.stop and self.done_at is None:
            self.done_at = time.perf_counter()


def subscribe(raw: RawClient, session: str, count: int) -> list[zmq.Socket[bytes]]:
    topic = pubsub.output_topic(session)
    socks = []
    for _ in range(count):
        sub = raw.subscribe(topic)
        sub.setsockopt(zmq.RCVHWM, 1000)  # as the library's stream
        socks.append(sub)
    return socks


def fill(raw: RawClient, session: str, viewer: Viewer, until: int | None) -> None:
    """Read the scrollback from the viewer's position up to `until` (None: the end now)."""
    while viewer.position < (until if until is not None else viewer.stop):
        try:
            reply = raw.request("read", {"session": session, "offset": viewer.position,
                                         "max_bytes": limits.MAX_READ_BYTES})
        except RuntimeError as e:  # range_evicted: the ring no longer holds it
            viewer.lost += viewer.stop - viewer.position
            viewer.position = viewer.stop
            viewer.done_at = time.perf_counter()
            print(f"viewer lost its bytes: {e}", file=sys.stderr)
            return
        data = reply["data"]
        if until is not None:
            data = data[: until - viewer.position]
        if not data:
            return
        viewer.take(data, filled=True)


def on_chunk(raw: RawClient, session: str, viewer: Viewer, chunk: pubsub.OutputChunk) -> None:
    if chunk.end <= viewer.position or viewer.done_at is not None:
        return
    if chunk.offset > viewer.position:
        fill(raw, session, viewer, chunk.offset)
    if viewer.position < chunk.end and viewer.done_at is None:
        viewer.take(chunk.data[viewer.position - chunk.offset:], filled=False)


def follow(args: argparse.Namespace) -> dict[str, Any]:
    with RawClient(Path(args.dir)) as raw:
        socks = subscribe(raw, args.session, args.viewers)
        viewers = {sock: Viewer(sock, args.start, args.start + args.bytes) for sock in socks}
        poller = zmq.Poller()
        for sock in socks:
            poller.register(sock, zmq.POLLIN)
        print("SUBSCRIBED", flush=True)
        cpu = time.process_time()
        while any(v.done_at is None for v in viewers.values()):
            for sock, _ in poller.poll(int(IDLE_FILL_S * 1000)):
                viewer = viewers[sock]
                viewer.heard_at = time.monotonic()
                while True:
                    try:
                        frames = sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    message = pubsub.decode_published(frames)
                    if isinstance(message, pubsub.OutputChunk):
                        on_chunk(raw, args.session, viewer, message)
            now = time.monotonic()
            for viewer in viewers.values():
                if viewer.done_at is None and now - viewer.heard_at > IDLE_FILL_S:
                    fill(raw, args.session, viewer, None)
                    viewer.heard_at = now
        cpu = time.process_time() - cpu
        for sock in socks:
            sock.close(0)
    states = list(viewers.values())
    return {
        "viewers": len(states),
        "hash_ok": sum(v.digest.hexdigest() == args.sha256 and not v.lost for v in states),
        "lost": sum(v.lost for v in states),
        "live_bytes": sum(v.live_bytes for v in states),
        "filled_bytes": sum(v.filled_bytes for v in states),
        "last_done_at": max(v.done_at or 0.0 for v in states),
        "cpu_s": cpu,
        "pid": os.getpid(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--session", required=True)
    parser.add_argument("--viewers", type=int, required=True)
    parser.add_argument("--start", type=int, required=True)
    parser.add_argument("--bytes", type=int, required=True)
    parser.add_argument("--sha256", required=True)
    args = parser.parse_args()
    print(json.dumps(follow(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
