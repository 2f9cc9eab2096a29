"""CSV records from lines read in separate blocks: where each record starts, and its line.

The Spark engine reads a CSV file as text lines, split at ``\\n`` only (a ``\\r`` stays
in its line), in *blocks*: the file splits that Spark's tasks read one by one (a
``.gz`` file is one block). A record is one line, unless a quoted value holds a line
break; and every row must get the line that the in-process engine gives it: the line
where it starts, as an editor numbers lines (see :mod:`tiktok_claims.data.csv_lines`;
blank lines are not rows). This module follows pyarrow's CSV parser (RFC 4180 quoting)
one line at a time, with the same line walk as the in-process engine
(:func:`~tiktok_claims.data.csv_lines.walk_lines`), without a global sort and without
holding more than a batch of lines:

* **Blocks.** :class:`BlockSummarizer` summarizes a block's lines for both entering
  states (exit state, whether a record starts in it) and counts its line breaks. The
  driver chains the summaries in file order, a prefix scan over a few numbers per block
  (:func:`plan_blocks`): each block's entering state, its first line's number, and the
  record still open at its start.
* **Records.** :class:`BlockWalker` then walks each block's lines: records that start
  and end inside the block are joined from their lines there, with their lines; the
  lines of a record that crosses a block boundary are *fragments*, keyed by the block
  where the record starts. Spark groups the fragments by key (the only shuffle, of those
  lines alone) and :func:`join_fragments` joins them in file order.
* **Parsing.** :func:`parse_records` gives pyarrow's reader, with the contract's options,
  records joined by ``\\n``, and checks that it found exactly the rows expected.

The same records, rows and lines come out for any split of the file into blocks and
batches; ``tests/test_scoring_contract.py`` checks this against the in-process reader on
hostile text (quoted line breaks, stray quotes, bare ``\\r``, blank lines, an unclosed
quote at the end of the file).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..data.csv_lines import BYTE_ORDER_MARK, LineStates, walk_lines
from .contract import BrokenRows, csv_convert_options, csv_parse_options


@dataclass(frozen=True)
class BlockSummary:
    """A block's lines summarized for both entering states (index 0: outside quotes, 1: inside).

    Attributes
    ----------
    block : int
        Where the block starts in the file (Spark's ``input_file_block_start``).
    exit_quoted : tuple of bool
        The state after the block's last line.
    starts : tuple of bool
        Whether a record starts in the block.
    breaks : int
        The line breaks in the block (the same in both states).
    """

    block: int
    exit_quoted: tuple[bool, bool]
    starts: tuple[bool, bool]
    breaks: int


def _starts_record(walk: LineStates) -> np.ndarray:
    """The lines where a record starts: entered outside quotes, and not blank."""
    return ~walk.quoted & (walk.starts > 0)


class BlockSummarizer:
    """Summarize one block from its lines, fed batch by batch in file order."""

    def __init__(self, block: int):
        self.block = block
        self._first_batch = True
        self._quoted = [False, True]
        self._starts = [False, False]
        self._breaks = 0

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
            self._starts[entering] |= bool(_starts_record(walk).any())
        self._breaks += int(walk.breaks.sum())

    def summary(self) -> BlockSummary:
        return BlockSummary(self.block, tuple(self._quoted), tuple(self._starts), self._breaks)


@dataclass(frozen=True)
class BlockPlan:
    """Where one block stands in the file (see :func:`plan_blocks`).

    Attributes
    ----------
    quoted : bool
        Its entering state.
    first_line : int
        The line number of its first line.
    open_record : int or None
        When ``quoted``: the key of the record it continues (the block where that record starts).
    """

    quoted: bool
    first_line: int
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
    quoted, first_line, open_record = False, 1, None
    for summary in sorted(summaries, key=lambda summary: summary.block):
        plans[summary.block] = BlockPlan(quoted, first_line, open_record if quoted else None)
        state = int(quoted)
        if summary.starts[state]:
            open_record = summary.block
        quoted, first_line = summary.exit_quoted[state], first_line + summary.breaks
    return FilePlan(plans, open_record if quoted else None)


@dataclass(frozen=True)
class Records:
    """Whole records joined from their lines, each followed by ``\\n``.

    Attributes
    ----------
    text : bytes
    positions : ndarray of int64
        The line where each row the text holds starts, in order.
    """

    text: bytes
    positions: np.ndarray


@dataclass(frozen=True)
class Fragment:
    """One line of a record that crosses a block boundary.

    ``key`` is the block where the record starts; ``(block, line)`` orders the lines;
    ``positions`` are the lines of the rows that start in it (on its first line, those
    of every row of its block's part of the record).
    """

    key: int
    block: int
    line: int
    text: bytes
    positions: tuple[int, ...]


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
        self._next_line = 1  # the number of the next line in the file
        self._quoted = False  # the state before the next line
        self._continuing = False  # lines continue a record that starts in an earlier block
        self._pending: list[bytes] = []  # the lines of the record in progress
        self._pending_positions: list[np.ndarray] = []
        self._pending_first_line = 0

    def feed(self, block: int, lines: pa.Array) -> tuple[list[Records], list[Fragment]]:
        """The records completed and the fragments found in these lines of ``block``."""
        records, fragments = self.finish() if block != self.block else ([], [])
        if block != self.block:
            plan = self.plan.blocks[block]
            self.block, self._line, self._quoted, self._next_line = block, 0, plan.quoted, plan.first_line
            self._continuing = plan.quoted
            lines = without_byte_order_mark(block, lines)
        walk = walk_lines(lines, self._quoted)
        texts = lines.to_pylist()
        positions = walk.start_lines(self._next_line)
        by_line = np.concatenate([[0], np.cumsum(walk.starts)])  # line i's rows: positions[by_line[i]:by_line[i + 1]]
        starts = np.flatnonzero(_starts_record(walk)).tolist()
        head = starts[0] if starts else len(texts)
        if self._continuing:
            key = self.plan.blocks[block].open_record
            fragments += [
                Fragment(key, block, self._line + i, texts[i], tuple(positions[by_line[i] : by_line[i + 1]].tolist()))
                for i in range(head)
            ]
        elif self._pending:  # lines before the first record start here belong to the record in progress
            self._pending += texts[:head]
            self._pending_positions.append(positions[: by_line[head]])
        if starts:
            self._continuing = False
            records += self._take_pending()
            last = starts[-1]
            if last > head:
                records.append(Records(_joined(texts[head:last]), positions[by_line[head] : by_line[last]]))
            self._pending, self._pending_positions = texts[last:], [positions[by_line[last] :]]
            self._pending_first_line = self._line + last
        self._line += len(texts)
        self._quoted, self._next_line = walk.exit_quoted, self._next_line + int(walk.breaks.sum())
        return records, fragments

    def finish(self) -> tuple[list[Records], list[Fragment]]:
        """At the end of the current block: its last record, complete or (still inside quotes) as fragments."""
        if not self._quoted:
            return self._take_pending(), []
        pending, positions = self._pending, np.concatenate([np.zeros(0, np.int64), *self._pending_positions])
        self._pending, self._pending_positions = [], []
        if not pending:
            return [], []
        # The record's first line carries the lines of the rows of this block's part.
        line, block = self._pending_first_line, self.block
        first = Fragment(block, block, line, pending[0], tuple(positions.tolist()))
        rest = [Fragment(block, block, line + offset, text, ()) for offset, text in enumerate(pending[1:], start=1)]
        return [], [first, *rest]

    def _take_pending(self) -> list[Records]:
        pending, parts = self._pending, self._pending_positions
        self._pending, self._pending_positions = [], []
        if not pending:
            return []
        return [Records(_joined(pending), np.concatenate([np.zeros(0, np.int64), *parts]))]


def join_fragments(key: int, positions: list[int], texts: list[bytes], plan: FilePlan, ends_with_newline: bool) -> Records:
    """One crossing record from its fragments (``texts`` and their ``positions`` in file order).

    The record a quote the file never closes leaves open ends with the file: its text
    ends with a line break only if the file does.
    """
    if key == plan.unclosed_record:
        text = b"\n".join(texts) + (b"\n" if ends_with_newline else b"")
    else:
        text = _joined(texts)
    return Records(text, np.asarray(positions, dtype=np.int64))


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


def _joined(texts: list[bytes]) -> bytes:
    return b"\n".join(texts) + b"\n"


def without_byte_order_mark(block: int, lines: pa.Array) -> pa.Array:
    """The lines, without the UTF-8 byte-order mark that may open the file (pyarrow skips it)."""
    if block != 0 or not len(lines) or not lines[0].as_py().startswith(BYTE_ORDER_MARK):
        return lines
    first = pa.array([lines[0].as_py()[len(BYTE_ORDER_MARK) :]], lines.type)
    return pa.concat_arrays([first, lines.slice(1)])

