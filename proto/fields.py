"""Validating readers for request parameters: types, sizes and ranges, with messages that say
which parameter of which op was wrong and what was expected."""

from __future__ import annotations

import re
from typing import Any

from .errors import bad_request
from .limits import MAX_NAME_CHARS, MAX_STRING_BYTES

NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


class Params:
    """Reads the params map of one request; `done()` refuses parameters nobody read.

    Unknown parameters are refused rather than ignored: a client relying on an option this
    daemon lacks gets told so instead of silently getting other behaviour (check `hello`).
    """

    def __init__(self, op: str, params: dict[str, Any]):
        self.op = op
        self._params = params
        self._seen: set[str] = set()

    def raw(self, key: str, required: bool) -> Any:
        self._seen.add(key)
        value = self._params.get(key)
        if value is None and required:
            raise bad_request(f"{self.op}: missing parameter '{key}'", param=key)
        return value

    def _wrong(self, key: str, expected: str, value: Any) -> Exception:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return bad_request(f"{self.op}: parameter '{key}' must be {expected}, got {shown}",
                           param=key)

    def text(self, key: str, *, required: bool = False, max_bytes: int = MAX_STRING_BYTES,
            nonempty: bool = False) -> str | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._wrong(key, "a string", value)
        if len(value.encode("utf-8", "surrogatepass")) > max_bytes:
            raise self._wrong(key, f"at most {max_bytes} bytes", f"<{len(value)} chars>")
        if nonempty and not value:
            raise self._wrong(key, "a non-empty string", value)
        if "\x00" in value:
            raise self._wrong(key, "a string without NUL bytes", value)
        return value

    def name(self, key: str = "session", *, required: bool = True) -> str | None:
        value = self.text(key, required=required)
        if value is None:
            return None
        if len(value) > MAX_NAME_CHARS or not NAME_RE.fullmatch(value):
            raise self._wrong(key, f"a session name of 1-{MAX_NAME_CHARS} characters from "
                              "[A-Za-z0-9_.-], not starting with '.' or '-'", value)
        return value

    def binary(self, key: str, *, required: bool = False, max_bytes: int) -> bytes | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if isinstance(value, str):  # be liberal: text is taken as its UTF-8 bytes
            value = value.encode("utf-8", "surrogatepass")
        if not isinstance(value, bytes):
            raise self._wrong(key, "binary data (msgpack bin)", value)
        if len(value) > max_bytes:
            raise self._wrong(key, f"at most {max_bytes} bytes", f"<{len(value)} bytes>")
        return value

    def integer(self, key: str, *, lo: int, hi: int, required: bool = False) -> int | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise self._wrong(key, f"an integer in {lo}..{hi}", value)
        return value

    def number(self, key: str, *, lo: float, hi: float, required: bool = False) -> float | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if (not isinstance(value, int | float) or isinstance(value, bool)
                or not lo <= value <= hi or value != value):
            raise self._wrong(key, f"a number in {lo:g}..{hi:g}", value)
        return float(value)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.raw(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._wrong(key, "true or false", value)
        return value

    def text_list(self, key: str, *, max_items: int, required: bool = False,
                 nonempty: bool = False) -> list[str] | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if (not isinstance(value, list) or len(value) > max_items
                or not all(isinstance(v, str) and "\x00" not in v for v in value)):
            raise self._wrong(key, f"a list of at most {max_items} strings without NUL", value)
        if any(len(v.encode("utf-8", "surrogatepass")) > MAX_STRING_BYTES for v in value):
            raise self._wrong(key, f"strings of at most {MAX_STRING_BYTES} bytes each",
                              f"<an item over {MAX_STRING_BYTES} bytes>")
        if nonempty and not value:
            raise self._wrong(key, "a non-empty list", value)
        if sum(len(v) for v in value) > MAX_STRING_BYTES * 4:
            raise self._wrong(key, "smaller", f"<{len(value)} items>")
        return value

    def text_map(self, key: str, *, max_items: int) -> dict[str, str] | None:
        value = self.raw(key, False)
        if value is None:
            return None
        if (not isinstance(value, dict) or len(value) > max_items
                or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())):
            raise self._wrong(key, f"a map of at most {max_items} string to string", value)
        for k, v in value.items():
            if not k or "=" in k or "\x00" in k or "\x00" in v:
                raise self._wrong(key, "a map of names (no '=' or NUL) to values (no NUL)", k)
            if len(k) + len(v.encode("utf-8", "surrogatepass")) > MAX_STRING_BYTES:
                raise self._wrong(key, f"entries of at most {MAX_STRING_BYTES} bytes", k)
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
        value = self.raw(key, False)
        if value is None:
            return default
        if value not in choices:
            raise self._wrong(key, "one of " + ", ".join(map(repr, choices)), value)
        return str(value)

    def mapping(self, key: str, *, max_items: int = 256) -> dict[str, Any] | None:
        """A map with string keys whose values are passed on as they are (hook payloads)."""
        value = self.raw(key, False)
        if value is None:
            return None
        if (not isinstance(value, dict) or len(value) > max_items
                or not all(isinstance(k, str) for k in value)):
            raise self._wrong(key, f"a map of at most {max_items} string keys", value)
        return value

    def done(self) -> None:
        unknown = sorted(set(self._params) - self._seen)
        if unknown:
            raise bad_request(f"{self.op}: unknown parameter(s) {', '.join(map(repr, unknown))}",
                              unknown=unknown)
