"""Score a backlog file on Apache Spark: the outputs and accounting of :func:`tiktok_claims.scoring.local.score_file`.

:func:`score_file_spark` reads a CSV (``.csv``, ``.csv.gz``) or Parquet file with Spark,
checks every row with the per-value rules of :mod:`tiktok_claims.data.rules` written as
Spark SQL column expressions (same reasons, same order: missing columns first, then
the other problems, columns in the file's order), scores the good rows with the
artifact's standardization, dummy coding and coefficients, ranks them over the whole
file (rank 1 = highest probability; ties keep input order) and writes the same two CSV
files as the in-process scorer (scored rows in input order, or by priority with
``sort``), as single files, with formula-like text neutralized.

How rows are numbered. Spark's CSV reader drops blank lines and knows no line numbers,
so a CSV is read as text lines: the line number comes from the file position, the
fields are counted outside quotes, and lines with the header's number of fields are
parsed with ``from_csv``; the others are rejects with the in-process reasons. Records
must therefore fit on one line (a newline inside a quoted value is not supported here;
the in-process scorer supports it). Positions (and priority ranks) are computed
without moving all rows to one partition: each row's index inside its file block (or
sorted partition) plus the number of rows in the blocks before it.

Accounting: ``rows read = rows scored + rows rejected`` is checked (a mismatch raises);
for Parquet, rows read must also equal the row count in the file's metadata.

Where files go. The executors read the data file by its path (as a ``file://`` URL: on
a cluster it must be at the same path on every node) and write each output as one
part file into a scratch directory (:func:`tiktok_claims.spark.session.spark_scratch`:
beside the output by default, or ``scratch``: a shared mount or a Hadoop URL such as
``hdfs://NAMENODE/tmp``); the driver then moves the part file to the output path.
"""

from __future__ import annotations

import operator
import time
from functools import reduce
from itertools import accumulate
from pathlib import Path

import pyarrow.parquet as pq
from pyspark.sql import functions as F

from .. import config
from ..artifact.model import LoadedModel
from ..artifact.store import load_model
from ..data.load import FIRST_DATA_LINE
from ..data.rules import (
    EMPTY_ROW,
    LARGEST_EXACT_INTEGER,
    MISSING_MARKERS,
    NUMBER_PATTERN,
    REQUOTED,
)
from ..data.schema import ColumnSpec
from ..errors import DataError, ModelFileError
from ..escaping import FORMULA_PREFIXES
from ..spark.session import (
    download,
    list_files,
    spark_scratch,
    spark_session,
    spark_url,
)
from .contract import (
    PARQUET_SUFFIXES,
    REJECT_REASON_COLUMN,
    SCORED_COLUMNS,
    ScoringResult,
    check_paths,
    csv_header,
    default_rejects,
    resolve_columns,
)

POSITION = "__position"
REASON = "__reason"
PROBABILITY = "probability"
# Unquoted-field counting: quoted sections (with "" escapes) removed, then commas counted.
QUOTED_SECTION = r'"([^"]|"")*"'


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
        CSV (``.csv``, ``.csv.gz``; one line per record) or Parquet (``.parquet``,
        ``.pq``) with at least the model's input columns.
    out_path : str or Path
        The scored CSV (gzip-compressed if the name ends in ``.gz``).
    rejects : str or Path, optional
        The rejects CSV. Default: ``<out name without .csv>_rejects.csv`` beside it.
    sort : bool
        Write scored rows by priority (rank 1 first) instead of input order.
    master : str
        Spark master URL (``local[*]``, ``spark://HOST:7077``, ``yarn``).
    scratch : str or Path, optional
        Directory for the files Spark writes before they are moved to the outputs:
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
        holds a column of another type, an output path would overwrite an input, or
        the scratch directory cannot be used (missing, or not shared with the executors).

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
    out_path.parent.mkdir(parents=True, exist_ok=True)
    rejects_path.parent.mkdir(parents=True, exist_ok=True)
    spark = spark_session(master)
    # Opened first: a scratch directory that cannot be used is refused before any work.
    with spark_scratch(spark, out_path.parent if scratch is None else scratch) as directory:
        is_parquet = data_path.name.lower().endswith(PARQUET_SUFFIXES)
        rows, position = (_parquet_rows if is_parquet else _csv_rows)(spark, data_path, model)
        checked = _with_reason(rows, model).select(
            POSITION,
            F.col(config.ID_COLUMN),
            F.col(config.VIDEO_ID),
            REASON,
            F.when(F.col(REASON) == "", _probability(model)).alias(PROBABILITY),
        ).cache()
        try:
            totals = checked.agg(
                F.count(F.lit(1)).alias("read"),
                F.count(PROBABILITY).alias("scored"),
                F.count(F.when(F.col(PROBABILITY) >= model.threshold, 1)).alias("positive"),
            ).first()
            by_reason = checked.filter(F.col(REASON) != "").groupBy(REASON).count()
            reasons = {r[REASON]: r["count"] for r in by_reason.orderBy(F.desc("count"), REASON).collect()}
            _check_accounting(totals["read"], totals["scored"], sum(reasons.values()), data_path if is_parquet else None)
            scored = _ranked(checked.filter(F.col(PROBABILITY).isNotNull()))
            labels = F.when(F.col(PROBABILITY) >= model.threshold, model.positive_class).otherwise(model.negative_class)
            scored = scored.select(
                F.col(config.ID_COLUMN).cast("double").cast("long").alias(SCORED_COLUMNS[0]),
                F.col(config.VIDEO_ID).cast("double").cast("long").alias(SCORED_COLUMNS[1]),
                F.col(PROBABILITY).alias(SCORED_COLUMNS[2]),
                _neutralized(labels).alias(SCORED_COLUMNS[3]),
                F.col("__rank").alias(SCORED_COLUMNS[4]),
                POSITION,
            )
            rejected = checked.filter(F.col(REASON) != "").select(
                F.col(POSITION).alias(position),
                *(_neutralized(F.col(c)).alias(c) for c in (config.ID_COLUMN, config.VIDEO_ID, REASON)),
            ).withColumnRenamed(REASON, REJECT_REASON_COLUMN)
            partial_out = out_path.with_name(out_path.name + ".partial")
            partial_rejects = rejects_path.with_name(rejects_path.name + ".partial")
            try:
                _write_single_csv(
                    scored, SCORED_COLUMNS[4] if sort else POSITION, partial_out, f"{directory}/scored", drop=POSITION
                )
                _write_single_csv(rejected, position, partial_rejects, f"{directory}/rejects")
                partial_rejects.replace(rejects_path)
                partial_out.replace(out_path)
            finally:
                partial_out.unlink(missing_ok=True)
                partial_rejects.unlink(missing_ok=True)
        finally:
            checked.unpersist()
        return ScoringResult(
            source=str(data_path),
            out=out_path,
            rejects=rejects_path,
            rows_read=totals["read"],
            rows_scored=totals["scored"],
            rejected=reasons,
            predicted_positive=totals["positive"],
            positive_class=model.positive_class,
            threshold=model.threshold,
            sorted=sort,
            seconds=time.perf_counter() - started,
        )


# ------------------------------------------------------------------------------ reading


def _csv_rows(spark, path: Path, model: LoadedModel):
    """Every data line: its line number, the model's columns as text, or a reason if broken."""
    header = csv_header(path)
    columns = resolve_columns(path, header, model)
    lines = _numbered(spark.read.text(spark_url(path)), "value").filter(F.col(POSITION) >= FIRST_DATA_LINE - 1)
    lines = lines.withColumn(POSITION, F.col(POSITION) + 1)  # the header is line 1
    text = F.col("value")
    fields = F.size(F.split(F.regexp_replace(text, QUOTED_SECTION, ""), ",", -1))
    n = len(header)
    broken = (
        F.when(F.trim(text) == "", F.lit(EMPTY_ROW))
        .when(
            (fields == 1) & F.trim(text).startswith('"') & (F.size(F.split(text, ",", -1)) - 1 >= n - 1),
            F.lit(REQUOTED),
        )
        .when(fields != n, F.concat(fields.cast("string"), F.lit(f" field(s); the header has {n}")))
    )
    schema = ", ".join(f"`f{i}` STRING" for i in range(n))
    parsed = F.from_csv(text, schema, {"escape": '"', "mode": "PERMISSIVE"})
    selected = [
        F.when(broken.isNull(), F.nullif(parsed[f"f{header.index(file_name)}"], F.lit(""))).alias(name)
        for name, file_name in columns.items()
    ]
    return lines.select(POSITION, broken.alias("__broken"), *selected), "line"


def _parquet_rows(spark, path: Path, model: LoadedModel):
    """Every row: its 1-based row number and the model's columns as read."""
    try:
        frame = spark.read.parquet(spark_url(path))
    except Exception as exc:  # Spark raises its own analysis errors for unreadable files
        raise DataError(f"{path}: cannot be read as Parquet ({exc}).") from None
    columns = resolve_columns(path, frame.columns, model)
    frame = frame.select(*(F.col(f"`{file_name}`").alias(name) for name, file_name in columns.items()))
    rows = _numbered(frame, *columns).withColumn(POSITION, F.col(POSITION) + 1)
    return rows.withColumn("__broken", F.lit(None).cast("string")), "row"


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
    return _with_offsets(tagged, POSITION)


def _ranked(scored):
    """Scored rows with ``__rank``: 1 = highest probability, ties in input order."""
    ordered = scored.orderBy(F.desc(PROBABILITY), F.asc(POSITION)).select(
        "*", F.spark_partition_id().alias("__group"), F.monotonically_increasing_id().alias("__id")
    )
    return _with_offsets(ordered, "__rank").withColumn("__rank", F.col("__rank") + 1)


def _with_offsets(tagged, out: str):
    """``out`` = rows of the earlier ``__group`` values + the row's index inside its group.

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
    return joined.withColumn(out, F.col("__before") + F.col("__id") - F.col("__first")).drop(
        "__group", "__id", "__first", "__before"
    )


# ----------------------------------------------------------------------------- checking


def _with_reason(rows, model: LoadedModel):
    """``rows`` with ``REASON``: each row's reason (``""`` for a good row), as :meth:`LoadedModel.check` words it.

    Built in steps (the masks, then the listed problems, then the reason), each a
    column that the next step refers to: one nested expression would repeat every
    mask several times and outgrow Spark's 64 KB limit on generated code.
    """
    in_file_order = sorted(model.inputs, key=lambda spec: config.COLUMNS.index(spec.name))
    types = dict(rows.dtypes)
    checks = {spec.name: _column_check(F.col(f"`{spec.name}`"), types[spec.name], spec) for spec in in_file_order}
    missing = {name: (f"__missing{i}", mask) for i, (name, (mask, _)) in enumerate(checks.items())}
    listed_problems = (problem for _, column_problems in checks.values() for problem in column_problems)
    problems = {f"__problem{i}": problem for i, problem in enumerate(listed_problems)}
    flagged = rows.select(
        "*",
        *(mask.alias(flag) for flag, mask in missing.values()),
        *(mask.alias(flag) for flag, (_, mask) in problems.items()),
    )
    missing_names = F.concat_ws(", ", *(F.when(F.col(flag), F.lit(name)) for name, (flag, _) in missing.items()))
    listed = flagged.select(
        "*",
        F.concat_ws(
            "; ",
            F.when(missing_names != "", F.concat(F.lit("missing "), missing_names)),
            *(F.when(F.col(flag), F.lit(text)) for flag, (text, _) in problems.items()),
        ).alias("__listed"),
        reduce(operator.and_, (F.col(flag) for flag, _ in missing.values())).alias("__empty"),
    )
    ids = F.col(f"`{config.ID_COLUMN}`")
    requoted = (types[config.ID_COLUMN] == "string") & (F.size(F.split(ids, ",", -1)) - 1 >= len(config.COLUMNS) - 2)
    text = F.col("__listed")
    checked = F.when(F.col("__empty"), F.lit(EMPTY_ROW)).when((text != "") & requoted, F.lit(REQUOTED)).otherwise(text)
    return listed.select(*(F.col(f"`{c}`") for c in rows.columns), F.coalesce(F.col("__broken"), checked).alias(REASON))


def _column_check(value, kind: str, spec: ColumnSpec):
    """(missing, [(reason, mask), ...]) for one column: the rules of :func:`tiktok_claims.data.rules.check_values`."""
    markers = value.isin(*MISSING_MARKERS)
    is_text, is_integer = kind == "string", kind in ("tinyint", "smallint", "int", "bigint")
    is_number = is_integer or kind in ("float", "double")
    if not (is_text or (is_number and spec.kind != "category")):
        raise DataError(f"column '{spec.name}' holds {kind} values; expected {spec.expected}.")
    if spec.kind == "category":
        known = value.isin(*spec.categories)
        missing = _false_if_null(value.isNull() | (~known & markers))
        return missing, [(f"{spec.name}: unknown category", _false_if_null(~missing & ~known))]
    if spec.kind not in ("identifier", "count", "duration"):
        raise DataError(f"column '{spec.name}' is {spec.kind}; the Spark scorer checks numbers and categories only.")
    limit = F.lit(LARGEST_EXACT_INTEGER)
    if is_integer:
        number = value.cast("double")
        missing = value.isNull()
        beyond = _false_if_null(F.abs(value.cast("decimal(20,0)")) > limit)
        usable = ~missing & ~beyond
        problems = [(f"{spec.name}: beyond {LARGEST_EXACT_INTEGER:,}", beyond)]
    else:
        if is_text:
            trimmed = F.trim(value)
            number = F.when(trimmed.rlike("(?i)" + NUMBER_PATTERN), trimmed.try_cast("double"))
            missing = _false_if_null(value.isNull() | markers)
        else:
            number = value.cast("double")
            missing = _false_if_null(value.isNull() | F.isnan(number))
        nan = number.isNull() | F.isnan(number)
        infinite = _false_if_null(number.isin(float("inf"), float("-inf")))
        beyond = _false_if_null(~nan & ~infinite & (F.abs(number) > limit))
        usable = ~nan & ~infinite & ~beyond
        problems = [
            (f"{spec.name}: not a number", nan & ~missing),
            (f"{spec.name}: infinite", infinite),
            (f"{spec.name}: beyond {LARGEST_EXACT_INTEGER:,}", beyond),
        ]
        if spec.kind in ("identifier", "count"):
            problems.append((f"{spec.name}: not a whole number", usable & (F.floor(number) != number)))
    if spec.kind == "count":
        problems.append((f"{spec.name}: negative", usable & (number < 0)))
    if spec.kind == "duration":
        problems.append((f"{spec.name}: not positive", usable & (number <= 0)))
    return missing, [(text, _false_if_null(mask)) for text, mask in problems]


def _probability(model: LoadedModel):
    """1 / (1 + exp(-z)) with the artifact's transforms, scaling, dummy coding and coefficients, in its order."""
    payload = model.payload
    coef = iter(payload["coef"])
    logit = F.lit(float(payload["intercept"]))
    for column in payload["inputs"]:
        if column["kind"] in ("count", "duration"):
            slope = next(coef) / column["scale"]
            logit = logit + F.lit(slope) * (_entered(column, model.source) - F.lit(column["mean"]))
    for column in payload["inputs"]:
        if column["kind"] == "category":
            level = F.lit(0.0)
            for category in column["categories"][1:]:
                level = F.when(F.col(f"`{column['name']}`") == category, F.lit(next(coef))).otherwise(level)
            logit = logit + level
    return F.lit(1.0) / (F.lit(1.0) + F.exp(-logit))


def _entered(column: dict, source: str):
    """A continuous input as the model reads it: the number, or its ``transform`` (log1p) of it."""
    value = F.col(f"`{column['name']}`").try_cast("double")
    transform = column.get("transform")
    if transform is None:
        return value
    if transform == "log1p":
        return F.log1p(value)
    raise ModelFileError(
        f"{source}: input {column['name']!r} has the transform {transform!r}, which the Spark scorer does not "
        "apply (it applies log1p); score this model with --engine local."
    )


def _false_if_null(mask):
    return F.coalesce(mask, F.lit(False))


def _neutralized(text):
    """The rule of :mod:`tiktok_claims.escaping`: a leading ``'`` before a formula-like start."""
    flagged = _false_if_null(reduce(operator.or_, (text.startswith(prefix) for prefix in FORMULA_PREFIXES)))
    return F.when(flagged, F.concat(F.lit("'"), text)).otherwise(text)


# ------------------------------------------------------------------------------ writing


def _check_accounting(read: int, scored: int, rejected: int, parquet: Path | None) -> None:
    if read != scored + rejected:
        raise RuntimeError(
            f"row accounting failed: {read:,} rows read != {scored:,} scored + {rejected:,} rejected; "
            "this is a bug, and no output was written."
        )
    if parquet is not None and read != pq.ParquetFile(parquet).metadata.num_rows:
        raise RuntimeError(f"{read:,} rows read != the rows in {parquet}'s Parquet metadata; this is a bug.")


def _write_single_csv(frame, order: str, path: Path, scratch: str, *, drop: str | None = None) -> None:
    """Write ``frame`` sorted by ``order`` (without the column ``drop``) as one CSV file at ``path``.

    Spark writes one part file under ``scratch``; the driver moves it to ``path``.
    """
    compression = "gzip" if path.name.lower().removesuffix(".partial").endswith(".gz") else "none"
    spark = frame.sparkSession
    (
        frame.orderBy(order)
        .coalesce(1)
        .drop(*([drop] if drop else []))
        .write.option("header", True)
        .option("escape", '"')
        .option("compression", compression)
        .csv(scratch)
    )
    parts = list_files(spark, scratch, "part-*")
    if not parts:
        raise DataError(
            f"Spark's executors wrote {path.name} where this machine cannot see it ({scratch}): with a cluster "
            "master, the scratch directory (--spark-tmp) must be storage that the executors and this machine "
            "share (a mount at the same path on every node, or an hdfs:// or s3a:// URL)."
        )
    if len(parts) != 1:
        raise RuntimeError(f"Spark wrote {len(parts)} part files for {path.name}; expected 1. This is a bug.")
    download(spark, parts[0], path)
