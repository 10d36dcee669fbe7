"""The ptyd wire protocol: pure data, no I/O. The only thing the daemon and its clients share.

See docs/protocol.md for the contract this package implements.
"""

# Names are imported on first use (PEP 562): `ptyd --version` or a module that needs only
# `ptyd.proto.paths` does not pay for msgpack and the codecs.
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from .pubsub import (
        EVENT_TOPIC,
        OUTPUT_PREFIX,
        Event,
        OutputChunk,
        decode_published,
        output_topic,
    )

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

_HOMES = {"ErrorCode": ".errors", "ProtocolError": ".errors", "PROTOCOL_MINOR": ".limits",
          "PROTOCOL_VERSION": ".limits", "EVENT_TOPIC": ".pubsub", "OUTPUT_PREFIX": ".pubsub",
          "Event": ".pubsub", "OutputChunk": ".pubsub", "decode_published": ".pubsub",
          "output_topic": ".pubsub"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES.get(name, ".envelope"), __name__), name)
    globals()[name] = value
    return value
