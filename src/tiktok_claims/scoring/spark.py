"""Score a backlog file on Apache Spark: the in-process engine's code, outputs and accounting.

:func:`score_file_spark` writes the same two files, byte for byte, as
:func:`tiktok_claims.scoring.local.score_file`, because every rule runs as the same
Python code: Spark hands Arrow batches to the scoring contract
(:func:`~tiktok_claims.scoring.contract.score_rows`, the CSV parser's options and broken-row
reasons, :func:`~tiktok_claims.scoring.writing.scored_table` and the
:class:`~tiktok_claims.scoring.writing.CsvEncoder`) through ``DataFrame.mapInArrow``. Spark
does what only it does at scale: reading the file in parallel, numbering rows without
a global sort, the global ranking and ordering, and writing.

Reading a CSV. Spark reads the file as text lines split at ``\\n`` (a ``\\r`` stays in its
line), each task a block of the file. A quoted value may hold line breaks, so lines are
not records: :mod:`tiktok_claims.scoring.csv_records` follows pyarrow's parser line by
line. One pass summarizes each block for both possible states at its start (inside or
outside a quoted value); the driver chains the summaries (a prefix scan over two small
numbers per block) into each block's state at its start and the number of its first
row; a second pass joins the lines of each record, numbers its rows exactly as the
in-process reader does (the header is line 1, every record one line), parses the
records with the contract's options and scores them. Only records that cross a block
boundary are grouped by Spark (a shuffle of those lines alone). Memory per task is one
Arrow batch and one record in progress; the driver holds one summary per block.

Reading Parquet. The columns are read by Spark; each row's number is its index inside
its file block plus the rows of the blocks before it (sizes from one small aggregation),
and the column types are checked on the driver against the file's own schema, as the
in-process engine checks them.

Ranking and writing. The scored rows are sorted by probability (ties by position) and
ranked the same way (rank = index inside the sorted partition + rows of the partitions
before). Each output is sorted (by rank or position), encoded to CSV text in Arrow
batches by the contract's encoder, and written by the executors as part files into a
scratch directory (:func:`tiktok_claims.spark.session.spark_scratch`: beside the output
by default, or ``scratch``: a shared mount or a Hadoop URL such as
``hdfs://NAMENODE/tmp``); the driver appends the part files, in partition order, to the
output's temporary file (:class:`~tiktok_claims.scoring.writing.OutputFiles`), which is
moved into place once the accounting holds. The executors read the data file by its
path (a ``file://`` URL: on a cluster it must be at the same path on every node), and
run this package's code: on a cluster every node's Python needs this package at the
driver's version, with its dependencies (in local mode the workers run the driver's
interpreter, see :func:`tiktok_claims.spark.session.spark_session`).

This module is imported only when Spark is used: it imports PySpark at its top.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from itertools import accumulate
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from py4j.protocol import Py4JJavaError
from pyspark.errors import PythonException
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from ..artifact.model import LoadedModel
from ..artifact.store import load_model
from ..data.csv_lines import first_record_line
from ..data.files import text_problem
from ..errors import DataError
from ..spark.session import (
    download,
    list_files,
    spark_scratch,
    spark_session,
    spark_url,
)
from .contract import (
    Rejects,
    ScoringResult,
    canonical,
    check_accounting,
    check_input_types,
    check_paths,
    csv_header,
    default_rejects,
    is_parquet,
    is_positive,
    reasons_by_frequency,
    resolve_columns,
    score_rows,
)
from .csv_records import (
    BlockSummarizer,
    BlockSummary,
    BlockWalker,
    FilePlan,
    Records,
    join_fragments,
    parse_records,
    plan_blocks,
)
from .writing import (
    CsvEncoder,
    OutputFile,
    OutputFiles,
    rejects_schema,
    rejects_table,
    scored_schema,
    scored_table,
)

POSITION = "position"
PROBABILITY = "probability"
REASON = "reason"
RANK = "rank"
# Each row checked: scored rows have id, video_id, probability and positive; rejected rows id_text, video_id_text, reason.
CHECKED = pa.schema(
    [
        (POSITION, pa.int64()),
        ("id", pa.int64()),
        ("video_id", pa.int64()),
        (PROBABILITY, pa.float64()),
        ("positive", pa.bool_()),
        ("id_text", pa.string()),
        ("video_id_text", pa.string()),
        (REASON, pa.string()),
    ]
)
# Pass 2 over CSV lines: checked rows, and the lines of records that cross a block boundary.
FRAGMENT = pa.schema(
    [("key", pa.int64()), ("block", pa.int64()), ("line", pa.int64()), ("text", pa.binary()),
     ("positions", pa.list_(pa.int64()))]
)
WALKED = pa.schema([("fragment", pa.bool_()), *CHECKED, *FRAGMENT])
SUMMARY = pa.schema(
    [("block", pa.int64()), ("exit_outside", pa.bool_()), ("exit_inside", pa.bool_()), ("starts_outside", pa.bool_()),
     ("starts_inside", pa.bool_()), ("breaks", pa.int64())]
)
ENCODED = "csv string"


def score_file_spark(
    model_path: str | Path,
    data_path: str | Path,
    out_path: str | Path,
    rejects: str | Path | None = None,
    *,
    sort: bool = False,
    master: str = "local[*]",
    scratch: str | Path | None = None,
) -> ScoringResult:
    """Score every row of a backlog file on Spark, or reject it with its reason.

    Parameters
    ----------
    model_path : str or Path
        A ``model.json`` written by ``run``.
    data_path : str or Path
        CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) with at least the
        model's input columns.
    out_path : str or Path
        The scored CSV (gzip-compressed if the name ends in ``.gz``).
    rejects : str or Path, optional
        The rejects CSV. Default: ``<out name without .csv>_rejects.csv`` beside it.
    sort : bool
        Write scored rows by priority (rank 1 first) instead of input order.
    master : str
        Spark master URL (``local[*]``, ``spark://HOST:7077``, ``yarn``).
    scratch : str or Path, optional
        Directory for the files Spark writes before they are appended to the outputs:
        an existing directory or a Hadoop URL (``hdfs://NAMENODE/tmp``). On a cluster
        every executor and the driver must reach it. Default: the output's directory.

    Returns
    -------
    ScoringResult
        The accounting, as :func:`tiktok_claims.scoring.local.score_file` returns it.

    Raises
    ------
    ModelFileError
        If the model file is refused.
    DataError
        If the data file is missing or unreadable, lacks a column the model needs,
        holds a column of a type the rules cannot check, an output path would overwrite
        an input, or the scratch directory cannot be used (missing, or not shared with
        the executors).

    Examples
    --------
    >>> result = score_file_spark("out/model.json", "backlog.parquet", "scored.csv")  # doctest: +SKIP
    >>> result.rows_read == result.rows_scored + result.rows_rejected  # doctest: +SKIP
    True
    """
    started = time.perf_counter()
    model = load_model(model_path)
    data_path, out_path = Path(data_path), Path(out_path)
    rejects_path = Path(rejects) if rejects is not None else default_rejects(out_path)
    check_paths(Path(model_path), data_path, out_path, rejects_path)
    spark = spark_session(master)
    parquet = is_parquet(data_path)
    with (
        OutputFiles(out_path, rejects_path) as outputs,
        # Opened first: a scratch directory that cannot be used is refused before any work.
        spark_scratch(spark, out_path.parent if scratch is None else scratch) as directory,
        _executor_errors(),
    ):
        checked, position = (_parquet_checked if parquet else _csv_checked)(spark, data_path, model)
        try:
            counts = checked.groupBy(REASON).agg(
                F.count(F.lit(1)).alias("rows"), F.count(F.when(F.col("positive"), 1)).alias("positive")
            ).collect()
            rows_read = sum(row["rows"] for row in counts)
            scored_count = [(row["rows"], row["positive"]) for row in counts if row[REASON] is None]
            rows_scored, predicted_positive = scored_count[0] if scored_count else (0, 0)
            reasons = reasons_by_frequency({row[REASON]: row["rows"] for row in counts if row[REASON] is not None})
            ranked, rows_ranked = _ranked(checked.filter(F.col(REASON).isNull()))
            metadata_rows = pq.ParquetFile(data_path).metadata.num_rows if parquet else None
            check_accounting(rows_read, rows_scored, sum(reasons.values()), rows_ranked, metadata_rows)
            scored_rows = ranked.select("id", "video_id", PROBABILITY, RANK, POSITION).orderBy(RANK if sort else POSITION)
            rejected_rows = checked.filter(F.col(REASON).isNotNull()).select(POSITION, "id_text", "video_id_text", REASON)
            rejects_out = outputs.open(rejects_path, CsvEncoder(rejects_schema(position)))
            encoded_rejects = rejected_rows.orderBy(POSITION).mapInArrow(partial(_encode_rejects, position), ENCODED)
            _append_written(encoded_rejects, f"{directory}/rejects", rejects_out, outputs.scratch, sum(reasons.values()))
            scored_out = outputs.open(out_path, CsvEncoder(scored_schema(model), quoting="none"))
            encoded_scored = scored_rows.mapInArrow(partial(_encode_scored, model), ENCODED)
            _append_written(encoded_scored, f"{directory}/scored", scored_out, outputs.scratch, rows_scored)
        finally:
            checked.unpersist()
        outputs.commit()
    return ScoringResult(
        source=str(data_path),
        out=out_path,
        rejects=rejects_path,
        rows_read=rows_read,
        rows_scored=rows_scored,
        rejected=reasons,
        predicted_positive=predicted_positive,
        positive_class=model.positive_class,
        threshold=model.threshold,
        sorted=sort,
        seconds=time.perf_counter() - started,
        output_name=model.output_name,
        notes=tuple(outputs.notes),
    )


@contextmanager
def _executor_errors():
    """A :class:`DataError` raised by the contract on an executor, raised again here as itself.

    PySpark converts a failed Python worker into :class:`PythonException` for most actions;
    some (an RDD's ``count`` reached through the JVM) surface as the gateway's
    :class:`Py4JJavaError`, whose text carries the same Python traceback.
    """
    try:
        yield
    except (PythonException, Py4JJavaError) as exc:
        found = re.findall(r"tiktok_claims\.errors\.DataError: (.*)", str(exc))
        if found:
            raise DataError(found[-1]) from None
        raise


# ------------------------------------------------------------------------------ reading


def _csv_checked(spark, path: Path, model: LoadedModel):
    """Every row of the CSV file checked and scored (see the module docstring), cached; and ``"line"``."""
    header = csv_header(path)
    columns = resolve_columns(path, header, model)
    lines = spark.read.option("lineSep", "\n").text(spark_url(path)).select(
        F.input_file_block_start().alias("block"), F.col("value").cast("binary").alias("line")
    )
    summaries = [_summary(row) for row in lines.mapInArrow(_summarize_blocks, from_arrow_schema(SUMMARY)).collect()]
    plan = plan_blocks(summaries)
    ends_with_newline = plan.unclosed_record is None or _ends_with_newline(path)
    score = partial(_score_records, model=model, header=header, columns=columns, path=path, header_line=first_record_line(path))
    walked = lines.mapInArrow(partial(_walk_blocks, plan, score), from_arrow_schema(WALKED)).cache()
    try:
        whole = walked.filter(~F.col("fragment")).select(*CHECKED.names)
        crossing = (
            walked.filter(F.col("fragment"))
            .groupBy("key")
            .agg(F.sort_array(F.collect_list(F.struct("block", "line", "text", "positions"))).alias("lines"))
            .mapInArrow(partial(_join_and_score, plan, ends_with_newline, score), from_arrow_schema(CHECKED))
        )
        checked = whole.unionByName(crossing).cache()
        checked.count()
    finally:
        walked.unpersist()
    return checked, "line"


def _parquet_checked(spark, path: Path, model: LoadedModel):
    """Every row of the Parquet file checked and scored, cached; and ``"row"``."""
    try:
        file_schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: cannot be read as Parquet ({exc}).") from None
    columns = resolve_columns(path, file_schema.names, model)  # before Spark reads: it refuses repeated names its own way
    try:
        frame = spark.read.parquet(spark_url(path))
    except Exception as exc:  # Spark raises its own analysis errors for unreadable files
        raise DataError(f"{path}: cannot be read as Parquet ({exc}).") from None
    check_input_types(path, file_schema, columns, model)
    file_types = {name: file_schema.field(file_name).type for name, file_name in columns.items()}
    frame = frame.select(*(F.col(f"`{file_name}`").alias(name) for name, file_name in columns.items()))
    numbered = _numbered(frame, *columns).withColumn(POSITION, F.col(POSITION) + 1)
    return numbered.mapInArrow(partial(_score_parquet, model, file_types), from_arrow_schema(CHECKED)).cache(), "row"


def _ends_with_newline(path: Path) -> bool:
    """Whether the file's last byte is ``\\n`` (read to the end: a ``.gz`` is decompressed)."""
    last = b""
    with pa.input_stream(str(path)) as stream:  # decompresses .gz
        for block in iter(lambda: stream.read(1 << 20), b""):
            last = block
    return last.endswith(b"\n")


def _numbered(frame, *columns: str):
    """``frame`` with ``POSITION``: each row's 0-based place in the file, without a global sort.

    A row's place is its index inside its file block (``input_file_block_start``) plus
    the rows of the blocks before it; block sizes come from one small aggregation.
    """
    tagged = frame.select(
        *(F.col(f"`{c}`") for c in columns),
        F.input_file_block_start().alias("__group"),
        F.monotonically_increasing_id().alias("__id"),
    )
    return _with_offsets(tagged, POSITION)[0]


def _ranked(scored):
    """Scored rows with ``RANK`` (1 = highest probability, ties in input order), and how many were ranked."""
    ordered = scored.orderBy(F.desc(PROBABILITY), F.asc(POSITION)).select(
        "*", F.spark_partition_id().alias("__group"), F.monotonically_increasing_id().alias("__id")
    )
    ranked, rows = _with_offsets(ordered, RANK)
    return ranked.withColumn(RANK, F.col(RANK) + 1), rows


def _with_offsets(tagged, out: str):
    """``out`` = rows of the earlier ``__group`` values + the row's index inside its group; and the rows in all.

    Rows of one group are contiguous in one partition, so their ``__id``
    (``monotonically_increasing_id``) counts up by one from the group's smallest.
    """
    sizes = sorted(tagged.groupBy("__group").agg(F.count(F.lit(1)).alias("n"), F.min("__id").alias("first")).collect())
    starts = [0, *accumulate(size["n"] for size in sizes)]
    offsets = tagged.sparkSession.createDataFrame(
        [(size["__group"], size["first"], start) for size, start in zip(sizes, starts)],
        "__group long, __first long, __before long",
    )
    joined = tagged.join(F.broadcast(offsets), "__group")
    numbered = joined.withColumn(out, F.col("__before") + F.col("__id") - F.col("__first")).drop(
        "__group", "__id", "__first", "__before"
    )
    return numbered, starts[-1]


# ------------------------------------------------------------- on the executors: reading


def _block_runs(batch: pa.RecordBatch) -> Iterator[tuple[int, pa.Array]]:
    """The lines of a batch of ``(block, line)``, split where the block changes."""
    blocks = batch.column(0).to_numpy()
    bounds = [0, *(np.flatnonzero(np.diff(blocks)) + 1).tolist(), len(blocks)]
    for start, end in zip(bounds, bounds[1:]):
        if end > start:
            yield int(blocks[start]), batch.column(1).slice(start, end - start)


def _summarize_blocks(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Pass 1: one summary per block (:class:`~tiktok_claims.scoring.csv_records.BlockSummarizer`)."""
    summarizers: dict[int, BlockSummarizer] = {}
    for batch in batches:
        for block, lines in _block_runs(batch):
            summarizers.setdefault(block, BlockSummarizer(block)).feed(lines)
    rows = []
    for summarizer in summarizers.values():
        summary = summarizer.summary()
        rows.append(
            {
                "block": summary.block,
                "exit_outside": summary.exit_quoted[0],
                "exit_inside": summary.exit_quoted[1],
                "starts_outside": summary.starts[0],
                "starts_inside": summary.starts[1],
                "breaks": summary.breaks,
            }
        )
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=SUMMARY)


def _summary(row) -> BlockSummary:
    def both(name: str) -> tuple:
        return row[f"{name}_outside"], row[f"{name}_inside"]

    return BlockSummary(row["block"], both("exit"), both("starts"), row["breaks"])


def _walk_blocks(plan: FilePlan, score, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Pass 2: whole records checked and scored, and the fragments of crossing records."""
    walker = BlockWalker(plan)
    for batch in batches:
        for block, lines in _block_runs(batch):
            yield from _walked(*walker.feed(block, lines), score)
    yield from _walked(*walker.finish(), score)


def _walked(records: list[Records], fragments, score) -> Iterator[pa.RecordBatch]:
    for part in records:
        yield from (_as_walked(batch, fragment=False) for batch in score(part))
    if fragments:
        table = pa.table(
            {
                "key": [f.key for f in fragments],
                "block": [f.block for f in fragments],
                "line": [f.line for f in fragments],
                "text": pa.array([f.text for f in fragments], pa.binary()),
                "positions": pa.array([list(f.positions) for f in fragments], pa.list_(pa.int64())),
            },
            schema=FRAGMENT,
        )
        yield from (_as_walked(batch, fragment=True) for batch in table.to_batches())


def _as_walked(batch: pa.RecordBatch, fragment: bool) -> pa.RecordBatch:
    """``batch`` (checked rows or fragments) with the other kind's columns empty."""
    arrays = [pa.array(np.full(batch.num_rows, fragment))]
    for field in WALKED.remove(0):
        index = batch.schema.get_field_index(field.name)
        arrays.append(batch.column(index) if index >= 0 else pa.nulls(batch.num_rows, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=WALKED)


def _join_and_score(
    plan: FilePlan, ends_with_newline: bool, score, batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """The records that cross block boundaries, joined from their fragments, checked and scored."""
    for batch in batches:
        for row in batch.to_pylist():
            texts = [line["text"] for line in row["lines"]]
            positions = [position for line in row["lines"] for position in line["positions"]]
            yield from score(join_fragments(row["key"], positions, texts, plan, ends_with_newline))


def _score_records(
    records: Records, *, model: LoadedModel, header: list[str], columns: dict[str, str], path: Path, header_line: int
):
    """Parse whole CSV records and check and score their rows (the header, at ``header_line``, is left out)."""
    problem = text_problem(records.text)  # as the in-process reader refuses binary data (CheckedText)
    if problem:
        raise DataError(f"{path}: {problem}")
    try:
        table, positions, broken = parse_records(records, header, list(dict.fromkeys(columns.values())))
    except pa.ArrowInvalid as exc:
        raise DataError(f"{path}: cannot be read as CSV ({exc}).") from None
    data = positions > header_line
    table, positions = canonical(table, columns).filter(pa.array(data)), positions[data]
    broken = [item for item in broken if item[0] > header_line]
    yield from _checked_batches(model, table, positions, Rejects.broken(broken))


def _score_parquet(model: LoadedModel, file_types: dict[str, pa.DataType], batches: Iterator[pa.RecordBatch]):
    """Parquet rows checked and scored, their columns given back the file's types where Spark changed them."""
    for batch in batches:
        arrays = {}
        for name, kind in file_types.items():
            column = batch.column(batch.schema.get_field_index(name))
            # Spark reads e.g. uint64 as decimal(20, 0); numbers go back to the file's type.
            numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
            arrays[name] = column.cast(kind) if numeric and column.type != kind else column
        positions = batch.column(batch.schema.get_field_index(POSITION)).to_numpy()
        yield from _checked_batches(model, pa.table(arrays), positions, Rejects.broken([]))


def _checked_batches(
    model: LoadedModel, table: pa.Table, positions: np.ndarray, broken: Rejects
) -> Iterator[pa.RecordBatch]:
    """Rows checked and scored by the contract, as ``CHECKED`` batches (the scored rows, then the rejected)."""
    if table.num_rows:
        scored = score_rows(model, table, positions)
        rejects = Rejects.concat([scored.rejects, broken])
        if len(scored.positions):
            yield pa.RecordBatch.from_pydict(
                {
                    POSITION: scored.positions,
                    "id": scored.ids,
                    "video_id": scored.video_ids,
                    PROBABILITY: scored.probability,
                    "positive": is_positive(scored.probability, model),
                    "id_text": pa.nulls(len(scored.positions), pa.string()),
                    "video_id_text": pa.nulls(len(scored.positions), pa.string()),
                    REASON: pa.nulls(len(scored.positions), pa.string()),
                },
                schema=CHECKED,
            )
    else:
        rejects = broken
    if len(rejects.positions):
        empty = len(rejects.positions)
        yield pa.RecordBatch.from_pydict(
            {
                POSITION: rejects.positions,
                "id": pa.nulls(empty, pa.int64()),
                "video_id": pa.nulls(empty, pa.int64()),
                PROBABILITY: pa.nulls(empty, pa.float64()),
                "positive": pa.nulls(empty, pa.bool_()),
                "id_text": rejects.ids,
                "video_id_text": rejects.video_ids,
                REASON: pa.array(rejects.reasons.tolist(), pa.string()),
            },
            schema=CHECKED,
        )


# ------------------------------------------------------------------------------ writing


def _encode_scored(model: LoadedModel, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Scored rows (``id, video_id, probability, rank``) encoded by the contract, one text per batch."""
    encoder = CsvEncoder(scored_schema(model), quoting="none")
    for batch in batches:
        if batch.num_rows:
            columns = [batch.column(i).to_numpy() for i in range(4)]
            yield _as_text(encoder.encode(scored_table(*columns, model)))


def _encode_rejects(position: str, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Rejected rows (``position, id_text, video_id_text, reason``) encoded by the contract, one text per batch."""
    encoder = CsvEncoder(rejects_schema(position))
    for batch in batches:
        if batch.num_rows:
            reasons = batch.column(3).to_numpy(zero_copy_only=False)
            rejects = Rejects(batch.column(0).to_numpy(), batch.column(1), batch.column(2), reasons)
            yield _as_text(encoder.encode(rejects_table(rejects, encoder.schema)))


def _as_text(encoded: pa.Buffer) -> pa.RecordBatch:
    """Encoded rows as one text value; Spark's text writer adds the last line's ``\\n``."""
    text = encoded.to_pybytes()
    return pa.RecordBatch.from_pydict({"csv": [text[:-1].decode("utf-8")]})


def _append_written(encoded, url: str, out: OutputFile, local: Path, rows: int) -> None:
    """Have the executors write ``encoded`` under ``url``, then append the part files to ``out`` in order."""
    encoded.write.text(url)
    spark = encoded.sparkSession
    parts = list_files(spark, url, "part-*")
    if rows and not parts:
        raise DataError(
            f"Spark's executors wrote {out.target.name} where this machine cannot see it ({url}): with a cluster "
            "master, the scratch directory (--spark-tmp) must be storage that the executors and this machine "
            "share (a mount at the same path on every node, or an hdfs:// or s3a:// URL)."
        )
    for part in parts:
        copy = local / "part"
        download(spark, part, copy)
        out.append(copy)
        copy.unlink()
