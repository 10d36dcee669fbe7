"""The publish side: topics and frames of what the daemon's XPUB socket sends.

Output of a session (3 frames):
    topic   b"out:" + name + b"\\0"     subscribe to b"out:" for every session
    header  msgpack {"session", "epoch", "offset"}   offset = absolute offset of data[0]
    data    the raw bytes the program wrote

Stderr of a session spawned with stderr=pipe (3 frames): topic b"err:" + name + b"\\0", the same
header plus "stream": "stderr" (offsets count in the session's separate stderr ring), data.

Events (2 frames):
    topic   b"evt\\0"
    body    msgpack {"type", "seq", "boot", "time", ...}

Messages to one viewer (2 frames), e.g. a request to detach:
    topic   b"viewer:" + viewer id + b"\0"   the viewer subscribes to its own topic; the daemon
                                             sees the subscription, and its disappearance when
                                             the viewer's connection closes (liveness)
    body    msgpack {"type", ...}

Subscription sync: a subscriber that subscribes to b"sync:" + token gets one message on that
topic once every subscription it sent before has reached the daemon, so it can then read a
snapshot knowing nothing published afterwards will pass it by.

The terminating NUL keeps prefix matching exact: "out:a1\\0" does not match session "a10".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .envelope import pack, unpack
from .errors import bad_request

OUTPUT_PREFIX = b"out:"
STDERR_PREFIX = b"err:"
EVENT_TOPIC = b"evt\x00"
SYNC_PREFIX = b"sync:"
VIEWER_PREFIX = b"viewer:"


def viewer_topic(viewer: str) -> bytes:
    return VIEWER_PREFIX + viewer.encode() + b"\x00"


def message_frames(topic: bytes, body: dict[str, Any]) -> list[bytes]:
    return [topic, pack(body)]


def output_topic(session: str) -> bytes:
    return OUTPUT_PREFIX + session.encode() + b"\x00"


def output_frames(session: str, epoch: int, offset: int, data: bytes) -> list[bytes]:
    header = pack({"session": session, "epoch": epoch, "offset": offset})
    return [output_topic(session), header, data]


def stderr_topic(session: str) -> bytes:
    return STDERR_PREFIX + session.encode() + b"\x00"


def stderr_frames(session: str, epoch: int, offset: int, data: bytes) -> list[bytes]:
    """A session spawned with stderr=pipe: its stderr, offsets in its own stderr ring."""
    header = pack({"session": session, "epoch": epoch, "offset": offset, "stream": "stderr"})
    return [stderr_topic(session), header, data]


@dataclass(frozen=True, slots=True)
class OutputChunk:
    session: str
    epoch: int
    offset: int
    data: bytes
    stream: str = "stdout"

    @property
    def end(self) -> int:
        return self.offset + len(self.data)


@dataclass(frozen=True, slots=True)
class Message:
    """A message on a topic other than output and events (a viewer's own topic)."""

    topic: bytes
    type: str
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    seq: int
    boot: str
    time: float
    fields: dict[str, Any]


def event_frames(body: dict[str, Any]) -> list[bytes]:
    return [EVENT_TOPIC, pack(body)]


def decode_published(frames: list[bytes]) -> OutputChunk | Event | Message | None:
    """Client side: decode one published message; None for a topic this version does not know
    (sync replies, or message kinds added later, which old clients must skip)."""
    if not frames:
        raise bad_request("empty published message")
    topic = frames[0]
    if topic.startswith((OUTPUT_PREFIX, STDERR_PREFIX)) and len(frames) == 3:
        header = unpack(frames[1], 1 << 16)
        if not isinstance(header, dict):
            raise bad_request("output header must be a map")
        session, epoch, offset = header.get("session"), header.get("epoch"), header.get("offset")
        if not (isinstance(session, str) and isinstance(epoch, int) and isinstance(offset, int)):
            raise bad_request("output header needs session, epoch and offset")
        stream = "stderr" if topic.startswith(STDERR_PREFIX) else "stdout"
        return OutputChunk(session, epoch, offset, frames[2], stream)
    if topic == EVENT_TOPIC and len(frames) == 2:
        body = unpack(frames[1], 1 << 20)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise bad_request("event body must be a map with a type")
        fields = {k: v for k, v in body.items() if k not in ("type", "seq", "boot", "time")}
        seq, when = body.get("seq", 0), body.get("time", 0.0)
        if not isinstance(seq, int) or not isinstance(when, int | float):
            raise bad_request("event seq must be an integer and time a number")
        return Event(body["type"], seq, str(body.get("boot", "")), float(when), fields)
    if topic.startswith(VIEWER_PREFIX) and len(frames) == 2:
        body = unpack(frames[1], 1 << 20)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise bad_request("viewer message body must be a map with a type")
        return Message(topic, body["type"], {k: v for k, v in body.items() if k != "type"})
    return None
