"""The ptyd wire protocol: pure data, no I/O. The only thing the daemon and its clients share.

See docs/protocol.md for the contract this package implements.
"""

from .envelope import (
    VERSION_FRAME,
    Reply,
    Request,
    decode_reply,
    decode_request,
    encode_reply,
    encode_request,
    pack,
    unpack,
)
from .errors import ErrorCode, ProtocolError
from .limits import PROTOCOL_MINOR, PROTOCOL_VERSION
from .pubsub import EVENT_TOPIC, OUTPUT_PREFIX, Event, OutputChunk, decode_published, output_topic

__all__ = [
    "EVENT_TOPIC",
    "OUTPUT_PREFIX",
    "PROTOCOL_MINOR",
    "PROTOCOL_VERSION",
    "VERSION_FRAME",
    "ErrorCode",
    "Event",
    "OutputChunk",
    "ProtocolError",
    "Reply",
    "Request",
    "decode_published",
    "decode_reply",
    "decode_request",
    "encode_reply",
    "encode_request",
    "output_topic",
    "pack",
    "unpack",
]
