"""CSV records from lines read in separate blocks: where each record starts, and its line number.

The Spark engine reads a CSV file as text lines, split at ``\\n`` only (a ``\\r`` stays
in its line), in *blocks*: the file splits that Spark's tasks read one by one (a
``.gz`` file is one block). A record is one line, unless a quoted value holds a line
break; and every row must get the line number that the in-process engine gives it,
which is pyarrow's row number (the header is row 1, every record counts as one row, a
blank line is a row, a bare ``\\r`` outside quotes ends a row). This module therefore
follows pyarrow's CSV parser (RFC 4180 quoting) one line at a time, without a global
sort and without holding more than a batch of lines:

* **Lines.** A ``"`` opens a quoted value only at the start of a field (the start of a
  row, or after ``,`` or a bare ``\\r``); inside it, ``""`` is a quote and a lone ``"``
  closes the value; any other ``"`` is text. Whether a line starts inside a quoted value
  is its *entering state*. Given it, :func:`line_rows` scans the line's quotes and
  returns its exit state and how many rows end in it. A line without a quote keeps the
  state; those lines (nearly all) are handled vectorized.
* **Blocks.** :func:`summarize_block` summarizes a block's lines for both entering
  states (exit state, rows ended, whether a record starts in it). The driver chains the
  summaries in file order, a prefix scan over a few numbers per block
  (:func:`plan_blocks`): each block's entering state, the number of its first row, and
  the record still open at its start.
* **Records.** :func:`walk_block` then walks each block's lines: a record that starts
  and ends inside the block is joined from its lines there, with its row number; the
  lines of a record that crosses a block boundary are *fragments*, keyed by the block
  where the record starts. Spark groups the fragments by key (the only shuffle, of those
  lines alone) and :func:`join_fragments` joins them in file order.
* **Parsing.** :func:`parse_records` gives pyarrow's reader, with the contract's options,
  records joined by ``\\n``, and checks that it found exactly the rows expected.

The same records, rows and row numbers come out for any split of the file into blocks
and batches; ``tests/test_scoring_contract.py`` checks this against pyarrow's reader on
hostile text (quoted line breaks, stray quotes, bare ``\\r``, blank lines, an unclosed
quote at the end of the file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .contract import BrokenRows, csv_convert_options, csv_parse_options

BYTE_ORDER_MARK = b"\xef\xbb\xbf"
_FIELD_END = re.compile(rb"[,\r]")


def line_rows(line: bytes, quoted: bool) -> tuple[bool, int]:
    """Follow pyarrow's parser through one line (without its ``\\n``) entered in the state ``quoted``.

    Returns
    -------
    (bool, int)
        Whether the line ends inside a quoted value, and how many rows end in it: one at
        each bare ``\\r`` outside quotes, and one at the line's end outside quotes (a
        final ``\\r`` belongs to that line end).
    """
    rows, at, at_field_start = 0, 0, True
    while True:
        if quoted:
            close = line.find(b'"', at)
            if close < 0:
                return True, rows
            if line[close + 1 : close + 2] == b'"':  # "" inside a quoted value
                at = close + 2
                continue
            quoted, at_field_start, at = False, False, close + 1
            continue
        if at_field_start and line[at : at + 1] == b'"':
            quoted, at = True, at + 1
            continue
        found = _FIELD_END.search(line, at)
        if found is None:
            return False, rows + 1
        at, at_field_start = found.end(), True
        if found.group() == b"\r":
            if at == len(line):
                return False, rows + 1
            rows += 1


@dataclass(frozen=True)
class LineStates:
    """A block's lines walked from a given entering state.

    Attributes
    ----------
    quoted : ndarray of bool
        Each line's entering state (a record starts at each line entered outside quotes).
    rows : ndarray of int64
        Rows ending in each line.
    exit_quoted : bool
        The state after the last line.
    """

    quoted: np.ndarray
    rows: np.ndarray
    exit_quoted: bool


def walk_lines(lines: pa.Array, entering_quoted: bool) -> LineStates:
    """Entering states and rows of ``lines`` (binary), the first entered in ``entering_quoted``."""
    count = len(lines)
    with_quote = np.flatnonzero(_filled(pc.match_substring(lines, '"')))
    carriage_returns = pc.count_substring(lines, "\r").to_numpy(zero_copy_only=False).astype(np.int64)
    final_return = _filled(pc.ends_with(lines, "\r"))
    # A line without a quote, entered outside quotes, ends a row at each bare \r and at its end.
    rows = carriage_returns - final_return + 1
    quoted = np.empty(count, dtype=bool)
    state, done = entering_quoted, 0
    for index in with_quote.tolist():
        quoted[done : index + 1] = state
        state, rows[index] = line_rows(lines[index].as_py(), state)
        done = index + 1
    quoted[done:] = state
    plain = np.ones(count, dtype=bool)
    plain[with_quote] = False
    rows[plain & quoted] = 0  # inside a quoted value, line breaks are text
    return LineStates(quoted, rows, state)


@dataclass(frozen=True)
class BlockSummary:
    """A block's lines summarized for both entering states (index 0: outside quotes, 1: inside).

    Attributes
    ----------
    block : int
        Where the block starts in the file (Spark's ``input_file_block_start``).
    exit_quoted : tuple of bool
        The state after the block's last line.
    rows : tuple of int
        Rows ending in the block.
    starts : tuple of bool
        Whether a record starts in the block.
    """

    block: int
    exit_quoted: tuple[bool, bool]
    rows: tuple[int, int]
    starts: tuple[bool, bool]


class BlockSummarizer:
    """Summarize one block from its lines, fed batch by batch in file order."""

    def __init__(self, block: int):
        self.block = block
        self._first_batch = True
        self._quoted = [False, True]
        self._rows = [0, 0]
        self._starts = [False, False]

    def feed(self, lines: pa.Array) -> None:
        if self._first_batch:
            lines, self._first_batch = without_byte_order_mark(self.block, lines), False
        walks: dict[bool, LineStates] = {}
        for entering in (0, 1):
            state = self._quoted[entering]
            if state not in walks:  # once both walks reach one state, they coincide
                walks[state] = walk_lines(lines, state)
            walk = walks[state]
            self._quoted[entering] = walk.exit_quoted
            self._rows[entering] += int(walk.rows.sum())
            self._starts[entering] |= bool((~walk.quoted).any())

    def summary(self) -> BlockSummary:
        return BlockSummary(self.block, tuple(self._quoted), tuple(self._rows), tuple(self._starts))


@dataclass(frozen=True)
class BlockPlan:
    """Where one block stands in the file (see :func:`plan_blocks`).

    Attributes
    ----------
    quoted : bool
        Its entering state.
    rows_before : int
        Rows ending before it.
    open_record : int or None
        When ``quoted``: the key of the record it continues (the block where that record starts).
    """

    quoted: bool
    rows_before: int
    open_record: int | None


@dataclass(frozen=True)
class FilePlan:
    """Every block's :class:`BlockPlan`, and the record a quote the file never closes leaves open.

    Attributes
    ----------
    blocks : dict of int to BlockPlan
    unclosed_record : int or None
        The key of the last record when the file ends inside a quoted value (pyarrow
        ends that row at the end of the file).
    """

    blocks: dict[int, BlockPlan]
    unclosed_record: int | None


def plan_blocks(summaries: list[BlockSummary]) -> FilePlan:
    """Chain the blocks' summaries in file order: the prefix scan that places every block."""
    plans = {}
    quoted, rows_before, open_record = False, 0, None
    for summary in sorted(summaries, key=lambda summary: summary.block):
        plans[summary.block] = BlockPlan(quoted, rows_before, open_record if quoted else None)
        state = int(quoted)
        if summary.starts[state]:
            open_record = summary.block
        quoted, rows_before = summary.exit_quoted[state], rows_before + summary.rows[state]
    return FilePlan(plans, open_record if quoted else None)


@dataclass(frozen=True)
class Records:
    """Whole records joined from their lines, each followed by ``\\n``.

    Attributes
    ----------
    text : bytes
    positions : ndarray of int64
        The number of each row the text holds, in order.
    """

    text: bytes
    positions: np.ndarray


@dataclass(frozen=True)
class Fragment:
    """One line of a record that crosses a block boundary.

    ``key`` is the block where the record starts; ``(block, line)`` orders the lines;
    ``first_row`` (the number of the record's first row) is known on its first line only.
    """

    key: int
    block: int
    line: int
    text: bytes
    rows: int
    first_row: int | None


class BlockWalker:
    """The records and fragments of one task's lines, fed in file order, block after block.

    Lines of one block arrive contiguously (in one or several batches); the record in
    progress is carried from batch to batch, and at the block's end (:meth:`finish`)
    it is complete, or else a fragment.
    """

    def __init__(self, plan: FilePlan):
        self.plan = plan
        self.block: int | None = None
        self._line = 0  # lines of the block seen so far
        self._quoted = False  # the state before the next line
        self._rows_done = 0  # rows ending before the next line
        self._continuing = False  # lines continue a record that starts in an earlier block
        self._pending: list[bytes] = []  # the lines of the record in progress
        self._pending_first_row = 0
        self._pending_first_line = 0
        self._pending_rows = 0

    def feed(self, block: int, lines: pa.Array) -> tuple[list[Records], list[Fragment]]:
        """The records completed and the fragments found in these lines of ``block``."""
        records, fragments = self.finish() if block != self.block else ([], [])
        if block != self.block:
            plan = self.plan.blocks[block]
            self.block, self._line, self._quoted, self._rows_done = block, 0, plan.quoted, plan.rows_before
            self._continuing = plan.quoted
            lines = without_byte_order_mark(block, lines)
        walk = walk_lines(lines, self._quoted)
        texts = lines.to_pylist()
        rows_before = self._rows_done + np.concatenate([[0], np.cumsum(walk.rows)])
        starts = np.flatnonzero(~walk.quoted).tolist()
        head = starts[0] if starts else len(texts)
        if self._continuing:
            key = self.plan.blocks[block].open_record
            fragments += [Fragment(key, block, self._line + i, texts[i], int(walk.rows[i]), None) for i in range(head)]
        else:
            self._pending += texts[:head]
            self._pending_rows += int(walk.rows[:head].sum())
        if starts:
            self._continuing = False
            if self._pending:
                records.append(_joined(self._pending, self._pending_first_row, self._pending_rows))
            last = starts[-1]
            if last > head:
                rows = int(rows_before[last] - rows_before[head])
                records.append(_joined(texts[head:last], int(rows_before[head]) + 1, rows))
            self._pending, self._pending_rows = texts[last:], int(walk.rows[last:].sum())
            self._pending_first_row, self._pending_first_line = int(rows_before[last]) + 1, self._line + last
        self._line += len(texts)
        self._quoted, self._rows_done = walk.exit_quoted, int(rows_before[-1])
        return records, fragments

    def finish(self) -> tuple[list[Records], list[Fragment]]:
        """At the end of the current block: its last record, complete or (still inside quotes) as fragments."""
        pending, self._pending = self._pending, []
        if not pending:
            return [], []
        if not self._quoted:
            return [_joined(pending, self._pending_first_row, self._pending_rows)], []
        # The record's first line carries its first row's number and the rows ended in this block.
        line, block = self._pending_first_line, self.block
        first = Fragment(block, block, line, pending[0], self._pending_rows, self._pending_first_row)
        rest = [Fragment(block, block, line + offset, text, 0, None) for offset, text in enumerate(pending[1:], start=1)]
        return [], [first, *rest]


def join_fragments(
    key: int, first_row: int, rows: int, texts: list[bytes], plan: FilePlan, ends_with_newline: bool
) -> Records:
    """One crossing record from its fragments (``texts`` in file order, ``rows`` their sum).

    The record a quote the file never closes leaves open ends with the file: its row
    ends there, and its text ends with a line break only if the file does.
    """
    if key == plan.unclosed_record:
        text = b"\n".join(texts) + (b"\n" if ends_with_newline else b"")
        return Records(text, np.arange(first_row, first_row + rows + 1, dtype=np.int64))
    return _joined(texts, first_row, rows)


def parse_records(
    records: Records, header: list[str], file_columns: list[str]
) -> tuple[pa.Table, np.ndarray, list[tuple[int, str]]]:
    """Parse records as the in-process engine's reader does.

    Returns
    -------
    (Table, ndarray, list)
        The rows read (the columns ``file_columns``, as text), their positions, and
        ``(position, reason)`` of each broken row (see :class:`~tiktok_claims.scoring.contract.BrokenRows`).

    Raises
    ------
    pyarrow.ArrowInvalid
        If the text cannot be parsed (e.g. it is not UTF-8).
    RuntimeError
        If the text does not hold exactly one row per position: a bug.
    """
    broken = BrokenRows(len(header))
    table = pacsv.read_csv(
        pa.py_buffer(records.text),
        # One block holds the records whole, however long a transcript is.
        read_options=pacsv.ReadOptions(use_threads=False, column_names=header, block_size=max(len(records.text), 1 << 20) + 1),
        parse_options=csv_parse_options(broken),
        convert_options=csv_convert_options(file_columns),
    )
    positions = records.positions
    if table.num_rows + len(broken.found) != len(positions):
        raise RuntimeError(
            f"{table.num_rows + len(broken.found)} rows parsed where {len(positions)} were expected "
            f"(rows {positions[0]}..{positions[-1]}); this is a bug."
        )
    skipped = np.array([number - 1 for number, _ in broken.found], dtype=np.int64)
    parsed = np.ones(len(positions), dtype=bool)
    parsed[skipped] = False
    broken_rows = [(int(positions[index]), reason) for index, (_, reason) in zip(skipped, broken.found)]
    return table, positions[parsed], broken_rows


def _joined(texts: list[bytes], first_row: int, rows: int) -> Records:
    return Records(b"\n".join(texts) + b"\n", np.arange(first_row, first_row + rows, dtype=np.int64))


def without_byte_order_mark(block: int, lines: pa.Array) -> pa.Array:
    """The lines, without the UTF-8 byte-order mark that may open the file (pyarrow skips it)."""
    if block != 0 or not len(lines) or not lines[0].as_py().startswith(BYTE_ORDER_MARK):
        return lines
    first = pa.array([lines[0].as_py()[len(BYTE_ORDER_MARK) :]], lines.type)
    return pa.concat_arrays([first, lines.slice(1)])


def _filled(mask) -> np.ndarray:
    return mask.fill_null(False).to_numpy(zero_copy_only=False)
