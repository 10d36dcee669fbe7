"""Terminal output as text: escape sequences removed, for matching and for reading.

A program's output is bytes meant for a terminal: UTF-8 text mixed with control characters and
escape sequences (colours, cursor moves, titles, mode switches). Two views of it serve people
and programs that do not run a terminal emulator:

- `TextStripper` (what `expect()` matches against): escape sequences and control characters
  removed; a cursor move to the right becomes spaces and a move to another line becomes a
  newline, so words a program placed apart stay apart ("Not logged in" drawn with cursor-forward
  moves reads as such). Carriage returns and newlines stay as the program sent them ("\\r\\n").
- `LineCooker` (what the runtime API calls lines): complete lines as a person reads them on a
  line-oriented terminal: a carriage return goes back to the start of the line and what follows
  overwrites it (progress bars collapse to their last state), backspace and erase-in-line act,
  everything else is removed. Full-screen programs that redraw with cursor moves are better read
  with a terminal emulator (`screen()`).

Both are incremental: chunks may split an escape sequence or a UTF-8 character anywhere, and the
incomplete tail is carried over to the next chunk.
"""

from __future__ import annotations

import codecs
import re

MAX_CARRY_BYTES = 4096
"""An unfinished escape sequence longer than this (a runaway OSC) is dropped, not carried."""

MAX_CURSOR_FORWARD = 256
"""Cursor-forward moves become at most this many spaces."""

# A complete escape sequence: CSI, OSC (ended by BEL or ST), DCS/SOS/PM/APC (ended by ST),
# or a two-character / nF escape such as ESC ( B or ESC 7.
_SEQUENCE = (rb"\x1b(?:\[([0-?]*)[ -/]*([@-~])"
             rb"|\][^\x07\x1b]*(?:\x07|\x1b\\)"
             rb"|[PX^_][^\x1b]*\x1b\\"
             rb"|[ -/]*[0-~])")
_SEQUENCE_RE = re.compile(_SEQUENCE)

# An escape sequence that has started but not ended when the data ends.
_UNFINISHED_RE = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[PX^_][^\x1b]*\x1b?"
                            rb"|[ -/]*)\Z")

# C0 controls a reader never sees (tab, newline and carriage return stay), and DEL.
_INVISIBLE = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])

# CSI finals that move the cursor to another line (or clear the screen to draw anew).
_LINE_MOVES = frozenset(b"ABEFHfdJ")


def split_unfinished(data: bytes) -> tuple[bytes, bytes]:
    """(complete part, unfinished escape sequence at the end) of `data`."""
    tail_start = data.rfind(b"\x1b", max(0, len(data) - MAX_CARRY_BYTES))
    if tail_start < 0:
        return data, b""
    found = _UNFINISHED_RE.search(data, max(0, len(data) - MAX_CARRY_BYTES))
    if found is None:
        return data, b""
    return data[:found.start()], data[found.start():]


MAX_PARAM = 10_000
"""A CSI count is clamped here: no terminal is larger, and `ESC[99999999B` must not make a
hundred million rows (nor thousands of digits make int() raise)."""


def _first_param(params: bytes, default: int = 1) -> int:
    head = params.split(b";", 1)[0]
    if not head.isdigit():
        return default
    return MAX_PARAM if len(head) > 5 else min(int(head), MAX_PARAM)


def _replace_sequence(match: re.Match[bytes]) -> bytes:
    final = match.group(2)
    if final is None:
        return b""
    if final == b"C":
        return b" " * min(_first_param(match.group(1)), MAX_CURSOR_FORWARD)
    if final[0] in _LINE_MOVES and not match.group(1).startswith((b"?", b">", b"<", b"=")):
        return b"\n"
    return b""


class TextStripper:
    """bytes -> text with escape sequences and invisible controls removed (see module doc)."""

    def __init__(self) -> None:
        self._carry = b""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> str:
        if self._carry:
            data, self._carry = self._carry + data, b""
        if b"\x1b" in data:
            data, self._carry = split_unfinished(data)
            data = _SEQUENCE_RE.sub(_replace_sequence, data)
        data = data.translate(None, _INVISIBLE)
        return self._decoder.decode(data)

    def flush(self) -> str:
        """The end of the stream: whatever is still held (an unfinished sequence is dropped)."""
        self._carry = b""
        return self._decoder.decode(b"", final=True)


def strip_ansi(data: bytes | str) -> str:
    """One-shot TextStripper: `strip_ansi(b"\\x1b[1mbold\\x1b[0m")` -> 'bold'."""
    stripper = TextStripper()
    raw = data.encode() if isinstance(data, str) else data
    return stripper.feed(raw) + stripper.flush()


# -- lines ----------------------------------------------------------------------------------------

# Tokens of decoded text for the line model: an escape sequence or one control character.
_TOKEN_RE = re.compile(_SEQUENCE.decode("latin-1") + r"|[\x00-\x1f\x7f]")
_NEEDS_MODEL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")  # anything but "\n" and printable text


class LineCooker:
    """bytes -> lines as a person reads them, each given once it is final.

    A small model of a line-oriented terminal: rows of text and a cursor. Text overwrites at
    the cursor; CR goes to the start of the row, LF to the start of the next; backspace, erase in line
    (ESC[K), erase below (ESC[J) and cursor moves left, right and up act as on a terminal.
    A program that draws inline (Claude Code's prompt box, a spinner, a multi-line progress
    display) moves up and redraws the last rows: a row is final, and given out by `feed()`,
    once the cursor is further below it than the program has ever moved up (`reach`, which
    starts at `reach` and grows with the deepest upward move seen) - so a redrawn area shows
    up once, in its last state. A plain line printer never moves up: its lines are final at
    their newline. A full-screen clear or an absolute cursor move (a full-screen program, for
    which `screen()` is the right view) makes every row final.

    `pending` holds the rows that may still change; `flush()` ends the stream and gives them
    out too. Lines have no terminator and no trailing whitespace.
    """

    def __init__(self, reach: int = 0):
        self.reach = reach
        self._carry = b""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._rows = [""]
        self._row = 0
        self._col = 0

    @property
    def pending(self) -> list[str]:
        """The rows that are not final yet (trailing blank rows left out)."""
        rows = [row.rstrip() for row in self._rows]
        while rows and not rows[-1]:
            rows.pop()
        return rows

    def feed(self, data: bytes) -> list[str]:
        if self._carry:
            data, self._carry = self._carry + data, b""
        if b"\x1b" in data:
            data, self._carry = split_unfinished(data)
        text = self._decoder.decode(data)
        lines: list[str] = []
        plain = text.replace("\r\n", "\n") if "\r\n" in text else text
        if (self.reach == 0 and self._row == len(self._rows) - 1
                and self._col == len(self._rows[-1]) and not _NEEDS_MODEL.search(plain)):
            self._plain(plain, lines)  # the common case: lines of text, written at the end
        else:
            self._model(text, lines)
        self._commit(lines)
        return lines

    def flush(self) -> list[str]:
        lines: list[str] = []
        self._carry = b""
        self._model(self._decoder.decode(b"", final=True), lines)
        lines.extend(self.pending)
        self._rows, self._row, self._col = [""], 0, 0
        return lines

    def _plain(self, text: str, lines: list[str]) -> None:
        parts = text.split("\n")
        if len(parts) == 1:
            self._rows[-1] += text
        else:
            lines.append((self._rows[-1] + parts[0]).rstrip())
            lines.extend(part.rstrip() for part in parts[1:-1])
            self._rows[-1] = parts[-1]
        self._col = len(self._rows[-1])

    def _commit(self, lines: list[str]) -> None:
        """Give out the rows the cursor can no longer reach."""
        final = self._row - self.reach
        if final > 0:
            lines.extend(row.rstrip() for row in self._rows[:final])
            del self._rows[:final]
            self._row -= final

    def _commit_all(self, lines: list[str]) -> None:
        lines.extend(self.pending)
        self._rows, self._row = [""], 0

    def _write(self, run: str) -> None:
        line, col = self._rows[self._row], self._col
        if col == len(line):
            line += run
        elif col > len(line):
            line += " " * (col - len(line)) + run
        else:
            line = line[:col] + run + line[col + len(run):]
        self._rows[self._row] = line
        self._col = col + len(run)

    def _down(self, n: int) -> None:
        self._row += n
        while self._row >= len(self._rows):
            self._rows.append("")

    def _up(self, n: int) -> None:
        # The depth the program meant to reach, even where the rows were given out already
        # (before its first upward move, nothing was kept back): from now on, they will be.
        self.reach = max(self.reach, len(self._rows) - 1 - self._row + n)
        self._row = max(0, self._row - n)

    def _model(self, text: str, lines: list[str]) -> None:
        pos = 0
        for token in _TOKEN_RE.finditer(text):
            if token.start() > pos:
                self._write(text[pos:token.start()])
            pos = token.end()
            char = token.group(0)
            if char in "\n\x0b\x0c":
                self._down(1)
                self._col = 0  # as the tty's ONLCR does: a bare LF reads as a new line
                if self.reach == 0:
                    self._commit(lines)
            elif char == "\r":
                self._col = 0
            elif char == "\x08":
                self._col = max(0, self._col - 1)
            elif char == "\t":
                self._write("\t")
            elif token.group(2) is not None:
                self._csi(token.group(1), token.group(2), lines)
        if pos < len(text):
            self._write(text[pos:])

    def _csi(self, params: str, final: str, lines: list[str]) -> None:
        if params[:1] in ("?", ">", "<", "="):
            return  # private modes and queries: nothing a reader sees
        n = max(1, _first_param(params.encode(), 1))
        if final == "K":  # erase in line: 0 to the end, 1 to the start, 2 all
            mode, line = _first_param(params.encode(), 0), self._rows[self._row]
            if mode == 0:
                self._rows[self._row] = line[:self._col]
            elif mode == 1:
                self._rows[self._row] = " " * min(self._col + 1, len(line)) + line[self._col + 1:]
            else:
                self._rows[self._row] = ""
        elif final == "J":
            mode = _first_param(params.encode(), 0)
            if mode == 0:  # erase below: what a redraw clears before drawing again
                self._rows[self._row] = self._rows[self._row][:self._col]
                del self._rows[self._row + 1:]
            elif mode in (2, 3):
                self._commit_all(lines)
        elif final == "A":
            self._up(n)
        elif final == "F":
            self._up(n)
            self._col = 0
        elif final == "B":
            self._down(n)
        elif final == "E":
            self._down(n)
            self._col = 0
        elif final == "C":
            self._col += min(n, MAX_CURSOR_FORWARD)
        elif final == "D":
            self._col = max(0, self._col - n)
        elif final == "G":
            self._col = n - 1
        elif final in "Hfd":
            # An absolute move: a full-screen program; every row drawn so far is final.
            self._commit_all(lines)
            if final != "d":
                parts = params.split(";")
                self._col = max(0, _first_param(parts[1].encode(), 1) - 1) if len(parts) > 1 \
                    else 0
