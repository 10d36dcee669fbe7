"""The control envelope: how requests and replies are framed on the wire.

A request is two ZeroMQ frames from a DEALER (or REQ-less) client to the daemon's ROUTER:

    frame 0: VERSION_FRAME, b"ptyd/1"      the protocol major version, checked first
    frame 1: msgpack [0, id, op, params]    msgpack-rpc shaped, with named params (a map)

and the reply, always exactly one per request, carries the same id:

    frame 0: VERSION_FRAME
    frame 1: msgpack [1, id, error, result] error is nil or {code, message, data};
                                            result is nil on error, else a map

A reply to a request whose id could not be read carries id nil.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack

from .errors import ErrorCode, ProtocolError, bad_request
from .limits import MAX_REQUEST_BYTES, PROTOCOL_VERSION

VERSION_PREFIX = b"ptyd/"
VERSION_FRAME = VERSION_PREFIX + str(PROTOCOL_VERSION).encode()

REQUEST, RESPONSE = 0, 1
MAX_MSGID = 2**32 - 1


@dataclass(frozen=True, slots=True)
class Request:
    id: int
    op: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reply:
    id: int | None
    error: ProtocolError | None
    result: dict[str, Any] | None


def pack(obj: Any) -> bytes:
    data: bytes = msgpack.packb(obj, use_bin_type=True)
    return data


def unpack(data: bytes, max_bytes: int = MAX_REQUEST_BYTES) -> Any:
    """Decode msgpack strictly: str must be UTF-8, map keys must be str, no trailing bytes."""
    if len(data) > max_bytes:
        raise ProtocolError(
            ErrorCode.LIMIT_EXCEEDED,
            f"message of {len(data)} bytes is over the limit of {max_bytes}",
            {"limit": "max_request_bytes", "max": max_bytes},
        )
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True)
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as e:
        raise bad_request(f"body is not valid msgpack: {e or type(e).__name__}") from None


def check_version(frame: bytes) -> None:
    """Raise `unsupported_version` for another major version, `bad_request` for no version at all."""
    if frame == VERSION_FRAME:
        return
    if frame.startswith(VERSION_PREFIX):
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_VERSION,
            f"client speaks {frame.decode('ascii', 'replace')!r}, this daemon speaks "
            f"{VERSION_FRAME.decode()!r}",
            {"supported": [PROTOCOL_VERSION]},
        )
    raise bad_request(f"first frame must be the version frame {VERSION_FRAME!r}")


def encode_request(msgid: int, op: str, params: dict[str, Any]) -> list[bytes]:
    return [VERSION_FRAME, pack([REQUEST, msgid, op, params])]


def peek_msgid(body: Any) -> int | None:
    """The request id if the body has one, so even a malformed request's error reply correlates."""
    if isinstance(body, list) and len(body) >= 2:
        msgid = body[1]
        if isinstance(msgid, int) and not isinstance(msgid, bool) and 0 <= msgid <= MAX_MSGID:
            return msgid
    return None


def decode_request(frames: list[bytes]) -> Request:
    """Validate the two frames of a request; raise ProtocolError naming what is wrong."""
    if len(frames) != 2:
        raise bad_request(f"a request has 2 frames (version, body), got {len(frames)}")
    check_version(frames[0])
    body = unpack(frames[1])
    try:
        return _validate_request(body)
    except ProtocolError as e:
        e.request_id = peek_msgid(body)
        raise


def _validate_request(body: Any) -> Request:
    if not isinstance(body, list) or len(body) != 4:
        raise bad_request("body must be the array [0, id, op, params]")
    kind, msgid, op, params = body
    if not isinstance(kind, int) or isinstance(kind, bool) or kind != REQUEST:
        raise bad_request(f"body[0] must be {REQUEST} (request), got {kind!r}")
    if peek_msgid(body) is None:
        raise bad_request(f"id must be an integer in 0..{MAX_MSGID}, got {msgid!r}")
    if not isinstance(op, str) or not op:
        raise bad_request(f"op must be a non-empty string, got {op!r}")
    if params is None:
        params = {}
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise bad_request("params must be a map with string keys")
    return Request(msgid, op, params)


def encode_reply(msgid: int | None, result: dict[str, Any] | None = None,
                 error: ProtocolError | None = None) -> list[bytes]:
    wire_error = error.to_wire() if error is not None else None
    return [VERSION_FRAME, pack([RESPONSE, msgid, wire_error, None if error else (result or {})])]


def decode_reply(frames: list[bytes], max_bytes: int = 1 << 30) -> Reply:
    """Client side: validate a reply. Unknown extra fields inside `result` are kept, not refused."""
    if len(frames) != 2:
        raise bad_request(f"a reply has 2 frames, got {len(frames)}")
    check_version(frames[0])
    body = unpack(frames[1], max_bytes)
    if not isinstance(body, list) or len(body) != 4 or body[0] != RESPONSE:
        raise bad_request("reply body must be the array [1, id, error, result]")
    _, msgid, error, result = body
    if msgid is not None and peek_msgid(body) is None:
        raise bad_request(f"reply id must be an integer or nil, got {msgid!r}")
    if error is not None:
        if not isinstance(error, dict) or not isinstance(error.get("code"), str):
            raise bad_request("reply error must be a map with a string code")
        data = error.get("data")
        return Reply(msgid, ProtocolError(error["code"], str(error.get("message", "")),
                                          data if isinstance(data, dict) else None), None)
    if not isinstance(result, dict):
        raise bad_request("reply result must be a map")
    return Reply(msgid, None, result)
