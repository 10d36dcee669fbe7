"""The least an attach client can do, as a floor for `ptyd attach` in the echo benchmark.

    _mini_attach.py DIR SESSION

One poll over stdin and an output subscription; keystrokes go out as `input` requests with
`ack` false (no reply unless they fail), output is written straight to stdout. No replay, no gap-filling, no
signals, no terminal restore (the bench's PTY is thrown away). Ctrl-\\ leaves. What `ptyd
attach` costs above this is the price of doing its job properly.
"""

from __future__ import annotations

import os
import sys
import tty

import zmq

from ptyd.client._wire import Wire, readable
from ptyd.proto import envelope, pubsub


def main() -> int:
    directory, session = sys.argv[1], sys.argv[2]
    wire = Wire(directory)
    wire.connect()
    assert wire.dealer is not None
    sub = wire.socket(zmq.SUB)
    sub.connect(wire.endpoints.publish)
    sub.setsockopt(zmq.SUBSCRIBE, pubsub.output_topic(session))
    token = pubsub.SYNC_PREFIX + os.urandom(8).hex().encode()
    sub.setsockopt(zmq.SUBSCRIBE, token)
    while sub.recv_multipart()[0] != token:
        pass
    tty.setraw(0)
    os.write(1, b"READY\r\n")
    poller = zmq.Poller()
    poller.register(0, zmq.POLLIN)
    poller.register(sub, zmq.POLLIN)
    msgid = 0
    while True:
        ready = dict(poller.poll())
        if 0 in ready:
            data = os.read(0, 4096)
            if not data or b"\x1c" in data:
                return 0
            msgid += 1
            wire.dealer.send_multipart(envelope.encode_request(
                msgid, "input", {"session": session, "data": data, "ack": False}))
        while readable(sub):
            os.write(1, sub.recv_multipart(zmq.NOBLOCK)[-1])
        while readable(wire.dealer):
            wire.dealer.recv_multipart(zmq.NOBLOCK)


if __name__ == "__main__":
    sys.exit(main())
