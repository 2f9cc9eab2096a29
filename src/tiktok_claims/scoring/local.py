"""Score a backlog file in bounded memory: every row is either scored or rejected with its reason.

:func:`score_file` reads a CSV (``.csv``, ``.csv.gz``) or Parquet file chunk by chunk,
checks every row against the model's inputs (``#``, ``video_id`` and the predictors,
with the per-value rules of :func:`tiktok_claims.data.rules.check_values`), and writes

* the **scored** CSV: ``#``, ``video_id``, ``probability`` (of the model's positive
  class), ``predicted_label`` (the positive class when the probability is at or above
  the model's threshold) and ``priority_rank`` (1 = highest probability; ties keep
  input order, so ranks are exactly 1..n over the whole file);
* the **rejects** CSV: ``line`` (CSV: the line in the file, header = line 1, one line
  per record as in :mod:`tiktok_claims.data.load`) or ``row`` (Parquet: 1-based row),
  ``#`` and ``video_id`` as given, and the ``reason`` (e.g. ``"video_view_count:
  negative"``; several problems are joined by ``"; "``). Lines with the wrong number of
  fields, rows a spreadsheet re-quoted into one field and empty rows are rejects too.

Accounting: ``rows read = rows scored + rows rejected`` is checked at the end (a
mismatch raises, and neither output file is then left behind: both are written under
a temporary name and renamed only on success). For Parquet, rows read must also
equal the row count in the file's metadata.

Bounded memory (an external merge sort). Pass 1 reads ``chunk_rows`` rows at a time;
``WORKERS`` threads check and score chunks while the main thread reads the next one and,
in input order, writes each chunk's rejects and its scored rows sorted by priority as a
*run* to a temporary binary file (and, unless ``sort``, the scored rows in input order to
another). Pass 2 merges the runs block by block (a block per run, ``MERGE_CHUNKS``
chunks' worth of records in all): each step emits every record not after the smallest
of the blocks' last keys (nothing still on disk can precede it), sorted with numpy; the
position in the merged stream is the rank. With ``sort``, merged blocks are encoded by
the workers and written straight to the output. Without it, each (row, rank) pair is
appended to the temporary file of its input chunk, and pass 3 reads the chunks back in
input order, places their ranks, and the workers encode them. Memory is O(``chunk_rows``)
at every step, whatever the file size; the temporary files (about 40 bytes per scored
row) sit beside the output and are deleted at the end.

Output safety: every text cell of both CSV files goes through :func:`tiktok_claims.escaping.neutralize`, the
rule of :mod:`tiktok_claims.escaping` vectorized (a leading ``'`` before ``=``, ``+``,
``-``, ``@``, tab or carriage return); numbers are written as numbers and never changed.
"""

from __future__ import annotations

import operator
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .. import config
from ..artifact.model import LoadedModel
from ..artifact.store import load_model
from ..data.load import FIRST_DATA_LINE
from ..data.rules import broken_row_reason, check_rows
from ..errors import DataError
from ..escaping import neutralize

Progress = Callable[[str, float, int], None]
"""``progress(stage, fraction_done, rows)``: stage ``"Scoring"``, ``"Ranking"`` or ``"Writing"``."""

SCORED_COLUMNS = (config.ID_COLUMN, config.VIDEO_ID, "probability", "predicted_label", "priority_rank")
REJECT_REASON_COLUMN = "reason"
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_BLOCK_BYTES = 1 << 20
# The merge holds one block per run: MERGE_CHUNKS chunks' worth of records in all (16 or
# 32 bytes each; pass 1's memory is free by then), and at least MERGE_BLOCK_MIN per run.
MERGE_CHUNKS = 4
MERGE_BLOCK_MIN = 1024
REPORTED_REASONS = 5
# Chunks checked, scored or encoded at once by worker threads (numpy and pyarrow release
# the GIL) while the main thread reads the next chunk and writes the finished ones in
# order. Memory holds about WORKERS + 2 chunks.
WORKERS = 2

# Temporary records: a run holds scored rows in priority order; "key" is the bitwise
# complement of the probability's IEEE-754 bits, which orders non-negative floats from
# highest to lowest as unsigned integers.
RUN = np.dtype([("key", "<u8"), ("ordinal", "<i8")])
SORTED_RUN = np.dtype([("key", "<u8"), ("ordinal", "<i8"), ("id", "<i8"), ("video_id", "<i8")])
SCORED = np.dtype([("id", "<i8"), ("video_id", "<i8"), ("probability", "<f8")])
RANKED = np.dtype([("ordinal", "<i8"), ("rank", "<i8")])


@dataclass(frozen=True)
class ScoringResult:
    """The accounting of one :func:`score_file` run.

    Attributes
    ----------
    source, out, rejects : str, Path, Path
        The input file and the two files written.
    rows_read, rows_scored : int
        Every row of the input (including broken lines), and those scored.
    rejected : dict of str to int
        Rows rejected, by reason, most frequent first.
    predicted_positive : int
        Scored rows predicted as ``positive_class`` (probability >= ``threshold``).
    positive_class, threshold : str, float
        From the model.
    sorted : bool
        Whether the scored rows are in priority order (else input order).
    seconds : float
        Wall time.
    """

    source: str
    out: Path
    rejects: Path
    rows_read: int
    rows_scored: int
    rejected: dict[str, int]
    predicted_positive: int
    positive_class: str
    threshold: float
    sorted: bool
    seconds: float

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    def summary(self) -> str:
        """One paragraph: rows read = scored + rejected (per reason), and the speed."""
        reasons = list(self.rejected.items())
        shown = " | ".join(f"{n:,} × {reason}" for reason, n in reasons[:REPORTED_REASONS])
        if len(reasons) > REPORTED_REASONS:
            shown += f" | and {len(reasons) - REPORTED_REASONS} other reason(s)"
        rate = self.rows_read / self.seconds if self.seconds > 0 else float("inf")
        order = "in priority order" if self.sorted else "in input order"
        return (
            f"{self.source}: {self.rows_read:,} rows read = {self.rows_scored:,} scored + "
            f"{self.rows_rejected:,} rejected{f' ({shown})' if shown else ''}. "
            f"Scored rows ({order}; priority rank 1 = highest probability of '{self.positive_class}'; "
            f"{self.predicted_positive:,} at or above the threshold {self.threshold:.4f}): {self.out}. "
            f"Rejected rows with their reasons: {self.rejects}. "
            f"{self.seconds:.1f} s, {rate:,.0f} rows/s."
        )


def score_file(
    model_path: str | Path,
    data_path: str | Path,
    out_path: str | Path,
    *,
    rejects: str | Path | None = None,
    sort: bool = False,
    chunk_rows: int = 500_000,
    progress: Progress | None = None,
) -> ScoringResult:
    """Score every row of a backlog file, or reject it with its reason.

    Parameters
    ----------
    model_path : str or Path
        A ``model.json`` written by ``run``.
    data_path : str or Path
        CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) with at least the
        model's input columns (``tiktok-claims``' header spellings, e.g. ``id`` for
        ``#``, are accepted); other columns are ignored.
    out_path : str or Path
        The scored CSV (gzip-compressed if the name ends in ``.gz``).
    rejects : str or Path, optional
        The rejects CSV. Default: ``<out name without .csv>_rejects.csv`` beside it.
    sort : bool
        Write scored rows by priority (rank 1 first) instead of input order.
    chunk_rows : int
        Rows read, checked and scored at a time, at least 1. Memory holds about
        ``WORKERS + 2`` chunks (about 650 MB at the default).
    progress : callable, optional
        Called as ``progress(stage, fraction_done, rows)`` while working.

    Returns
    -------
    ScoringResult
        The accounting; ``summary()`` gives it as one paragraph.

    Raises
    ------
    ModelFileError
        If the model file is refused (see :func:`tiktok_claims.artifact.store.load_model`).
    DataError
        If the data file is missing or unreadable, lacks a column the model needs,
        or an output path would overwrite an input.

    Examples
    --------
    >>> result = score_file("out/model.json", "backlog.csv", "scored.csv")  # doctest: +SKIP
    >>> result.rows_read == result.rows_scored + result.rows_rejected  # doctest: +SKIP
    True
    """
    started = time.perf_counter()
    chunk_rows = operator.index(chunk_rows)
    if chunk_rows < 1:
        raise DataError(f"chunk_rows must be at least 1; got {chunk_rows}.")
    model = load_model(model_path)
    data_path, out_path = Path(data_path), Path(out_path)
    rejects_path = Path(rejects) if rejects is not None else default_rejects(out_path)
    check_paths(Path(model_path), data_path, out_path, rejects_path)
    say = progress or (lambda stage, fraction, rows: None)

    source = _open_source(data_path, model, chunk_rows)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    rejects_path.parent.mkdir(parents=True, exist_ok=True)
    partial_out = out_path.with_name(out_path.name + ".partial")
    partial_rejects = rejects_path.with_name(rejects_path.name + ".partial")
    try:
        with (
            tempfile.TemporaryDirectory(prefix=".tiktok-claims-score-", dir=out_path.parent) as scratch,
            ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="tiktok-claims-score") as pool,
        ):
            with _CsvOut(partial_rejects, _rejects_schema(source.position)) as rejects_out:
                first = _first_pass(model, source, rejects_out, Path(scratch), sort, pool, say)
            with _CsvOut(partial_out, _scored_schema(), quoting="none") as scored_out:
                ranked = _write_scored(model, first, scored_out, Path(scratch), sort, chunk_rows, pool, say)
        _check_accounting(source, first, ranked)
        partial_rejects.replace(rejects_path)
        partial_out.replace(out_path)
    finally:
        partial_out.unlink(missing_ok=True)
        partial_rejects.unlink(missing_ok=True)
    return ScoringResult(
        source=str(data_path),
        out=out_path,
        rejects=rejects_path,
        rows_read=first.rows_read,
        rows_scored=first.rows_scored,
        rejected=dict(first.reasons.most_common()),
        predicted_positive=first.predicted_positive,
        positive_class=model.positive_class,
        threshold=model.threshold,
        sorted=sort,
        seconds=time.perf_counter() - started,
    )


def default_rejects(out_path: Path) -> Path:
    name = out_path.name
    for suffix in (".csv.gz", ".csv"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return out_path.with_name(f"{name}_rejects.csv")


def check_paths(model_path: Path, data_path: Path, out_path: Path, rejects_path: Path) -> None:
    if not data_path.is_file():
        raise DataError(f"{data_path}: no such file.")
    inputs = {model_path.resolve(): "the model", data_path.resolve(): "the data"}
    for path, what in ((out_path, "the scored output"), (rejects_path, "the rejects output")):
        if path.resolve() in inputs:
            raise DataError(f"{path}: {what} would overwrite {inputs[path.resolve()]}; choose another file.")
    if out_path.resolve() == rejects_path.resolve():
        raise DataError(f"{out_path}: the scored and rejects outputs must be different files.")


# ------------------------------------------------------------------------------ reading


@dataclass
class _Source:
    """Chunks of well-formed rows with their positions, and the broken lines found so far."""

    position: str  # "line" (CSV) or "row" (Parquet)
    chunks: Iterator[tuple[pa.Table, np.ndarray]]
    broken: list[tuple[int, str]]  # (line, reason), in line order
    fraction: Callable[[], float]
    rows_in_metadata: int | None = None
    rows_delivered: int = 0
    bytes_read: int = 0


def _open_source(path: Path, model: LoadedModel, chunk_rows: int) -> _Source:
    if path.name.lower().endswith(PARQUET_SUFFIXES):
        return _parquet_source(path, model, chunk_rows)
    return _csv_source(path, model, chunk_rows)


def resolve_columns(path: Path, found: list[str], model: LoadedModel) -> dict[str, str]:
    """File column name for each input the model needs (accepting the known aliases)."""
    aliases = {canonical: alias for alias, canonical in config.COLUMN_ALIASES.items()}
    resolved, missing = {}, []
    for spec in model.inputs:
        if spec.name in found:
            resolved[spec.name] = spec.name
        elif aliases.get(spec.name) in found:
            resolved[spec.name] = aliases[spec.name]
        else:
            missing.append(spec.name)
    if missing:
        shown = ", ".join(repr(c) for c in found[:15])
        raise DataError(
            f"{path}: missing column(s) {', '.join(repr(m) for m in missing)} that the model needs; "
            f"expected the columns {', '.join(repr(s.name) for s in model.inputs)}; found {shown}."
        )
    return resolved


def _parquet_source(path: Path, model: LoadedModel, chunk_rows: int) -> _Source:
    try:
        # Without pre_buffer=False the reader keeps every row group's column data it has
        # read until the end of the file: memory would grow with the file.
        parquet = pq.ParquetFile(path, pre_buffer=False)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: cannot be read as Parquet ({exc}).") from None
    columns = resolve_columns(path, parquet.schema_arrow.names, model)
    total = parquet.metadata.num_rows
    source = _Source("row", iter(()), [], lambda: 0.0, rows_in_metadata=total)

    def chunks() -> Iterator[tuple[pa.Table, np.ndarray]]:
        batches = parquet.iter_batches(batch_size=chunk_rows, columns=list(dict.fromkeys(columns.values())))
        try:
            for table in _rechunked(batches, chunk_rows):
                start = source.rows_delivered
                source.rows_delivered += table.num_rows
                yield _canonical(table, columns), np.arange(start + 1, start + 1 + table.num_rows)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path}: cannot be read as Parquet ({exc}).") from None

    source.chunks = chunks()
    source.fraction = lambda: source.rows_delivered / total if total else 1.0
    return source


def _csv_source(path: Path, model: LoadedModel, chunk_rows: int) -> _Source:
    header = csv_header(path)
    expected_fields = len(header)
    columns = resolve_columns(path, header, model)
    file_columns = list(dict.fromkeys(columns.values()))
    raw = pa.OSFile(str(path), "rb")
    size = max(raw.size(), 1)
    stream = pa.CompressedInputStream(raw, "gzip") if path.name.lower().endswith(".gz") else raw
    source = _Source("line", iter(()), [], lambda: min(source.bytes_read / size, 1.0))
    skipped_lines: list[int] = []

    def set_aside(row) -> str:
        if row.number is None:
            raise RuntimeError("pyarrow did not report the line of a broken row; read with use_threads=False.")
        skipped_lines.append(row.number)
        source.broken.append((row.number, broken_row_reason(row.text, row.actual_columns, expected_fields)))
        return "skip"

    read = pacsv.ReadOptions(use_threads=False, block_size=CSV_BLOCK_BYTES)  # serial: lines are known
    parse = pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=set_aside)
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in file_columns},
        include_columns=file_columns,
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )

    def chunks() -> Iterator[tuple[pa.Table, np.ndarray]]:
        try:
            with raw, stream, pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert) as reader:
                for table in _rechunked(reader, chunk_rows):
                    # Line of the k-th well-formed row: k + FIRST_DATA_LINE + the broken lines before it.
                    # The j-th broken line precedes it when (its line - FIRST_DATA_LINE - j) <= k.
                    ordinals = np.arange(source.rows_delivered, source.rows_delivered + table.num_rows)
                    before = np.asarray(skipped_lines, dtype=np.int64) - FIRST_DATA_LINE - np.arange(len(skipped_lines))
                    lines = ordinals + FIRST_DATA_LINE + np.searchsorted(before, ordinals, side="right")
                    source.rows_delivered += table.num_rows
                    source.bytes_read = raw.tell()
                    yield _canonical(table, columns), lines
        except pa.ArrowInvalid as exc:
            raise DataError(f"{path}: cannot be read as CSV ({exc}).") from None
        except OSError as exc:
            raise DataError(f"{path}: cannot be read ({exc}); is the file compressed as its name says?") from None

    source.chunks = chunks()
    return source


def csv_header(path: Path) -> list[str]:
    """The header's column names (reading only the first block)."""
    options = pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=lambda row: "skip")
    try:
        with pacsv.open_csv(path, read_options=pacsv.ReadOptions(use_threads=False), parse_options=options) as reader:
            return reader.schema.names
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            raise DataError(f"{path}: the file is empty; expected a CSV header and rows.") from None
        raise DataError(f"{path}: cannot be read as CSV ({exc}).") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}); is the file compressed as its name says?") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: this is not a CSV text file (it is not UTF-8 text).") from None


def _rechunked(batches, chunk_rows: int) -> Iterator[pa.Table]:
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


def _canonical(table: pa.Table, columns: dict[str, str]) -> pa.Table:
    return pa.table({name: table.column(file_name) for name, file_name in columns.items()})


# ------------------------------------------------------------------------------ pass 1


@dataclass(frozen=True)
class _Rejects:
    """Rejected rows: where they are, their identifiers as given, and why."""

    positions: np.ndarray
    ids: pa.Array
    video_ids: pa.Array
    reasons: np.ndarray  # of str

    @classmethod
    def broken_lines(cls, broken: list[tuple[int, str]]) -> _Rejects:
        """Lines the CSV reader set aside: no fields to echo."""
        blank = pa.nulls(len(broken), pa.string())
        reasons = np.array([reason for _, reason in broken], dtype=object)
        return cls(np.array([line for line, _ in broken], dtype=np.int64), blank, blank, reasons)


@dataclass(frozen=True)
class _ScoredChunk:
    """One chunk checked and scored (computed by a worker thread, written in order)."""

    rows: int
    rejects: _Rejects
    probability: np.ndarray  # of the good rows, in input order
    ids: np.ndarray
    video_ids: np.ndarray
    order: np.ndarray  # good rows (0-based) in priority order
    last_position: int


def _score_chunk(model: LoadedModel, table: pa.Table, positions: np.ndarray) -> _ScoredChunk:
    checked = check_rows(table, model.inputs)
    bad = checked.bad
    reasons = checked.reasons
    good = ~bad
    probability = model.probabilities(checked.values)
    if bad.any():
        probability = probability[good]
    ids = checked.values[config.ID_COLUMN][good].astype(np.int64)
    video_ids = checked.values[config.VIDEO_ID][good].astype(np.int64)
    rejected = table.select([config.ID_COLUMN, config.VIDEO_ID]).filter(pa.array(bad))
    return _ScoredChunk(
        rows=table.num_rows,
        rejects=_Rejects(positions[bad], _as_text(rejected.column(0)), _as_text(rejected.column(1)), reasons),
        probability=probability,
        ids=ids,
        video_ids=video_ids,
        order=_priority_order(_priority_keys(probability), np.arange(len(probability))),
        last_position=int(positions[-1]),
    )


def _priority_keys(probability: np.ndarray) -> np.ndarray:
    return ~probability.view(np.uint64)


@dataclass
class _FirstPass:
    """What pass 1 produced: counts, reasons, and the temporary runs of scored rows."""

    rows_read: int
    rows_scored: int
    rows_rejected: int
    predicted_positive: int
    reasons: Counter
    runs: _RecordFile
    scored: _RecordFile | None
    chunk_starts: list[int]  # first scored ordinal of each chunk that scored rows


def _first_pass(
    model: LoadedModel, source: _Source, rejects_out: _CsvOut, scratch: Path, sort: bool, pool: ThreadPoolExecutor, say: Progress
) -> _FirstPass:
    runs = _RecordFile(scratch / "runs.bin", SORTED_RUN if sort else RUN)
    scored = None if sort else _RecordFile(scratch / "scored.bin", SCORED)
    result = _FirstPass(0, 0, 0, 0, Counter(), runs, scored, [])

    def reject(parts: list[_Rejects]) -> None:
        result.rows_rejected += _write_rejects(rejects_out, parts)
        for part in parts:
            result.reasons.update(part.reasons.tolist())

    say("Scoring", 0.0, 0)
    for chunk in _in_order(pool, lambda item: _score_chunk(model, *item), source.chunks):
        broken = [item for item in source.broken if item[0] <= chunk.last_position]
        del source.broken[: len(broken)]
        reject([chunk.rejects, _Rejects.broken_lines(broken)])
        result.rows_read += chunk.rows + len(broken)
        n = len(chunk.probability)
        if n:
            result.predicted_positive += int(np.count_nonzero(chunk.probability >= model.threshold))
            run = np.empty(n, dtype=runs.dtype)
            run["key"] = _priority_keys(chunk.probability)[chunk.order]
            run["ordinal"] = result.rows_scored + chunk.order
            if sort:
                run["id"], run["video_id"] = chunk.ids[chunk.order], chunk.video_ids[chunk.order]
            else:
                records = np.empty(n, dtype=SCORED)
                records["id"], records["video_id"], records["probability"] = chunk.ids, chunk.video_ids, chunk.probability
                scored.append(records)
            runs.append(run)
            result.chunk_starts.append(result.rows_scored)
            result.rows_scored += n
        say("Scoring", source.fraction(), result.rows_read)
    if source.broken:  # broken lines after the last well-formed row
        reject([_Rejects.broken_lines(source.broken)])
        result.rows_read += len(source.broken)
    say("Scoring", 1.0, result.rows_read)
    return result


def _write_rejects(out: _CsvOut, parts: list[_Rejects]) -> int:
    """Write rejected rows together in line (or row) order; return how many."""
    positions = np.concatenate([part.positions for part in parts])
    if len(positions):
        table = pa.table(
            [
                positions,
                pa.concat_arrays([part.ids for part in parts]),
                pa.concat_arrays([part.video_ids for part in parts]),
                pa.array(np.concatenate([part.reasons for part in parts]).tolist(), pa.string()),
            ],
            schema=out.schema,
        )
        out.write(out.encode(table.take(pc.sort_indices(table.column(0)))))
    return len(positions)


def _as_text(column) -> pa.Array:
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return column.cast(pa.string())


def _in_order(pool: ThreadPoolExecutor, work: Callable, items: Iterator) -> Iterator:
    """``work(item)`` for each item, run by ``pool``'s threads, yielded in item order.

    Items are drawn (e.g. read from the file) by the calling thread while the pool
    works; at most ``WORKERS`` items are in the pool at once, which bounds memory.
    """
    pending: deque = deque()
    try:
        for item in items:
            if len(pending) == WORKERS:
                yield pending.popleft().result()
            pending.append(pool.submit(work, item))
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        if hasattr(items, "close"):
            items.close()


# ---------------------------------------------------------------------- passes 2 and 3


def _write_scored(
    model: LoadedModel, first: _FirstPass, out: _CsvOut, scratch: Path, sort: bool, chunk_rows: int,
    pool: ThreadPoolExecutor, say: Progress,
) -> int:
    """Merge the runs into ranks and write the scored CSV; return the rows ranked."""
    block = max(MERGE_BLOCK_MIN, MERGE_CHUNKS * chunk_rows // max(len(first.runs.runs), 1))
    merged = _ranked(_merged(first.runs, block))
    labels = pa.array([model.negative_class, model.positive_class])

    def table(ids, video_ids, probability, ranks) -> pa.Table:
        return _scored_table(ids, video_ids, probability, ranks, model.threshold, labels)

    say("Ranking", 0.0, 0)
    if sort:
        return _write_in_priority_order(merged, table, first.rows_scored, out, pool, say)
    return _write_in_input_order(merged, table, first, out, scratch, pool, say)


def _write_in_priority_order(
    merged: Iterator, table: Callable, rows_scored: int, out: _CsvOut, pool: ThreadPoolExecutor, say: Progress
) -> int:
    """Encode the merged blocks (in the workers) and write them as they come."""

    def encode(item) -> tuple[pa.Buffer, int]:
        records, ranks = item
        probability = (~records["key"]).view(np.float64)
        return out.encode(table(records["id"], records["video_id"], probability, ranks)), len(ranks)

    ranked = 0
    for encoded, rows in _in_order(pool, encode, merged):
        out.write(encoded)
        ranked += rows
        say("Ranking", ranked / rows_scored, ranked)
    return ranked


def _write_in_input_order(
    merged: Iterator, table: Callable, first: _FirstPass, out: _CsvOut, scratch: Path, pool: ThreadPoolExecutor,
    say: Progress,
) -> int:
    """File each merged (row, rank) pair under its input chunk, then write the chunks in order."""
    starts = np.asarray(first.chunk_starts, dtype=np.int64)
    index_type = np.int16 if len(starts) < 2**15 else np.int64  # small integers sort by radix
    partitions: dict[int, _RecordFile] = {}
    ranked = 0
    for records, ranks in merged:
        chunk = (np.searchsorted(starts, records["ordinal"], side="right") - 1).astype(index_type)
        order = np.argsort(chunk, kind="stable")
        bounds = np.searchsorted(chunk[order], np.arange(len(starts) + 1))
        pairs = np.empty(len(records), dtype=RANKED)
        pairs["ordinal"], pairs["rank"] = records["ordinal"][order], ranks[order]
        for index in np.flatnonzero(np.diff(bounds)).tolist():
            if index not in partitions:
                partitions[index] = _RecordFile(scratch / f"ranks-{index}.bin", RANKED)
            partitions[index].append(pairs[bounds[index] : bounds[index + 1]])
        ranked += len(records)
        say("Ranking", ranked / first.rows_scored, ranked)

    ends = [*first.chunk_starts[1:], first.rows_scored]

    def encode(index: int) -> tuple[pa.Buffer, int]:
        start, end = first.chunk_starts[index], ends[index]
        records = first.scored.read(start, end - start)
        pairs = partitions[index].read(0, end - start)
        ranks = np.zeros(end - start, dtype=np.int64)
        ranks[pairs["ordinal"] - start] = pairs["rank"]
        if len(pairs) != end - start or not ranks.all():
            raise RuntimeError(f"rows {start}..{end - 1} did not all receive a priority rank; this is a bug.")
        return out.encode(table(records["id"], records["video_id"], records["probability"], ranks)), end

    say("Writing", 0.0, 0)
    for encoded, written in _in_order(pool, encode, iter(range(len(starts)))):
        out.write(encoded)
        say("Writing", written / first.rows_scored, written)
    return ranked


def _ranked(blocks: Iterator[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each merged block with its priority ranks (its positions in the merged stream, from 1)."""
    ranked = 0
    for records in blocks:
        yield records, np.arange(ranked + 1, ranked + 1 + len(records))
        ranked += len(records)


def _merged(runs: _RecordFile, block: int) -> Iterator[np.ndarray]:
    """Records of all runs in (key, ordinal) order: a vectorized k-way merge.

    Each run is sorted. One block per run is in memory; every record not after the
    smallest last record of the blocks is emitted (no record still on disk can precede
    it), after one numpy sort of those records. Each step empties at least one block,
    which is then refilled from its run.
    """
    cursors = [[start, start + length] for start, length in runs.runs]
    blocks = [np.empty(0, dtype=runs.dtype) for _ in cursors]

    def refill(index: int) -> None:
        start, end = cursors[index]
        count = min(block, end - start)
        blocks[index] = runs.read(start, count)
        cursors[index][0] += count

    for index in range(len(cursors)):
        refill(index)
    active = [index for index in range(len(cursors)) if len(blocks[index])]
    while active:
        bound = min((blocks[i]["key"][-1], blocks[i]["ordinal"][-1]) for i in active)
        parts = []
        for index in active:
            taken = _count_up_to(blocks[index], bound)
            parts.append(blocks[index][:taken])
            blocks[index] = blocks[index][taken:]
            if not len(blocks[index]):
                refill(index)
        batch = np.concatenate(parts)
        yield batch[_priority_order(batch["key"], batch["ordinal"])]
        active = [index for index in active if len(blocks[index])]


def _priority_order(keys: np.ndarray, ordinals: np.ndarray) -> np.ndarray:
    """Indices that order records by (key, ordinal): a fast sort by key, then ties by ordinal."""
    order = np.argsort(keys)
    ranked_keys = keys[order]
    tied = np.flatnonzero(ranked_keys[1:] == ranked_keys[:-1])
    if len(tied):
        # Tie groups are contiguous and in key order: sorting their members by (key,
        # ordinal) and putting them back in the same positions orders each group.
        positions = np.union1d(tied, tied + 1)
        members = order[positions]
        order[positions] = members[np.lexsort((ordinals[members], keys[members]))]
    return order


def _count_up_to(records: np.ndarray, bound: tuple) -> int:
    """How many records of a sorted block come at or before ``bound`` = (key, ordinal)."""
    keys = records["key"]
    low = int(np.searchsorted(keys, bound[0], side="left"))
    high = int(np.searchsorted(keys, bound[0], side="right"))
    return low + int(np.searchsorted(records["ordinal"][low:high], bound[1], side="right"))


def _scored_table(ids, video_ids, probability, ranks, threshold: float, labels: pa.Array) -> pa.Table:
    label = pa.DictionaryArray.from_arrays(pa.array((probability >= threshold).astype(np.int8)), labels)
    return pa.table([pa.array(ids), pa.array(video_ids), pa.array(probability), label, pa.array(ranks)], schema=_scored_schema())


def _check_accounting(source: _Source, first: _FirstPass, ranked: int) -> None:
    """Every row read is scored or rejected, and every scored row ranked; else a bug."""
    if first.rows_read != first.rows_scored + first.rows_rejected:
        raise RuntimeError(
            f"row accounting failed: {first.rows_read:,} rows read != {first.rows_scored:,} scored + "
            f"{first.rows_rejected:,} rejected; this is a bug, and no output was written."
        )
    if ranked != first.rows_scored:
        raise RuntimeError(f"{ranked:,} rows ranked != {first.rows_scored:,} scored; this is a bug.")
    if source.rows_in_metadata is not None and first.rows_read != source.rows_in_metadata:
        raise RuntimeError(
            f"{first.rows_read:,} rows read != {source.rows_in_metadata:,} rows in the Parquet metadata; this is a bug."
        )


# ------------------------------------------------------------------------- file helpers


class _RecordFile:
    """Fixed-size numpy records appended to one binary file, read back by position.

    ``runs`` lists ``(first record, length)`` of each :meth:`append`.
    """

    def __init__(self, path: Path, dtype: np.dtype):
        self.path, self.dtype = path, dtype
        self.runs: list[tuple[int, int]] = []
        self.records = 0

    def append(self, records: np.ndarray) -> None:
        with self.path.open("ab") as handle:
            records.tofile(handle)
        self.runs.append((self.records, len(records)))
        self.records += len(records)

    def read(self, start: int, count: int) -> np.ndarray:
        with self.path.open("rb") as handle:
            handle.seek(start * self.dtype.itemsize)
            return np.fromfile(handle, dtype=self.dtype, count=count)


class _CsvOut:
    """A CSV file (gzip if the name says so): tables are encoded, text neutralized, then written.

    :meth:`encode` is safe to call from several threads; :meth:`write` appends in call
    order. ``quoting="none"`` is for tables whose text can never need quotes (the
    scored output's labels); pyarrow refuses to encode a value that would need them.
    """

    def __init__(self, path: Path, schema: pa.Schema, quoting: str = "needed"):
        self.path, self.schema = path, schema
        compression = "gzip" if path.name.lower().removesuffix(".partial").endswith(".gz") else None
        self._sink = pa.output_stream(str(path), compression=compression)
        self._options = pacsv.WriteOptions(include_header=False, quoting_style=quoting)
        self._sink.write((",".join(schema.names) + "\n").encode("utf-8"))

    def __enter__(self) -> _CsvOut:
        return self

    def __exit__(self, *exc) -> None:
        self._sink.close()

    def encode(self, table: pa.Table) -> pa.Buffer:
        columns = [neutralize(column) if _is_text(column.type) else column for column in table.columns]
        sink = pa.BufferOutputStream()
        pacsv.write_csv(pa.table(columns, schema=self.schema), sink, write_options=self._options)
        return sink.getvalue()

    def write(self, encoded: pa.Buffer) -> None:
        self._sink.write(encoded)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or (pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type))


def _scored_schema() -> pa.Schema:
    """The scored CSV's columns; the label is dictionary-encoded (two values, neutralized once)."""
    types = (pa.int64(), pa.int64(), pa.float64(), pa.dictionary(pa.int8(), pa.string()), pa.int64())
    return pa.schema(list(zip(SCORED_COLUMNS, types)))


def _rejects_schema(position: str) -> pa.Schema:
    return pa.schema(
        [
            pa.field(position, pa.int64()),
            pa.field(config.ID_COLUMN, pa.string()),
            pa.field(config.VIDEO_ID, pa.string()),
            pa.field(REJECT_REASON_COLUMN, pa.string()),
        ]
    )
