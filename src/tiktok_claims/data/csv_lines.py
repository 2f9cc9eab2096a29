"""Where each CSV record starts in the file: its line, as a text editor numbers lines.

pyarrow's CSV parser (RFC 4180: a quoted value may hold line breaks; empty lines are
skipped) numbers *records*; people and editors number *lines*. The two differ after a
record whose quoted value holds a line break, after a blank line, and where a bare
``\\r`` ends a row. Every message and rejects file here names lines: line 1 is the
file's first line, and a line break is ``\\n``, ``\\r\\n`` or a bare ``\\r``. Blank lines
are not rows; they are counted and reported.

This module follows the parser's quoting rules one ``\\n``-line at a time:

* :func:`line_rows` walks one line entered inside a quoted value or not: a ``"`` opens
  a quoted value only at the start of a field (the start of a row, or after ``,`` or a
  bare ``\\r``); inside it, ``""`` is a quote and a lone ``"`` closes the value; any other
  ``"`` is text. It returns the line's exit state, the rows that end in it and where
  the rows that start in it start.
* :func:`walk_lines` does it for an array of lines, vectorized for the lines that hold
  no quote or one complete, well-formed record (nearly all of them).
* :class:`LineCount` counts line breaks as a file is read (cheap): when the file has as
  many lines as records, every line holds one record and record numbers are lines.
* :func:`record_lines` is the second pass for the other files: every record's line.

The Spark engine's reader (:mod:`tiktok_claims.scoring.csv_records`) walks lines with the
same functions, so both engines name the same lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .files import CSV_BLOCK_BYTES, CheckedText, LineCount

__all__ = ["LineCount", "LineStates", "RecordLines", "first_record_line", "line_rows", "record_lines", "split_lines", "walk_lines"]

BYTE_ORDER_MARK = b"\xef\xbb\xbf"
_FIELD_END = re.compile(rb"[,\r]")
# One complete record on one line, every quote where RFC 4180 puts it: entered outside
# quotes, such a line is one row starting at its first byte and leaves no value open.
_SIMPLE_RECORD = r'^(?:"(?:[^"]|"")*"|[^",\r]*)(?:,(?:"(?:[^"]|"")*"|[^",\r]*))*\r?$'


def line_rows(line: bytes, quoted: bool) -> tuple[bool, int, tuple[int, ...]]:
    """Follow pyarrow's parser through one line (without its ``\\n``) entered in the state ``quoted``.

    Returns
    -------
    (bool, int, tuple of int)
        Whether the line ends inside a quoted value; how many rows end in it (at a bare
        ``\\r`` outside quotes, and at the line's end outside quotes; an empty row, as
        in ``\\r\\r``, is a blank line, not a row); and for each row that starts in it,
        the number of bare ``\\r`` before its start (the line breaks inside the line).
    """
    body = len(line) - 1 if line.endswith(b"\r") else len(line)  # a final \r belongs to the line end
    ended, starts = 0, []
    at, at_field_start, in_row = 0, True, quoted

    def start_row() -> None:
        nonlocal in_row
        if not in_row:
            starts.append(line.count(b"\r", 0, at))
            in_row = True

    while True:
        if quoted:
            close = line.find(b'"', at)
            if close < 0:
                return True, ended, tuple(starts)
            if line[close + 1 : close + 2] == b'"':  # "" inside a quoted value
                at = close + 2
                continue
            quoted, at_field_start, at = False, False, close + 1
            continue
        if at_field_start and line[at : at + 1] == b'"':
            start_row()
            quoted, at = True, at + 1
            continue
        found = _FIELD_END.search(line, at, body)
        if found is None:
            if at < body:
                start_row()
            return False, ended + int(in_row), tuple(starts)
        if found.start() > at or found.group() == b",":
            start_row()
        at, at_field_start = found.end(), True
        if found.group() == b"\r":  # a bare \r ends the row
            ended += int(in_row)
            in_row = False


@dataclass(frozen=True)
class LineStates:
    """Lines walked from a given entering state.

    Attributes
    ----------
    quoted : ndarray of bool
        Each line's entering state (a record starts in a line entered outside quotes,
        unless the line is blank).
    rows : ndarray of int64
        Rows ending in each line.
    starts : ndarray of int64
        Rows starting in each line.
    offsets : dict of int to tuple
        For the lines where a row starts after a bare ``\\r``: each start's line breaks
        within the line (see :func:`line_rows`); elsewhere every start is at offset 0.
    breaks : ndarray of int64
        Line breaks each line ends with, its own bare ``\\r`` included (1 + their number).
    blank : int
        Blank lines entered outside quotes (skipped by the parser).
    exit_quoted : bool
        The state after the last line.
    """

    quoted: np.ndarray
    rows: np.ndarray
    starts: np.ndarray
    offsets: dict[int, tuple[int, ...]]
    breaks: np.ndarray
    blank: int
    exit_quoted: bool

    def start_lines(self, first_line: int, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """The line of each row starting in lines ``lo:hi``, the first line being ``first_line``."""
        hi = len(self.starts) if hi is None else hi
        numbers = first_line + np.concatenate([[0], np.cumsum(self.breaks[:hi])])[lo:hi]
        starts = self.starts[lo:hi]
        lines = np.repeat(numbers, starts)
        if self.offsets:
            before = np.concatenate([[0], np.cumsum(starts)])
            for index, offsets in self.offsets.items():
                if lo <= index < hi:
                    at = before[index - lo]
                    lines[at : at + len(offsets)] += np.asarray(offsets, dtype=np.int64)
        return lines


def walk_lines(lines: pa.Array, entering_quoted: bool) -> LineStates:
    """Walk ``lines`` (binary, without their ``\\n``), the first entered in the state ``entering_quoted``."""
    count = len(lines)
    has_quote = _filled(pc.match_substring(lines, '"'))
    returns = _numbers(pc.count_substring(lines, "\r"))
    final_return = _filled(pc.ends_with(lines, "\r"))
    bare = returns - final_return
    blank = _numbers(pc.binary_length(lines)) - final_return == 0
    rows = (~blank).astype(np.int64)
    starts = rows.copy()
    with_quote = np.flatnonzero(has_quote)
    simple = np.zeros(count, dtype=bool)
    if len(with_quote):
        simple[with_quote] = _filled(pc.match_substring_regex(lines.take(pa.array(with_quote)), _SIMPLE_RECORD))
    walked_always = np.flatnonzero((has_quote & ~simple) | (bare > 0))
    walked_inside = np.flatnonzero(has_quote | (bare > 0))  # entered inside quotes, a quote may close the value
    quoted = np.empty(count, dtype=bool)
    offsets: dict[int, tuple[int, ...]] = {}
    state, done = entering_quoted, 0
    while True:
        candidates = walked_inside if state else walked_always
        found = int(np.searchsorted(candidates, done))
        index = int(candidates[found]) if found < len(candidates) else count
        quoted[done : index + 1] = state
        if state:  # line breaks inside a quoted value are text
            rows[done:index] = starts[done:index] = 0
        if index == count:
            break
        state, rows[index], row_starts = line_rows(lines[index].as_py(), state)
        starts[index] = len(row_starts)
        if any(row_starts):
            offsets[index] = row_starts
        done = index + 1
    blank_outside = int(np.count_nonzero(blank & ~quoted))
    return LineStates(quoted, rows, starts, offsets, bare + 1, blank_outside, state)


@dataclass(frozen=True)
class RecordLines:
    """The line where each record starts (the header's first), and the blank lines skipped."""

    lines: np.ndarray
    blank: int

    def of(self, records) -> np.ndarray:
        """Lines of the records numbered ``records`` (pyarrow's numbers: the header is record 1)."""
        return self.lines[np.asarray(records, dtype=np.int64) - 1]


def record_lines(path: str | Path) -> RecordLines:
    """Every record's line, in a pass over the file (``.gz`` decompressed) one block at a time."""
    parts, blank = [], 0
    for walk, first_line in _walks(path):
        parts.append(walk.start_lines(first_line))
        blank += walk.blank
    return RecordLines(np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64), blank)


def first_record_line(path: str | Path) -> int:
    """The line of the file's first record, its header (the parser skips blank lines before it)."""
    for walk, first_line in _walks(path):
        lines = walk.start_lines(first_line)
        if len(lines):
            return int(lines[0])
    return 1


def _walks(path: str | Path) -> Iterator[tuple[LineStates, int]]:
    """The file's lines walked block by block, with the number of each block's first line."""
    state, next_line, carry, first = False, 1, b"", True
    with CheckedText(path, count_lines=False) as text:
        while True:
            block = text.read(CSV_BLOCK_BYTES)
            data = carry + block
            if first:
                data, first = data.removeprefix(BYTE_ORDER_MARK), False
            cut = data.rfind(b"\n") + 1 if block else len(data)
            complete, carry = data[:cut], data[cut:]
            if complete:
                walk = walk_lines(split_lines(complete), state)
                yield walk, next_line
                next_line += int(walk.breaks.sum())
                state = walk.exit_quoted
            if not block:
                return


def split_lines(data: bytes) -> pa.Array:
    """The lines of ``data`` (binary, without their ``\\n``); a last line without one counts."""
    if not data.endswith(b"\n"):
        data += b"\n"
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    offsets = np.concatenate([[0], ends + 1]).astype(np.int64)
    with_breaks = pa.Array.from_buffers(pa.large_binary(), len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    return pc.binary_slice(with_breaks, 0, -1)


def _filled(mask) -> np.ndarray:
    return mask.fill_null(False).to_numpy(zero_copy_only=False)


def _numbers(values) -> np.ndarray:
    return values.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
