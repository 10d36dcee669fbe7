"""A subscriber in its own process, for the stalled-subscriber benchmark.

    _subscriber.py --dir DIR --session NAME --bytes N --sha256 HEX [--nap SECONDS]

It follows the session's output with the client library's gap-free stream (AsyncClient.output),
prints SUBSCRIBED once it has seen the producer's READY line, optionally stops iterating for
--nap seconds (its ZeroMQ I/O thread keeps receiving meanwhile), and then consumes N bytes,
hashing them. The parent may also freeze it with SIGSTOP instead. Its last line is a JSON
result: bytes, hash ok, Lost bytes, bytes that came from scrollback `read`s, timings, peak RSS.
If the stream yields nothing for --stuck-after seconds, the result says it got stuck.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from typing import Any

from _common import StreamResult, consume, until_ready
from producer import READY_ON_TTY

from ptyd.client import AsyncClient


async def follow(args: argparse.Namespace) -> dict[str, Any]:
    async with AsyncClient(args.dir) as client:
        ring_bytes = 0
        library_read = client.read

        async def counting_read(*a: Any, **kw: Any) -> dict[str, Any]:
            nonlocal ring_bytes
            reply: dict[str, Any] = await library_read(*a, **kw)
            ring_bytes += len(reply["data"])
            return reply

        client.read = counting_read  # type: ignore[method-assign,unused-ignore]  # count gap-fills
        stream = client.output(args.session)
        first = await until_ready(stream, READY_ON_TTY)
        ring_bytes = 0
        print("SUBSCRIBED", flush=True)
        if args.nap:
            await asyncio.sleep(args.nap)
        resumed_at = time.time()
        stuck = False
        partial = StreamResult()
        try:
            result = await consume(stream, args.bytes, first, partial, args.stuck_after)
        except TimeoutError:
            stuck, result = True, partial
        return {
            "bytes": result.bytes,
            "hash_ok": result.digest == args.sha256,
            "lost": result.lost,
            "ring_bytes": ring_bytes,
            "stuck": stuck,
            "resumed_at": resumed_at,
            "done_at": time.time(),
            "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--session", required=True)
    parser.add_argument("--bytes", type=int, required=True)
    parser.add_argument("--sha256", required=True)
    parser.add_argument("--nap", type=float, default=0.0)
    parser.add_argument("--stuck-after", type=float, default=600.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(follow(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
