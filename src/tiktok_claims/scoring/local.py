"""Score a backlog file in process, in bounded memory: every row is either scored or rejected with its reason.

:func:`score_file` reads a CSV (``.csv``, ``.csv.gz``) or Parquet file chunk by chunk
(:mod:`tiktok_claims.scoring.reading`), checks and scores every row by the scoring
contract (:func:`tiktok_claims.scoring.contract.score_rows`: the per-value rules and
reasons of :mod:`tiktok_claims.data.rules` for ``#``, ``video_id`` and the predictors),
and writes (:mod:`tiktok_claims.scoring.writing`)

* the **scored** CSV: ``#``, ``video_id``, ``probability`` (of the model's positive
  class), ``predicted_label`` (the positive class when the probability is at or above
  the model's threshold) and ``priority_rank`` (1 = highest probability; ties keep
  input order, so ranks are exactly 1..n over the whole file);
* the **rejects** CSV: ``line`` (CSV: the line in the file, header = line 1, one line
  per record as in :mod:`tiktok_claims.data.load`, even when a quoted value spans
  several lines) or ``row`` (Parquet: 1-based row), ``#`` and ``video_id`` as given,
  and the ``reason`` (e.g. ``"video_view_count: negative"``; several problems are
  joined by ``"; "``). Lines with the wrong number of fields, rows a spreadsheet
  re-quoted into one field and empty rows are rejects too.

Accounting: ``rows read = rows scored + rows rejected`` and ``rows ranked = rows
scored`` are checked at the end, and for Parquet rows read must equal the row count in
the file's metadata (:func:`~tiktok_claims.scoring.contract.check_accounting`); the
outputs are moved into place only then (:class:`~tiktok_claims.scoring.writing.OutputFiles`).

Bounded memory (an external merge sort, :mod:`tiktok_claims.scoring.merge`). Pass 1
reads ``chunk_rows`` rows at a time; ``WORKERS`` threads check and score chunks while
the main thread reads the next one and, in input order, writes each chunk's rejects and
its scored rows sorted by priority as a *run* to a temporary binary file (and, unless
``sort``, the scored rows in input order to another). Pass 2 merges the runs block by
block (a block per run, ``MERGE_CHUNKS`` chunks' worth of records in all); the position
in the merged stream is the rank. With ``sort``, merged blocks are encoded by the
workers and written straight to the output. Without it, each (row, rank) pair is
appended to the temporary file of its input chunk, and pass 3 reads the chunks back in
input order, places their ranks, and the workers encode them. Memory is
O(``chunk_rows``) at every step, whatever the file size; the temporary files (about 40
bytes per scored row) sit in the run's private directory beside the output and are
deleted at the end.
"""

from __future__ import annotations

import operator
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..artifact.model import LoadedModel
from ..artifact.store import load_model
from ..errors import DataError
from .contract import (
    Rejects,
    ScoredRows,
    ScoringResult,
    check_accounting,
    check_paths,
    default_rejects,
    is_positive,
    reasons_by_frequency,
    score_rows,
)
from .merge import (
    RANKED,
    RUN,
    SCORED,
    SORTED_RUN,
    RecordFile,
    merged,
    priority_keys,
    priority_order,
    ranked,
)
from .reading import Source, open_source
from .writing import (
    CsvEncoder,
    OutputFile,
    OutputFiles,
    rejects_schema,
    rejects_table,
    scored_schema,
    scored_table,
)

Progress = Callable[[str, float, int], None]
"""``progress(stage, fraction_done, rows)``: stage ``"Scoring"``, ``"Ranking"`` or ``"Writing"``."""

# The merge holds one block per run: MERGE_CHUNKS chunks' worth of records in all (16 or
# 32 bytes each; pass 1's memory is free by then), and at least MERGE_BLOCK_MIN per run.
MERGE_CHUNKS = 4
MERGE_BLOCK_MIN = 1024
# Chunks checked, scored or encoded at once by worker threads (numpy and pyarrow release
# the GIL) while the main thread reads the next chunk and writes the finished ones in
# order. Memory holds about WORKERS + 2 chunks.
WORKERS = 2

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
        holds a column of a type the rules cannot check, or an output path would
        overwrite an input.

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

    source = open_source(data_path, model, chunk_rows)
    with (
        OutputFiles(out_path, rejects_path) as outputs,
        ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="tiktok-claims-score") as pool,
    ):
        first = _first_pass(model, source, outputs.scratch, sort, pool, say)
        _write_rejects(first.rejects, source, outputs.open(rejects_path, CsvEncoder(rejects_schema(source.position))))
        scored_out = outputs.open(out_path, CsvEncoder(scored_schema(model), quoting="none"))
        rows_ranked = _write_scored(model, first, scored_out, outputs.scratch, sort, chunk_rows, pool, say)
        check_accounting(first.rows_read, first.rows_scored, first.rows_rejected, rows_ranked, source.rows_in_metadata)
        outputs.commit()
    return ScoringResult(
        source=str(data_path),
        out=out_path,
        rejects=rejects_path,
        rows_read=first.rows_read,
        rows_scored=first.rows_scored,
        rejected=reasons_by_frequency(first.reasons),
        predicted_positive=first.predicted_positive,
        positive_class=model.positive_class,
        threshold=model.threshold,
        sorted=sort,
        seconds=time.perf_counter() - started,
        output_name=model.output_name,
        notes=tuple(outputs.notes),
    )


# ------------------------------------------------------------------------------ pass 1


@dataclass(frozen=True)
class _ScoredChunk:
    """One chunk checked and scored (computed by a worker thread, written in order)."""

    scored: ScoredRows
    order: np.ndarray  # good rows (0-based) in priority order
    last_position: int


def _score_chunk(model: LoadedModel, table: pa.Table, positions: np.ndarray) -> _ScoredChunk:
    scored = score_rows(model, table, positions)
    order = priority_order(priority_keys(scored.probability), np.arange(len(scored.probability)))
    return _ScoredChunk(scored, order, int(positions[-1]))


@dataclass
class _FirstPass:
    """What pass 1 produced: counts, reasons, and the temporary runs of scored rows."""

    rows_read: int
    rows_scored: int
    rows_rejected: int
    predicted_positive: int
    reasons: Counter
    runs: RecordFile
    scored: RecordFile | None
    rejects: Path  # an Arrow stream of the rejected rows, their positions as read
    chunk_starts: list[int]  # first scored ordinal of each chunk that scored rows


def _first_pass(
    model: LoadedModel, source: Source, scratch: Path, sort: bool, pool: ThreadPoolExecutor, say: Progress
) -> _FirstPass:
    runs = RecordFile(scratch / "runs.bin", SORTED_RUN if sort else RUN)
    scored = None if sort else RecordFile(scratch / "scored.bin", SCORED)
    schema = rejects_schema(source.position)
    result = _FirstPass(0, 0, 0, 0, Counter(), runs, scored, scratch / "rejects.arrows", [])
    with pa.ipc.new_stream(str(result.rejects), schema) as rejects_out:

        def reject(parts: list[Rejects]) -> None:
            rejects = Rejects.concat(parts)
            if len(rejects.positions):
                rejects_out.write_table(rejects_table(rejects, schema))
            result.rows_rejected += len(rejects.positions)
            result.reasons.update(rejects.reasons.tolist())

        _read_and_score(model, source, result, reject, sort, pool, say)
    return result


def _read_and_score(
    model: LoadedModel, source: Source, result: _FirstPass, reject: Callable, sort: bool, pool: ThreadPoolExecutor,
    say: Progress,
) -> None:
    runs, scored = result.runs, result.scored
    broken_written = 0  # source.broken grows as the file is read

    say("Scoring", 0.0, 0)
    for chunk in _in_order(pool, lambda item: _score_chunk(model, *item), source.chunks):
        start = broken_written
        while broken_written < len(source.broken) and source.broken[broken_written][0] <= chunk.last_position:
            broken_written += 1
        reject([chunk.scored.rejects, Rejects.broken(source.broken[start:broken_written])])
        result.rows_read += chunk.scored.rows + broken_written - start
        probability, n = chunk.scored.probability, len(chunk.scored.probability)
        if n:
            result.predicted_positive += int(np.count_nonzero(is_positive(probability, model)))
            run = np.empty(n, dtype=runs.dtype)
            run["key"] = priority_keys(probability)[chunk.order]
            run["ordinal"] = result.rows_scored + chunk.order
            if sort:
                run["id"], run["video_id"] = chunk.scored.ids[chunk.order], chunk.scored.video_ids[chunk.order]
            else:
                records = np.empty(n, dtype=SCORED)
                records["id"], records["video_id"] = chunk.scored.ids, chunk.scored.video_ids
                records["probability"] = probability
                scored.append(records)
            runs.append(run)
            result.chunk_starts.append(result.rows_scored)
            result.rows_scored += n
        say("Scoring", source.fraction(), result.rows_read)
    if broken_written < len(source.broken):  # broken rows after the last well-formed row
        reject([Rejects.broken(source.broken[broken_written:])])
        result.rows_read += len(source.broken) - broken_written
    say("Scoring", 1.0, result.rows_read)


def _write_rejects(rejects: Path, source: Source, out: OutputFile) -> None:
    """Encode the rejected rows into the rejects file, each CSV record's number turned into its line."""
    lines = source.line_map()
    with pa.ipc.open_stream(str(rejects)) as stream:
        for batch in stream:
            if lines is not None:
                position = pa.array(lines.of(batch.column(0).to_numpy()), pa.int64())
                batch = batch.set_column(0, batch.schema.field(0), position)
            out.write(out.encoder.encode(pa.Table.from_batches([batch])))


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
    model: LoadedModel, first: _FirstPass, out: OutputFile, scratch: Path, sort: bool, chunk_rows: int,
    pool: ThreadPoolExecutor, say: Progress,
) -> int:
    """Merge the runs into ranks and write the scored CSV; return the rows ranked."""
    block = max(MERGE_BLOCK_MIN, MERGE_CHUNKS * chunk_rows // max(len(first.runs.runs), 1))
    blocks = ranked(merged(first.runs, block))

    def table(ids, video_ids, probability, ranks) -> pa.Table:
        return scored_table(ids, video_ids, probability, ranks, model)

    say("Ranking", 0.0, 0)
    if sort:
        return _write_in_priority_order(blocks, table, first.rows_scored, out, pool, say)
    return _write_in_input_order(blocks, table, first, out, scratch, pool, say)


def _write_in_priority_order(
    blocks: Iterator, table: Callable, rows_scored: int, out: OutputFile, pool: ThreadPoolExecutor, say: Progress
) -> int:
    """Encode the merged blocks (in the workers) and write them as they come."""

    def encode(item) -> tuple[pa.Buffer, int]:
        records, ranks = item
        probability = (~records["key"]).view(np.float64)
        return out.encoder.encode(table(records["id"], records["video_id"], probability, ranks)), len(ranks)

    rows_ranked = 0
    for encoded, rows in _in_order(pool, encode, blocks):
        out.write(encoded)
        rows_ranked += rows
        say("Ranking", rows_ranked / rows_scored, rows_ranked)
    return rows_ranked


def _write_in_input_order(
    blocks: Iterator, table: Callable, first: _FirstPass, out: OutputFile, scratch: Path, pool: ThreadPoolExecutor,
    say: Progress,
) -> int:
    """File each merged (row, rank) pair under its input chunk, then write the chunks in order."""
    starts = np.asarray(first.chunk_starts, dtype=np.int64)
    index_type = np.int16 if len(starts) < 2**15 else np.int64  # small integers sort by radix
    partitions: dict[int, RecordFile] = {}
    rows_ranked = 0
    for records, ranks in blocks:
        chunk = (np.searchsorted(starts, records["ordinal"], side="right") - 1).astype(index_type)
        order = np.argsort(chunk, kind="stable")
        bounds = np.searchsorted(chunk[order], np.arange(len(starts) + 1))
        pairs = np.empty(len(records), dtype=RANKED)
        pairs["ordinal"], pairs["rank"] = records["ordinal"][order], ranks[order]
        for index in np.flatnonzero(np.diff(bounds)).tolist():
            if index not in partitions:
                partitions[index] = RecordFile(scratch / f"ranks-{index}.bin", RANKED)
            partitions[index].append(pairs[bounds[index] : bounds[index + 1]])
        rows_ranked += len(records)
        say("Ranking", rows_ranked / first.rows_scored, rows_ranked)

    ends = [*first.chunk_starts[1:], first.rows_scored]

    def encode(index: int) -> tuple[pa.Buffer, int]:
        start, end = first.chunk_starts[index], ends[index]
        records = first.scored.read(start, end - start)
        pairs = partitions[index].read(0, end - start)
        ranks = np.zeros(end - start, dtype=np.int64)
        ranks[pairs["ordinal"] - start] = pairs["rank"]
        if len(pairs) != end - start or not ranks.all():
            raise RuntimeError(f"rows {start}..{end - 1} did not all receive a priority rank; this is a bug.")
        return out.encoder.encode(table(records["id"], records["video_id"], records["probability"], ranks)), end

    say("Writing", 0.0, 0)
    for encoded, written in _in_order(pool, encode, iter(range(len(starts)))):
        out.write(encoded)
        say("Writing", written / first.rows_scored, written)
    return rows_ranked
