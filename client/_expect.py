"""expect(): wait on a session's live output for one of several patterns (the pexpect idea).

Semantics, in short (the AsyncSession.expect docstring is the reference):
- The text searched is the session's output with escape sequences removed (`_text.TextStripper`),
  from where the handle started (spawn: the first byte; `session(name)`: the end at that time),
  minus what earlier matches consumed.
- A `str` pattern is a regular expression (as in pexpect; `expect_exact` takes literal text);
  a compiled `re.Pattern[str]` is used as it is. `EOF` and `TIMEOUT` are special patterns.
- Of the patterns that match, the one whose match starts first wins; on a tie, the first in the
  list. The text up to the match is `before`, the match itself `after`; both are consumed.
- End of output (the session exited) with no match: the EOF pattern's index if listed (`before`
  is all remaining text, which is consumed), else `EOF` is raised. The timeout passing: the
  TIMEOUT pattern's index if listed, else `ExpectTimeout`; nothing is consumed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from ._exceptions import EOF, ExpectTimeout

Special: TypeAlias = type[EOF] | type[ExpectTimeout]
Pattern: TypeAlias = str | re.Pattern[str] | Special
"""One expect() pattern: a regular expression (str or compiled), or EOF / TIMEOUT."""

EXPECT_BUFFER_CHARS = 1 << 20
"""Unmatched text kept for expect(); older text is dropped (a very long `before` is cut)."""


@dataclass(frozen=True, slots=True)
class ExpectMatch:
    """What expect() found. `index` is the position of the winning pattern in the list given;
    `match` the re.Match (None for EOF and TIMEOUT); `before` the text before the match;
    `after` the matched text ('' for EOF and TIMEOUT)."""

    index: int
    pattern: Pattern
    match: re.Match[str] | None
    before: str
    after: str

    def group(self, *groups: int | str) -> str | tuple[str, ...] | None:
        """`m.group(1)`, as on the re.Match; None for EOF and TIMEOUT."""
        if self.match is None:
            return None
        result: str | tuple[str, ...] = self.match.group(*groups)
        return result


def compile_patterns(patterns: Pattern | Sequence[Pattern], exact: bool = False
                     ) -> list[re.Pattern[str] | Special]:
    """Normalize expect()'s argument to a list of compiled patterns and specials."""
    if isinstance(patterns, (str, re.Pattern)) or patterns in (EOF, ExpectTimeout):
        items: list[Pattern] = [patterns]
    else:
        items = list(patterns)  # type: ignore[arg-type]
    if not items:
        raise ValueError("expect() needs at least one pattern")
    compiled: list[re.Pattern[str] | Special] = []
    for item in items:
        if item is EOF or item is ExpectTimeout:
            compiled.append(item)
        elif isinstance(item, str):
            compiled.append(re.compile(re.escape(item) if exact else item))
        elif isinstance(item, re.Pattern):
            if exact:
                raise TypeError("expect_exact() takes literal strings, not compiled patterns")
            source: object = item.pattern
            if not isinstance(source, str):
                raise TypeError("expect() matches text: use a str pattern, not a bytes one")
            compiled.append(item)
        else:
            raise TypeError(f"not an expect() pattern: {item!r} (use a str, a compiled "
                            "re.Pattern, EOF or TIMEOUT)")
    return compiled


MAX_REACH_CHARS = 4096
"""Patterns whose matches can be longer than this are searched over the whole buffer."""

LOOKAROUND_SLACK_CHARS = 256
"""Extra text searched before the new text, for lookbehinds, \\b and the like."""


@functools.lru_cache(maxsize=256)
def reach(pattern: re.Pattern[str]) -> int | None:
    """The longest text a match of `pattern` can span, if it is bounded (and small)."""
    try:
        import re._parser as parser  # type: ignore[import-not-found]  # sre_parse < 3.11

        _, longest = parser.parse(pattern.pattern, pattern.flags).getwidth()
    except Exception:  # a private API: when in doubt, search everything
        return None
    return int(longest) if longest <= MAX_REACH_CHARS else None


class ExpectBuffer:
    """The unmatched text of one session handle, bounded by `max_chars` (oldest dropped).

    Positions called absolute count every character ever appended (`dropped` + index), so a
    search can resume where the previous one ended although old text is dropped meanwhile.
    New text is kept as a list of parts and joined only when needed: a pattern of bounded
    reach (a literal prompt or marker) is searched in the new text plus its reach before it,
    so a long stream costs expect() a little per chunk, not the whole buffer per chunk.
    """

    def __init__(self, max_chars: int = EXPECT_BUFFER_CHARS):
        self.max_chars = max_chars
        self._text = ""
        self._parts: list[str] = []
        self._pending = 0
        self.dropped = 0
        """Characters dropped from the front so far (consumed or beyond max_chars)."""
        self.generation = 0
        """Grows with every append: a search need not be repeated if it has not changed."""

    def append(self, text: str) -> None:
        if not text:
            return
        self._parts.append(text)
        self._pending += len(text)
        self.generation += 1
        if self._pending > self.max_chars:
            self._compact()

    @property
    def end(self) -> int:
        """Absolute position of the end of the text."""
        return self.dropped + len(self._text) + self._pending

    def _compact(self) -> None:
        if self._parts:
            self._text += "".join(self._parts)
            self._parts.clear()
            self._pending = 0
        excess = len(self._text) - self.max_chars
        if excess > 0:
            self._text = self._text[excess:]
            self.dropped += excess

    @property
    def text(self) -> str:
        self._compact()
        return self._text

    def _tail(self, start: int) -> str:
        """The text from absolute position `start` (not before what is held) to the end,
        joining only the parts it needs."""
        need = self.end - max(start, self.dropped)
        pieces: list[str] = []
        got = 0
        for part in reversed(self._parts):
            if got >= need:
                break
            pieces.append(part)
            got += len(part)
        if got < need:
            pieces.append(self._text[max(0, len(self._text) - (need - got)):])
        tail = "".join(reversed(pieces))
        return tail[len(tail) - need:] if len(tail) > need else tail

    def search(self, patterns: Sequence[re.Pattern[str] | Special], window: int | None = None,
               resume: int | None = None) -> tuple[int, re.Match[str]] | None:
        """The earliest match of any pattern (ties: the first pattern), or None. With `window`,
        only the last `window` characters are searched. `resume` is the absolute end of the
        text an earlier search of the same patterns found nothing in."""
        regexes = [(i, p) for i, p in enumerate(patterns) if isinstance(p, re.Pattern)]
        start = self.dropped
        if window is not None:
            start = max(start, self.end - window)
        if resume is not None:
            reaches = [reach(p) for _, p in regexes]
            if all(r is not None for r in reaches):
                longest = max((r for r in reaches if r is not None), default=0)
                start = max(start, resume - longest - LOOKAROUND_SLACK_CHARS)
                tail = self._tail(start)
                if not any(p.search(tail) for _, p in regexes):
                    return None  # the common case in a long stream: cheap, nothing joined
        text = self.text
        index = max(0, start - self.dropped)
        best: tuple[int, re.Match[str]] | None = None
        for i, pattern in regexes:
            found = pattern.search(text, index)
            if found is not None and (best is None or found.start() < best[1].start()):
                best = (i, found)
        return best

    def consume(self, end: int) -> str:
        """Drop the text up to index `end` of `text` and return it."""
        text = self.text
        self._text = text[end:]
        self.dropped += end
        return text[:end]
