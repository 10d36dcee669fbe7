"""Protocol limits, as named constants with their units.

A daemon reports the limits it enforces in its `hello` reply; these are the defaults of
this implementation and the bounds every validating decoder checks.
"""

PROTOCOL_VERSION = 1
"""Major version carried in the envelope's first frame; bumped only for breaking changes."""

PROTOCOL_MINOR = 3
"""Additive revision: grows whenever an op, a parameter, an event or a feature is added."""

MAX_REQUEST_BYTES = 1 << 20
"""Largest request body the daemon decodes; a larger one gets `limit_exceeded`."""

MAX_FRAME_BYTES = 16 << 20
"""Hard ZeroMQ message-size cap on the control socket: a peer sending more is disconnected."""

MAX_INPUT_BYTES = 512 << 10
"""Largest `input` payload in one request."""

MAX_READ_BYTES = 4 << 20
"""Largest scrollback slice one `read` reply carries."""

DEFAULT_READ_BYTES = 1 << 20
"""Slice size of a `read` that names no `max_bytes`."""

MAX_NAME_CHARS = 64
"""Session names: 1 to this many characters of [A-Za-z0-9_.-], not starting with '-' or '.'."""

MAX_ARGV_ITEMS = 4096
MAX_ENV_ITEMS = 4096
MAX_STRING_BYTES = 128 << 10
"""Longest single string (argv item, env value, path) a request may carry."""

MIN_SIZE, MAX_COLS, MAX_ROWS = 1, 10_000, 10_000
DEFAULT_COLS, DEFAULT_ROWS = 80, 24

MIN_SCROLLBACK_BYTES = 4 << 10
MAX_SCROLLBACK_BYTES = 1 << 30
DEFAULT_SCROLLBACK_BYTES = 4 << 20

MAX_WAIT_S = 7 * 24 * 3600.0
"""Longest `wait` or `kill` grace a request may ask for."""

DEFAULT_KILL_GRACE_S = 5.0

MAX_EVENTS_PER_READ = 4096
EVENT_LOG_LEN = 4096
"""How many recent events the daemon keeps for `events` catch-up."""

HEARTBEAT_INTERVAL_S = 1.0

MAX_SESSIONS = 1024
"""Default cap on sessions, running or exited, held by one daemon."""

MAX_PENDING_WAITS = 10_000
"""Default cap on `wait` requests parked at once, over all clients."""

MAX_QUEUED_REPLY_BYTES = 128 << 20
"""Bytes of large replies the daemon holds for clients that do not read them, all together; a
reply past it is `limit_exceeded` (a `read` is shortened first)."""

MAX_PEER_QUEUED_REPLY_BYTES = 64 << 20
"""The same, for one client connection."""

MIN_REPLY_ROOM_BYTES = 32 << 10
"""A connection with no reply queued may always be sent this much, so that readers go on while
stalled clients hold the total."""

TRACKED_REPLY_BYTES = 4 << 10
"""Replies this large or larger are counted until they leave; smaller ones are bounded by the
control socket's send high-water mark (messages per connection)."""

CONTROL_SNDHWM = 1000
"""Replies queued per connection (ZeroMQ's default), small ones included."""

MAX_PEERS = 1024
"""Connections to one control socket; a request from a further one gets `limit_exceeded`
(ZeroMQ cannot refuse the connection itself)."""
