"""Read a claims file (CSV, .csv.gz or Parquet), validate it and account for every row.

Structural problems (missing columns, non-numeric or negative values, unknown
categories, broken rows, an empty or truncated file) refuse the whole file with one
:class:`~tiktok_claims.errors.DataError` that names the file, the column, the first
offending lines and what was expected. Rows with missing values are *set aside*,
each with its reason, so that ``rows_read == rows_used + sum(rows_set_aside)``.

Line numbers are the lines where records start, as an editor numbers them (the
header is line 1 when the file starts with it; see :mod:`tiktok_claims.data.csv_lines`).
Blank lines are not rows: they are skipped and counted in the notes.

:func:`check_file` (the ``validate`` command) checks a file the same way while holding
one chunk of rows at a time: its memory does not grow with the file.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .. import config
from ..errors import DataError
from .csv_lines import RecordLines, record_lines
from .files import CSV_BLOCK_BYTES, CheckedText, require_regular_file
from .rules import (
    MISSING_MARKERS,
    PROBLEM_WORDING,
    check_delimiter,
    check_header,
    check_values,
    missing_reasons,
    requoted_line,
    requoted_rows,
    swallowed_records,
)
from .schema import SCHEMA, ColumnSpec

FIRST_DATA_LINE = 2
UNNAMED_INDEX_HEADERS = ("", "Unnamed: 0")


@dataclass(frozen=True)
class Dataset:
    """Validated rows plus the accounting of every row read.

    Attributes
    ----------
    frame : DataFrame
        Complete, typed rows used by the analysis; the index is the source line.
    all_rows : DataFrame
        Every row read, typed, with missing values kept (for the EDA).
    set_aside : DataFrame
        ``line, #, video_id, reason`` for each row not used.
    source, sha256, synthetic, notes
        Provenance: where the data came from, its digest, whether it was generated,
        and every adaptation applied while reading (BOM, renamed columns, ...).
    """

    frame: pd.DataFrame
    all_rows: pd.DataFrame
    set_aside: pd.DataFrame
    source: str
    sha256: str
    synthetic: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rows_read(self) -> int:
        return len(self.all_rows)

    @property
    def rows_used(self) -> int:
        return len(self.frame)

    @property
    def rows_set_aside(self) -> dict[str, int]:
        counts = self.set_aside["reason"].value_counts(sort=True)
        return {str(reason): int(n) for reason, n in counts.items()}

    def accounting(self) -> pd.DataFrame:
        """Rows read, used and set aside per reason, as a tidy table.

        Returns
        -------
        DataFrame
            Columns ``item`` and ``rows``: rows read, rows used, then one row per
            set-aside reason.
        """
        return accounting_table(self.rows_read, self.rows_used, self.rows_set_aside)


def accounting_table(rows_read: int, rows_used: int, rows_set_aside: dict[str, int]) -> pd.DataFrame:
    """Rows read, used and set aside per reason, as a tidy table."""
    rows = [("rows read", rows_read), ("rows used", rows_used)]
    rows += [(f"set aside: {reason}", n) for reason, n in rows_set_aside.items()]
    return pd.DataFrame(rows, columns=["item", "rows"])


def load_dataset(path: str | Path) -> Dataset:
    """Read and validate the claims file at ``path``.

    Parameters
    ----------
    path : str or Path
        A CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) file with the
        columns of :data:`tiktok_claims.data.schema.SCHEMA` (extra columns are ignored).

    Returns
    -------
    Dataset
        The complete typed rows, every row read, the rows set aside with their reasons,
        and the file's provenance.

    Raises
    ------
    DataError
        If the file is missing, unreadable or not a regular file, or breaks the schema
        (missing columns, bad values, broken rows); the message names the file, the
        column, the first offending lines and what was expected.

    Examples
    --------
    >>> ds = load_dataset("tiktok_dataset.csv")  # doctest: +SKIP
    >>> ds.rows_read == ds.rows_used + sum(ds.rows_set_aside.values())  # doctest: +SKIP
    True
    """
    path = Path(path)
    require_regular_file(path, "a CSV, .csv.gz or Parquet file")
    raw, notes = _read_raw(path)
    return validate_frame(raw, source=str(path), sha256=file_sha256(path), notes=notes)


def dataset_from_frame(
    frame: pd.DataFrame, *, source: str, synthetic: bool = False
) -> Dataset:
    """Validate an in-memory frame (e.g. the synthetic default) exactly like a file."""
    digest = hashlib.sha256(frame.to_csv(index=False).encode("utf-8")).hexdigest()
    return validate_frame(frame, source=source, sha256=digest, synthetic=synthetic)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_raw(path: Path) -> tuple[pd.DataFrame, list[str]]:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return _read_parquet(path), []
    return _read_csv(path)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        check_header(str(path), pq.read_schema(path).names)  # before the reader trips on repeated names
        return pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: cannot be read as Parquet ({exc}).") from None


def _read_csv(path: Path) -> tuple[pd.DataFrame, list[str]]:
    reader = CsvReader(path)
    with reader.batches() as batches:
        table = pa.Table.from_batches(list(batches), schema=reader.schema)
    frame = table.to_pandas()
    frame.index = reader.data_lines(len(frame))
    return frame, reader.notes


class CsvReader:
    """A CSV file read in batches of text columns, refused clearly when it cannot be read.

    Blank lines are skipped; rows without the header's number of fields refuse the file
    (:meth:`data_lines`, once every batch is read). Rows are numbered as records while
    reading; :meth:`lines_of` turns record numbers into lines.
    """

    def __init__(self, path: Path):
        self.path = path
        self.broken: list[tuple[int | None, int, str]] = []
        self.read_options = pacsv.ReadOptions(use_threads=False, block_size=CSV_BLOCK_BYTES)
        self.parse_options = pacsv.ParseOptions(
            newlines_in_values=True, ignore_empty_lines=True, invalid_row_handler=self._set_broken_row_aside
        )
        self._text: CheckedText | None = None
        self._map: RecordLines | None = None
        self.rows = 0
        with self._refusals():
            self.notes = _sniff_text_file(path)
            with CheckedText(path) as text, pacsv.open_csv(text, read_options=self.read_options, parse_options=self.parse_options) as reader:
                names = reader.schema.names
            check_delimiter(str(path), names)
        self.schema = pa.schema([(name, pa.string()) for name in names])
        self.convert = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )

    def _set_broken_row_aside(self, row) -> str:
        self.broken.append((row.number, row.actual_columns, row.text))
        return "skip"

    @contextmanager
    def batches(self) -> Iterator[Iterator[pa.RecordBatch]]:
        """The file's rows, batch by batch (text columns), as they are read."""
        self.broken.clear()
        with self._refusals(), CheckedText(self.path) as self._text:
            with pacsv.open_csv(self._text, read_options=self.read_options, parse_options=self.parse_options, convert_options=self.convert) as reader:

                def rows() -> Iterator[pa.RecordBatch]:
                    with self._refusals():
                        for batch in reader:
                            self.rows += batch.num_rows
                            yield batch

                yield rows()

    def lines_of(self, records) -> np.ndarray:
        """The lines of records numbered as the reader does (the header is record 1); after reading."""
        records = np.asarray(records, dtype=np.int64)
        if self._map is None:
            total = 1 + self.rows + len(self.broken)
            if self._text.lines.lines == total:  # every line holds one record
                return records
            self._map = record_lines(self.path)
            if self._map.blank:
                self.notes.append(f"skipped {self._map.blank:,} blank line(s)")
        return self._map.of(records)

    def refuse_broken_rows(self) -> None:
        """Refuse the file if a row did not have the header's number of fields; after reading."""
        if self.broken:
            lines = self.lines_of([number for number, _, _ in self.broken])
            located = [(int(line), actual, text) for line, (_, actual, text) in zip(lines, self.broken)]
            raise DataError(_describe_broken_rows(self.path, located, len(self.schema)))

    def data_lines(self, rows: int) -> pd.Index:
        """The line of each of the ``rows`` rows read; refuses the file if a row was broken."""
        self.refuse_broken_rows()
        return pd.Index(self.lines_of(np.arange(FIRST_DATA_LINE, FIRST_DATA_LINE + rows)), name="line")

    @contextmanager
    def _refusals(self) -> Iterator[None]:
        path = self.path
        try:
            yield
        except pa.ArrowInvalid as exc:
            message = str(exc)
            refusal = CheckedText.refusal(path, exc)
            if refusal is not None:
                raise refusal from None
            if "Empty CSV file" in message:
                if path.stat().st_size == 0:
                    raise DataError(f"{path}: the file is empty; expected a CSV header and rows.") from None
                raise DataError(
                    f"{path}: the file holds a single line (a header?) and no data rows; "
                    "expected a CSV header followed by at least one row."
                ) from None
            raise DataError(f"{path}: cannot be read as CSV ({message}).") from None
        except OSError as exc:
            raise DataError(f"{path}: cannot be read ({exc}); is the file compressed as its name says?") from None
        except UnicodeDecodeError:
            raise DataError(
                f"{path}: this is not a CSV text file (it is not UTF-8 text); "
                "expected a comma-separated file with a header row."
            ) from None


def _sniff_text_file(path: Path) -> list[str]:
    """Notes on the file's encoding details, and a clear refusal of JSON (binary data: :class:`CheckedText`)."""
    with pa.input_stream(str(path)) as stream:  # decompresses .gz transparently
        head = stream.read(64 * 1024)
    notes = []
    if head.startswith(b"\xef\xbb\xbf"):
        notes.append("the file starts with a UTF-8 byte-order mark (ignored)")
    if b"\r\n" in head:  # (in its first 64 KiB)
        mixed = head.count(b"\n") > head.count(b"\r\n")
        notes.append("the file mixes Windows (CRLF) and Unix (LF) line ends" if mixed else "the file has Windows (CRLF) line ends")
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        raise DataError(
            f"{path}: this looks like JSON, not CSV; expected a comma-separated file with a header row."
        )
    return notes


def _describe_broken_rows(path: Path, broken: list, expected_fields: int) -> str:
    lines = []
    for number, actual, text in broken[: config.MAX_REPORTED_LINES]:
        where = f"line {number}" if number is not None else "a line"
        stripped = text.strip()
        if requoted_line(stripped, actual):
            why = (
                "holds a whole record inside one quoted field (a spreadsheet re-quoted "
                "the row)"
            )
        elif text and not stripped:  # blank lines are skipped; one of spaces or tabs is not blank
            lines.append(f"  - {where} holds only white space ({_preview(text)}): delete it or make it empty")
            continue
        else:
            why = f"has {actual} fields"
        lines.append(f"  - {where} {why}: {_preview(stripped)}")
    if len(broken) > config.MAX_REPORTED_LINES:
        lines.append(f"  - and {len(broken) - config.MAX_REPORTED_LINES} more")
    last_number = broken[-1][0]
    truncated = broken[-1][1] < expected_fields and _ends_without_newline(path)
    head = (
        f"{path}: the file looks truncated (the last line stops part-way through a record); "
        if truncated and last_number is not None
        else f"{path}: "
    )
    return (
        f"{head}{len(broken)} line(s) do not have the {expected_fields} fields of the header, "
        f"so the rows cannot be read reliably. Expected every line to hold "
        f"{expected_fields} comma-separated fields. First offending lines:\n" + "\n".join(lines)
    )


def _ends_without_newline(path: Path) -> bool:
    with pa.input_stream(str(path)) as stream:
        data = stream.read()
    return not data.endswith(b"\n")


def _preview(text: str, width: int = 80) -> str:
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def validate_frame(
    raw: pd.DataFrame,
    *,
    source: str,
    sha256: str,
    synthetic: bool = False,
    notes: list[str] | tuple[str, ...] = (),
) -> Dataset:
    """Check ``raw`` against the schema and split it into used and set-aside rows."""
    notes = list(notes)
    check_header(source, [str(c) for c in raw.columns])
    raw = normalise_columns(raw, source, notes)
    if raw.empty:
        raise DataError(f"{source}: the file has a header but no data rows; expected at least one row.")
    if raw.index.name != "line":
        raw.index = pd.RangeIndex(FIRST_DATA_LINE, FIRST_DATA_LINE + len(raw), name="line")

    markers: Counter = Counter()
    all_rows, problems = check_rows(raw, markers, source)
    notes += marker_notes(markers)
    if problems:
        raise problems_error(source, problems)
    incomplete, set_aside = set_aside_rows(all_rows)
    frame = all_rows.loc[~incomplete].copy()
    for name in (config.ID_COLUMN, config.VIDEO_ID, *config.COUNT_COLUMNS):
        frame[name] = frame[name].astype("int64")
    return Dataset(
        frame=frame,
        all_rows=all_rows,
        set_aside=set_aside.reset_index(drop=True),
        source=source,
        sha256=sha256,
        synthetic=synthetic,
        notes=tuple(notes),
    )


def normalise_columns(raw: pd.DataFrame, source: str, notes: list[str]) -> pd.DataFrame:
    raw = raw.copy()
    raw.columns = [str(c) for c in raw.columns]
    first = raw.columns[0] if len(raw.columns) else None
    if first in UNNAMED_INDEX_HEADERS and first not in config.COLUMNS:
        raw = raw.drop(columns=first)
        notes.append("dropped a leading unnamed index column (written by pandas)")
    renames = {
        alias: canonical
        for alias, canonical in config.COLUMN_ALIASES.items()
        if alias in raw.columns and canonical not in raw.columns
    }
    if renames:
        raw = raw.rename(columns=renames)
        notes += [f"read column '{a}' as '{c}'" for a, c in renames.items()]
    missing = [name for name in config.COLUMNS if name not in raw.columns]
    if missing:
        found = ", ".join(repr(c) for c in raw.columns[:15])
        raise DataError(
            f"{source}: missing column(s) {', '.join(repr(m) for m in missing)}; "
            f"expected the columns {', '.join(repr(c) for c in config.COLUMNS)}; found {found}."
        )
    extra = [c for c in raw.columns if c not in config.COLUMNS]
    if extra:
        notes.append("ignored extra column(s): " + ", ".join(repr(c) for c in extra))
    return raw[list(config.COLUMNS)]


def check_rows(raw: pd.DataFrame, markers: Counter, source: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Typed rows (missing values kept) and the problems of ``raw`` (schema columns, index = lines).

    The missing-value markers found (e.g. ``#N/A``) are counted into ``markers``. A
    column of a type no rule reads (e.g. dates) is refused at once, naming ``source``.
    """
    try:
        return _check_rows(raw, markers)
    except DataError as exc:
        raise DataError(f"{source}: {exc}") from None


def _check_rows(raw: pd.DataFrame, markers: Counter) -> tuple[pd.DataFrame, list[Problem]]:
    raw = _blank_missing_markers(raw, markers)
    problems = _requoted_rows(raw) + _swallowed_records(raw)
    typed = {}
    for spec in SCHEMA:
        values, column_problems = _convert(raw[spec.name], spec)
        typed[spec.name] = values
        problems += column_problems
    all_rows = pd.DataFrame(typed, index=raw.index)
    if not problems:
        for name in (config.ID_COLUMN, config.VIDEO_ID, *config.COUNT_COLUMNS):
            all_rows[name] = all_rows[name].astype("Int64")  # whole numbers, possibly missing
    return all_rows, problems


def set_aside_rows(all_rows: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Which rows are incomplete, and ``line, #, video_id, reason`` for each of them."""
    missing = all_rows.isna()
    incomplete = missing.any(axis=1)
    set_aside = all_rows.loc[incomplete, [config.ID_COLUMN, config.VIDEO_ID]].copy()
    set_aside.insert(0, "line", set_aside.index)
    set_aside["reason"] = missing_reasons({name: missing[name].to_numpy()[incomplete.to_numpy()] for name in config.COLUMNS})
    return incomplete, set_aside


@dataclass(frozen=True)
class Problem:
    """One kind of bad value in one column: how many, the first few (line, value), what was expected.

    ``examples`` hold ``(line, value)``, or ``(line, None)`` where the value is not shown.
    """

    column: str
    what: str
    expected: str
    count: int
    examples: tuple[tuple[int, str | None], ...]

    def merged(self, other: Problem) -> Problem:
        """This problem and the same one found in later rows."""
        examples = (self.examples + other.examples)[: config.MAX_REPORTED_LINES]
        return replace(self, count=self.count + other.count, examples=examples)

    def relined(self, lines_of) -> Problem:
        """The same problem, its examples' record numbers turned into lines by ``lines_of``."""
        lines = lines_of([line for line, _ in self.examples]) if self.examples else []
        return replace(self, examples=tuple((int(line), value) for line, (_, value) in zip(lines, self.examples)))

    def __str__(self) -> str:
        more = f" and {self.count - len(self.examples)} more" if self.count > len(self.examples) else ""
        if all(value is None for _, value in self.examples):
            where = "line(s) " + ", ".join(str(line) for line, _ in self.examples)
            return f"column '{self.column}': {self.count} {self.what} at {where}{more}; expected {self.expected}."
        shown = ", ".join(f"line {line}: {_preview(value, 40)}" for line, value in self.examples)
        return f"column '{self.column}': {self.count} {self.what} ({shown}{more}); expected {self.expected}."


def merge_problems(found: dict[tuple[str, str], Problem], problems: list[Problem]) -> None:
    """Add ``problems`` (of later rows) to ``found``, keyed by column and kind, in order of discovery."""
    for problem in problems:
        key = (problem.column, problem.what)
        found[key] = found[key].merged(problem) if key in found else problem


def problems_error(source: str, problems: list[Problem]) -> DataError:
    """The refusal listing ``problems`` in one order however they were found: by column, then kind."""
    columns = [spec.name for spec in SCHEMA]
    problems = sorted(problems, key=lambda p: (p.examples[0][1] is not None, columns.index(p.column), p.what))
    return DataError(
        f"{source}: {len(problems)} problem(s) found; nothing was analysed.\n" + "\n".join(f"  - {p}" for p in problems)
    )


def marker_notes(markers: Counter) -> list[str]:
    return [f"read {n:,} cell(s) holding {marker!r} as missing values" for marker, n in markers.most_common()]


def _blank_missing_markers(raw: pd.DataFrame, markers: Counter) -> pd.DataFrame:
    """Turn the usual spellings of "no value" (e.g. Excel's ``#N/A``) into missing values.

    Only columns that can hold text are searched: a typed column (e.g. pyarrow's int64 of
    a frame read with ``dtype_backend="pyarrow"``) holds no such text, and pyarrow
    refuses to compare its values with strings.
    """
    textual = [pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype) for dtype in raw.dtypes]
    marked = pd.DataFrame(
        {column: raw[column].isin(MISSING_MARKERS) if text else False for column, text in zip(raw.columns, textual)},
        index=raw.index,
    )
    if not marked.to_numpy().any():
        return raw
    markers.update(pd.Series(raw.to_numpy()[marked.to_numpy()]).value_counts().to_dict())
    return raw.mask(marked)


def _swallowed_records(raw: pd.DataFrame) -> list[Problem]:
    """Rows whose transcription holds whole records after a line break: a stray quote swallowed them.

    The reader counts them as one row, so they would vanish from the accounting and the
    fields after the quote would shift into other videos; the file is refused instead.
    """
    lines = raw.index[swallowed_records(_as_arrow(raw[config.TRANSCRIPT]))]
    if len(lines) == 0:
        return []
    return [
        Problem(
            config.TRANSCRIPT,
            "row(s) hold whole records inside the text after a line break (a quote left open swallowed the lines after it)",
            "each record on its own line. Close or remove the stray quote (\") on that line and re-export",
            len(lines),
            tuple((int(line), None) for line in lines[: config.MAX_REPORTED_LINES]),
        )
    ]


def _requoted_rows(raw: pd.DataFrame) -> list[Problem]:
    """Rows whose first field holds a whole record and whose other fields are empty.

    A CSV reader may accept them silently; they must never pass for missing values.
    """
    rest_empty = raw.drop(columns=config.ID_COLUMN).isna().all(axis=1).to_numpy()
    lines = raw.index[requoted_rows(_as_arrow(raw[config.ID_COLUMN]), rest_empty)]
    if len(lines) == 0:
        return []
    return [
        Problem(
            config.ID_COLUMN,
            "row(s) hold a whole record inside one field (a spreadsheet re-quoted them)",
            "each field in its own column. Re-export the file without quoting whole rows",
            len(lines),
            tuple((int(line), None) for line in lines[: config.MAX_REPORTED_LINES]),
        )
    ]


def _convert(values: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, list[Problem]]:
    """Typed values of one column and its problems, by the rules of ``data.rules``."""
    present = values.notna()
    if spec.kind == "text":
        return values.astype("string").astype(object).where(present, None), []
    check = check_values(_as_arrow(values), spec)
    problems = [
        _problem(spec, values, pd.Series(mask, index=values.index), PROBLEM_WORDING[reason.split(": ", 1)[1]])
        for reason, mask in check.problems
        if mask.any()
    ]
    if spec.kind == "category":
        levels = np.asarray(spec.categories, dtype=object)
        codes = check.values
        typed = np.where(codes >= 0, levels[np.clip(codes, 0, None)], None)
        return pd.Series(typed, index=values.index, dtype=object), problems
    return pd.Series(check.values, index=values.index, dtype="float64").where(~check.missing), problems


def _as_arrow(values: pd.Series):
    """A pyarrow array of the column; mixed Python objects are compared as text."""
    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):  # e.g. complex numbers: as their text
        return pa.array(values.astype("string"), from_pandas=True)


def _problem(spec: ColumnSpec, values: pd.Series, mask: pd.Series, what: str) -> Problem:
    bad = values[mask]
    shown = bad.iloc[: config.MAX_REPORTED_LINES]
    return Problem(spec.name, what, spec.expected, len(bad), tuple((int(line), str(v)) for line, v in shown.items()))
