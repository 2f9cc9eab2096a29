"""The scoring contract: what both engines do with every row, and how they account for it.

The in-process scorer (:mod:`tiktok_claims.scoring.local`) and the Spark scorer
(:mod:`tiktok_claims.scoring.spark`) call these functions on the same Arrow data, so the
two cannot drift apart:

* the columns read (:func:`resolve_columns`, with the known header aliases) and the
  column types accepted (:func:`check_input_types`);
* how CSV text is parsed (:func:`csv_header`, :func:`csv_parse_options`,
  :func:`csv_convert_options`) and the reason given to a row that is not a record
  (:class:`BrokenRows`);
* every row checked and scored (:func:`score_rows`): the rules and reasons of
  :func:`tiktok_claims.data.rules.check_rows`, the model's
  :meth:`~tiktok_claims.artifact.model.LoadedModel.linear_predictor` (a row whose
  values the model cannot take, :meth:`~tiktok_claims.artifact.model.LoadedModel.undefined`,
  or whose score is not finite, :data:`NO_FINITE_SCORE`, is rejected, never ranked) and the
  label rule (:func:`is_positive`);
* the accounting (:func:`check_accounting`) and its summary (:class:`ScoringResult`).

How rows are numbered: a CSV row's position is its *line* in the sense of
:mod:`tiktok_claims.data.load`: the header is line 1 and every record counts as one
line, even when a quoted value spans several physical lines; a Parquet row's position
is its 1-based row number. The encoding and placing of the two output files is
:mod:`tiktok_claims.scoring.writing`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from .. import config
from ..artifact.model import LoadedModel
from ..data.files import CSV_BLOCK_BYTES, CheckedText, require_regular_file
from ..data.rules import (
    broken_row_reason,
    check_delimiter,
    check_header,
    check_rows,
    check_values,
)
from ..errors import DataError
from ..folders import unwritable


def scored_columns(model: LoadedModel) -> tuple[str, ...]:
    """The scored file's columns; the third is named for the model's output, ``probability`` or ``score``."""
    return (config.ID_COLUMN, config.VIDEO_ID, model.output_name, "predicted_label", "priority_rank")
REJECT_REASON_COLUMN = "reason"
# A rejects file's columns after its first, the row's position ("line" in a CSV file, "row" in Parquet).
REJECT_POSITIONS = ("line", "row")
REJECT_COLUMNS = (config.ID_COLUMN, config.VIDEO_ID, REJECT_REASON_COLUMN)
# A valid row whose linear predictor overflows (an edited model): never scored, never ranked.
NO_FINITE_SCORE = "the model gives no finite score for these values (its coefficients overflow)"
PARQUET_SUFFIXES = (".parquet", ".pq")
REPORTED_REASONS = 5


@dataclass(frozen=True)
class ScoringResult:
    """The accounting of one scoring run (either engine).

    Attributes
    ----------
    source, out, rejects : str, Path, Path
        The input file and the two files written.
    rows_read, rows_scored : int
        Every row of the input (including broken lines), and those scored.
    rejected : dict of str to int
        Rows rejected, by reason, most frequent first (see :func:`reasons_by_frequency`).
    predicted_positive : int
        Scored rows predicted as ``positive_class`` (probability >= ``threshold``).
    positive_class, threshold : str, float
        From the model.
    output_name : str
        What the scored file's third column holds: ``probability`` or ``score`` (from the model).
    sorted : bool
        Whether the scored rows are in priority order (else input order).
    seconds : float
        Wall time.
    notes : tuple of str
        One-line notes for the user (temporary folders of killed runs removed), each a line after the summary.
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
    output_name: str = "probability"
    notes: tuple[str, ...] = ()

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
            f"Scored rows ({order}; priority rank 1 = highest {self.output_name} of '{self.positive_class}'; "
            f"{self.predicted_positive:,} at or above the threshold {self.threshold:.4f}): {self.out}. "
            f"Rejected rows with their reasons: {self.rejects}. "
            f"{self.seconds:.1f} s, {rate:,.0f} rows/s."
        ) + "".join(f"\nNote: {note}." for note in self.notes)


# -------------------------------------------------------------------------------- files


def default_rejects(out_path: Path) -> Path:
    """``<out name without .csv or .csv.gz>_rejects.csv`` beside ``out_path``.

    Nobody named that file: an existing file of its name is replaced only when it is a
    rejects file a scoring run wrote (its header says so); anything else is refused.
    """
    name = out_path.name
    for suffix in (".csv.gz", ".csv"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    path = out_path.with_name(f"{name}_rejects.csv")
    if os.path.lexists(path) and not _is_rejects_file(path):
        raise DataError(
            f"{path}: exists, and is not a rejects file of tiktok-claims; the rejected rows of --out {out_path} would "
            "replace it. Name the rejects file with --rejects PATH, or move it."
        )
    return path


def _is_rejects_file(path: Path) -> bool:
    """A plain file that starts with the header of a rejects file (:func:`~tiktok_claims.scoring.writing.rejects_schema`)."""
    headers = [(",".join((position, *REJECT_COLUMNS)) + "\n").encode() for position in REJECT_POSITIONS]
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(max(map(len, headers))).startswith(tuple(headers))
    except OSError:
        return False


def check_paths(model_path: Path, data_path: Path, out_path: Path, rejects_path: Path) -> None:
    """Refuse, before any work, a data file that is not a regular file and outputs that cannot be written.

    An output is refused when it would overwrite an input or the other output, when it
    names an existing directory or special file (a device, a FIFO), when a component of
    its folder is a file, or when its folder exists but cannot be written to.
    """
    require_regular_file(data_path, "a CSV, .csv.gz or Parquet file of videos to score")
    inputs = {model_path.resolve(): "the model", data_path.resolve(): "the data"}
    for path, what in ((out_path, "the scored output"), (rejects_path, "the rejects output")):
        if path.resolve() in inputs:
            raise DataError(f"{path}: {what} would overwrite {inputs[path.resolve()]}; choose another file.")
        _check_writable(path, what)
    if out_path.resolve() == rejects_path.resolve():
        raise DataError(f"{out_path}: the scored and rejects outputs must be different files.")


def _check_writable(path: Path, what: str) -> None:
    """Refuse an output path that names a directory or special file, or lies in a folder that cannot be written."""
    if path.is_dir():
        raise DataError(f"{path}: {what} names an existing directory; expected the name of a file to write.")
    if path.exists() and not path.is_file():
        raise DataError(f"{path}: {what} names a special file (a device or a FIFO); expected a regular file name.")
    problem = unwritable(path.parent)
    if problem:
        raise DataError(f"{path}: {what} cannot be written: {problem}.")


def is_parquet(path: Path) -> bool:
    return path.name.lower().endswith(PARQUET_SUFFIXES)


# ------------------------------------------------------------------------------ columns


def resolve_columns(path: Path, found: list[str], model: LoadedModel) -> dict[str, str]:
    """File column name for each input the model needs (accepting the known aliases).

    A header that names a column of the schema twice is refused (:func:`tiktok_claims.data.rules.check_header`).
    """
    check_header(str(path), found)
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


def check_input_types(path: Path, schema: pa.Schema, columns: dict[str, str], model: LoadedModel) -> None:
    """Refuse, before any row is read, a column whose type the rules cannot check (e.g. dates).

    ``columns`` maps each input to its name in ``schema`` (see :func:`resolve_columns`).
    """
    for spec in model.inputs:
        try:
            check_values(pa.array([], schema.field(columns[spec.name]).type), spec)
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from None


def canonical(table: pa.Table, columns: dict[str, str]) -> pa.Table:
    """The model's inputs of ``table``, under their canonical names."""
    return pa.table({name: table.column(file_name) for name, file_name in columns.items()})


# ---------------------------------------------------------------------------------- CSV


def csv_header(path: Path) -> list[str]:
    """The header's column names (reading only the first block, checked to be text).

    A header whose names are separated by another delimiter than ``,`` is refused
    naming it (:func:`tiktok_claims.data.rules.check_delimiter`).
    """
    options = pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=lambda row: "skip")
    read = pacsv.ReadOptions(use_threads=False, block_size=CSV_BLOCK_BYTES)
    try:
        with CheckedText(path) as text, pacsv.open_csv(text, read_options=read, parse_options=options) as reader:
            names = reader.schema.names
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            raise DataError(f"{path}: the file is empty; expected a CSV header and rows.") from None
        raise CheckedText.refusal(path, exc) or DataError(f"{path}: cannot be read as CSV ({exc}).") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}); is the file compressed as its name says?") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: this is not a CSV text file (it is not UTF-8 text).") from None
    check_delimiter(str(path), names)
    return names


def csv_parse_options(broken: BrokenRows) -> pacsv.ParseOptions:
    """RFC 4180 with quoted line breaks; blank lines skipped (not rows); rows of the wrong width go to ``broken``."""
    return pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True, invalid_row_handler=broken)


def csv_convert_options(file_columns: list[str]) -> pacsv.ConvertOptions:
    """Only the model's columns, as text; an empty field is no value."""
    return pacsv.ConvertOptions(
        column_types={name: pa.string() for name in file_columns},
        include_columns=file_columns,
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )


class BrokenRows:
    """The CSV reader's handler for rows without the header's number of fields.

    Each such row is skipped, and recorded as ``(row number, reason)`` in
    :attr:`found` (reasons by :func:`tiktok_claims.data.rules.broken_row_reason`). The
    reader must run with ``use_threads=False``, else it does not number rows.
    """

    def __init__(self, expected_fields: int):
        self.expected_fields = expected_fields
        self.found: list[tuple[int, str]] = []

    def __call__(self, row) -> str:
        if row.number is None:
            raise RuntimeError("pyarrow did not report the line of a broken row; read with use_threads=False.")
        self.found.append((row.number, broken_row_reason(row.text, row.actual_columns, self.expected_fields)))
        return "skip"


# ------------------------------------------------------------------------------ scoring


@dataclass(frozen=True)
class Rejects:
    """Rejected rows: where they are, their identifiers as given (text), and why."""

    positions: np.ndarray
    ids: pa.Array
    video_ids: pa.Array
    reasons: np.ndarray  # of str

    @classmethod
    def broken(cls, broken: list[tuple[int, str]]) -> Rejects:
        """Rows the CSV reader set aside: no fields to echo."""
        blank = pa.nulls(len(broken), pa.string())
        reasons = np.array([reason for _, reason in broken], dtype=object)
        return cls(np.array([position for position, _ in broken], dtype=np.int64), blank, blank, reasons)

    @classmethod
    def concat(cls, parts: list[Rejects]) -> Rejects:
        """All ``parts`` together, in position order."""
        positions = np.concatenate([part.positions for part in parts])
        order = np.argsort(positions, kind="stable")
        take = pa.array(order)
        return cls(
            positions[order],
            pa.concat_arrays([part.ids for part in parts]).take(take),
            pa.concat_arrays([part.video_ids for part in parts]).take(take),
            np.concatenate([part.reasons for part in parts])[order],
        )


@dataclass(frozen=True)
class ScoredRows:
    """Rows checked and scored (see :func:`score_rows`).

    Attributes
    ----------
    rows : int
        Rows checked.
    rejects : Rejects
        The rejected rows, with their reasons.
    positions, probability, ids, video_ids : ndarray
        The scored rows, in input order: position, probability of the positive class,
        and the identifiers as numbers.
    """

    rows: int
    rejects: Rejects
    positions: np.ndarray
    probability: np.ndarray
    ids: np.ndarray
    video_ids: np.ndarray


def score_rows(model: LoadedModel, table: pa.Table, positions: np.ndarray) -> ScoredRows:
    """Check every row of ``table`` against the model's inputs; score the good ones.

    Parameters
    ----------
    model : LoadedModel
    table : pyarrow Table
        The model's inputs under their canonical names (see :func:`canonical`), as
        text or numbers.
    positions : ndarray of int64
        Each row's line (CSV) or row number (Parquet).

    Returns
    -------
    ScoredRows
    """
    checked = check_rows(table, model.inputs)
    logits = model.linear_predictor(checked.values)
    bad, reasons = checked.bad, checked.reasons
    # Valid values the model cannot take (a formula's log of 0), then scores that are not finite.
    for reason, rows in [*model.undefined(checked.values), (NO_FINITE_SCORE, ~np.isfinite(logits))]:
        added = rows & ~bad
        if added.any():
            every = np.full(table.num_rows, None, dtype=object)
            every[bad], every[added] = reasons, reason
            bad = bad | added
            reasons = every[bad]
    good = ~bad
    probability = model.logistic(logits[good])
    rejected = table.select([config.ID_COLUMN, config.VIDEO_ID]).filter(pa.array(bad))
    return ScoredRows(
        rows=table.num_rows,
        rejects=Rejects(positions[bad], _as_text(rejected.column(0)), _as_text(rejected.column(1)), reasons),
        positions=positions[good],
        probability=probability,
        ids=checked.values[config.ID_COLUMN][good].astype(np.int64),
        video_ids=checked.values[config.VIDEO_ID][good].astype(np.int64),
    )


def is_positive(probability: np.ndarray, model: LoadedModel) -> np.ndarray:
    """The label rule (:meth:`~tiktok_claims.artifact.model.LoadedModel.is_positive`), for arrays the scorer holds."""
    return model.is_positive(probability)


def _as_text(column) -> pa.Array:
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return column.cast(pa.string())


# --------------------------------------------------------------------------- accounting


def reasons_by_frequency(counts: Mapping[str, int]) -> dict[str, int]:
    """Rejected rows per reason, most frequent first (equal counts by reason)."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def check_accounting(
    rows_read: int, rows_scored: int, rows_rejected: int, rows_ranked: int, rows_in_metadata: int | None
) -> None:
    """Every row read is scored or rejected, every scored row ranked, every Parquet row read; else a bug.

    Raises
    ------
    RuntimeError
        On any mismatch; the outputs are then not moved into place.
    """
    if rows_read != rows_scored + rows_rejected:
        raise RuntimeError(
            f"row accounting failed: {rows_read:,} rows read != {rows_scored:,} scored + "
            f"{rows_rejected:,} rejected; this is a bug, and no output was written."
        )
    if rows_ranked != rows_scored:
        raise RuntimeError(
            f"{rows_ranked:,} rows ranked != {rows_scored:,} scored; this is a bug, and no output was written."
        )
    if rows_in_metadata is not None and rows_read != rows_in_metadata:
        raise RuntimeError(
            f"{rows_read:,} rows read != {rows_in_metadata:,} rows in the Parquet metadata; "
            "this is a bug, and no output was written."
        )
