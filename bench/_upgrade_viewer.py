"""A viewer in its own process for the upgrade benchmark: the client library's output streams
(AsyncClient.output, from offset 0) of some sessions, kept open across daemon upgrades.

    _upgrade_viewer.py --dir DIR [--sub-reconnect-ms N] SESSION...

It prints SUBSCRIBED once every stream has delivered output, hashes every byte and notes when
each chunk arrived (time.perf_counter(): CLOCK_MONOTONIC, the same clock in every process). One
JSON line on stdin ends it: {"ends": {session: offset}, "windows": [[t0, t1], ...]}: it reads on
to those offsets, then prints one JSON line: per session the bytes, sha256, Lost bytes, and the
longest silence between two chunks inside each window (an upgrade) and outside all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import zmq

from ptyd.client import AsyncClient, Lost

FINISH_TIMEOUT_S = 60.0


@dataclass
class Followed:
    session: str
    digest: Any = field(default_factory=hashlib.sha256)
    position: int = 0
    lost: int = 0
    end: int | None = None
    arrivals: list[float] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    def check_end(self) -> None:
        if self.end is not None and self.position >= self.end:
            self.finished.set()


async def follow(client: AsyncClient, state: Followed) -> None:
    async for item in client.output(state.session, 0):
        now = time.perf_counter()
        if isinstance(item, Lost):
            state.lost += item.end - item.offset
            state.position = item.end
        else:
            data = item.data
            if state.end is not None:
                data = data[: max(0, state.end - state.position)]
            state.digest.update(data)
            state.position += len(data)
            state.arrivals.append(now)
            state.started.set()
        state.check_end()
        if state.finished.is_set():
            return


def longest_gaps(arrivals: list[float], windows: list[list[float]]) -> dict[str, Any]:
    inside = [0.0] * len(windows)
    outside = 0.0
    for before, after in itertools.pairwise(arrivals):
        gap = after - before
        hit = False
        for i, (t0, t1) in enumerate(windows):
            if after >= t0 and before <= t1:  # the silence overlaps the window
                inside[i] = max(inside[i], gap)
                hit = True
        if not hit:
            outside = max(outside, gap)
    return {"upgrade_gaps_ms": [g * 1000 for g in inside], "steady_max_gap_ms": outside * 1000}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    async with AsyncClient(args.dir) as client:
        if args.sub_reconnect_ms is not None:
            # Experiment: the SUB sockets the streams open take this reconnect interval (the
            # library sets 20 ms on its DEALER, leaves ZeroMQ's 100 ms on its SUBs).
            client.context.setsockopt(zmq.RECONNECT_IVL, args.sub_reconnect_ms)
        states = [Followed(name) for name in args.sessions]
        tasks = [asyncio.ensure_future(follow(client, s)) for s in states]
        await asyncio.gather(*(s.started.wait() for s in states))
        print("SUBSCRIBED", flush=True)
        command = json.loads(await asyncio.to_thread(sys.stdin.readline))
        for state in states:
            state.end = int(command["ends"][state.session])
            state.check_end()
        with contextlib.suppress(TimeoutError):  # reported: the position falls short
            await asyncio.wait_for(asyncio.gather(*(s.finished.wait() for s in states)),
                                   FINISH_TIMEOUT_S)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {s.session: {"bytes": s.position, "end": s.end, "sha256": s.digest.hexdigest(),
                        "lost": s.lost, "chunks": len(s.arrivals),
                        **longest_gaps(s.arrivals, command["windows"])} for s in states}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--sub-reconnect-ms", type=int, default=None)
    parser.add_argument("sessions", nargs="+")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
