"""Reading a backlog file chunk by chunk for the in-process engine, each row with its position.

A Parquet file is read ``chunk_rows`` rows at a time (positions: 1-based row numbers).
A CSV file (``.csv``, ``.csv.gz``) is parsed by pyarrow's streaming reader, serially so
that rows are numbered, with the contract's options
(:func:`~tiktok_claims.scoring.contract.csv_parse_options`): a quoted value may span
lines, blank lines are skipped (they are not rows), and rows without the header's number
of fields are set aside with their reasons
(:class:`~tiktok_claims.scoring.contract.BrokenRows`). While reading, a row's position is
its *record number* (the header is record 1); once the file is read,
:attr:`Source.line_map` tells the line where each record starts
(:mod:`tiktok_claims.data.csv_lines`): ``None`` when every line holds one record (then
record numbers are lines; counted as the file is read, at no cost), else a second pass
over the file gives every record's line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..artifact.model import LoadedModel
from ..data.csv_lines import RecordLines, record_lines
from ..data.files import CSV_BLOCK_BYTES, CheckedText
from ..data.load import FIRST_DATA_LINE
from ..errors import DataError
from .contract import (
    BrokenRows,
    canonical,
    check_input_types,
    csv_convert_options,
    csv_header,
    csv_parse_options,
    is_parquet,
    resolve_columns,
)


@dataclass
class Source:
    """Chunks of well-formed rows with their positions, and the broken rows found so far.

    Attributes
    ----------
    position : str
        ``"line"`` (CSV) or ``"row"`` (Parquet): the name of the rejects file's first column.
    chunks : iterator of (Table, ndarray)
        The model's inputs (canonical names) and each row's position.
    broken : list of (int, str)
        ``(line, reason)`` of each row the CSV reader set aside, in line order, as found
        while reading (lines up to the last chunk's end are complete).
    fraction : callable
        The share of the file read so far.
    rows_in_metadata : int or None
        The row count a Parquet file's metadata states.
    line_map : callable
        Once every chunk is drawn: ``None`` when positions are final, else the
        :class:`~tiktok_claims.data.csv_lines.RecordLines` that turn CSV record numbers into lines.
    """

    position: str
    chunks: Iterator[tuple[pa.Table, np.ndarray]]
    broken: list[tuple[int, str]]
    fraction: Callable[[], float]
    rows_in_metadata: int | None = None
    line_map: Callable[[], RecordLines | None] = lambda: None
    rows_delivered: int = 0
    bytes_read: int = 0


def open_source(path: Path, model: LoadedModel, chunk_rows: int) -> Source:
    """The file's chunks of at most ``chunk_rows`` rows (the file is read as they are drawn).

    Raises
    ------
    DataError
        If the file cannot be read, lacks a column the model needs or holds a column
        of a type the rules cannot check (here or while reading).
    """
    if is_parquet(path):
        return _parquet_source(path, model, chunk_rows)
    return _csv_source(path, model, chunk_rows)


def _parquet_source(path: Path, model: LoadedModel, chunk_rows: int) -> Source:
    try:
        # Without pre_buffer=False the reader keeps every row group's column data it has
        # read until the end of the file: memory would grow with the file.
        parquet = pq.ParquetFile(path, pre_buffer=False)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: cannot be read as Parquet ({exc}).") from None
    columns = resolve_columns(path, parquet.schema_arrow.names, model)
    check_input_types(path, parquet.schema_arrow, columns, model)
    total = parquet.metadata.num_rows
    source = Source("row", iter(()), [], lambda: 0.0, rows_in_metadata=total)

    def chunks() -> Iterator[tuple[pa.Table, np.ndarray]]:
        batches = parquet.iter_batches(batch_size=chunk_rows, columns=list(dict.fromkeys(columns.values())))
        try:
            for table in rechunked(batches, chunk_rows):
                start = source.rows_delivered
                source.rows_delivered += table.num_rows
                yield canonical(table, columns), np.arange(start + 1, start + 1 + table.num_rows)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path}: cannot be read as Parquet ({exc}).") from None

    source.chunks = chunks()
    source.fraction = lambda: source.rows_delivered / total if total else 1.0
    return source


def _csv_source(path: Path, model: LoadedModel, chunk_rows: int) -> Source:
    header = csv_header(path)
    columns = resolve_columns(path, header, model)
    file_columns = list(dict.fromkeys(columns.values()))
    text = CheckedText(path)
    broken = BrokenRows(len(header))
    source = Source("line", iter(()), broken.found, lambda: min(source.bytes_read / text.size, 1.0))
    read = pacsv.ReadOptions(use_threads=False, block_size=CSV_BLOCK_BYTES)  # serial: rows are numbered
    parse, convert = csv_parse_options(broken), csv_convert_options(file_columns)

    def chunks() -> Iterator[tuple[pa.Table, np.ndarray]]:
        try:
            with text, pacsv.open_csv(text, read_options=read, parse_options=parse, convert_options=convert) as reader:
                for table in rechunked(reader, chunk_rows):
                    # Line of the k-th well-formed row: k + FIRST_DATA_LINE + the broken rows before it.
                    # The j-th broken row precedes it when (its line - FIRST_DATA_LINE - j) <= k.
                    skipped = np.fromiter((line for line, _ in broken.found), dtype=np.int64, count=len(broken.found))
                    ordinals = np.arange(source.rows_delivered, source.rows_delivered + table.num_rows)
                    before = skipped - FIRST_DATA_LINE - np.arange(len(skipped))
                    lines = ordinals + FIRST_DATA_LINE + np.searchsorted(before, ordinals, side="right")
                    source.rows_delivered += table.num_rows
                    source.bytes_read = text.compressed_bytes_read
                    yield canonical(table, columns), lines
        except pa.ArrowInvalid as exc:
            raise CheckedText.refusal(path, exc) or DataError(f"{path}: cannot be read as CSV ({exc}).") from None
        except OSError as exc:
            raise DataError(f"{path}: cannot be read ({exc}); is the file compressed as its name says?") from None

    def line_map() -> RecordLines | None:
        records = 1 + source.rows_delivered + len(broken.found)  # the header is a record
        if text.lines.lines == records:
            return None
        lines = record_lines(path)
        if len(lines.lines) != records:
            raise RuntimeError(f"{path}: {len(lines.lines)} records found by line where the reader found {records}; this is a bug.")
        return lines

    source.chunks = chunks()
    source.line_map = line_map
    return source


def rechunked(batches, chunk_rows: int) -> Iterator[pa.Table]:
    """Tables of exactly ``chunk_rows`` rows (the last may be shorter) from any batches."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        pending.append(batch)
        held += batch.num_rows
        while held >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, chunk_rows)
            rest = table.slice(chunk_rows)
            # Empty slices still reference their batch's buffers: drop them, or chunks chain.
            pending, held = [batch for batch in rest.to_batches() if batch.num_rows], rest.num_rows
    if held:
        yield pa.Table.from_batches(pending)
