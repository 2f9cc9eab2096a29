"""The rules every row and value must follow, and how each broken rule is worded.

One implementation of the rules for every reader, vectorized over pyarrow arrays (one
mask per problem): :mod:`tiktok_claims.data.load` turns the masks into file-level
messages (naming lines) and sets incomplete rows aside; both scoring engines
(:mod:`tiktok_claims.scoring`) give each rejected row its reason. Every reason is
worded here: a value's problem (``"<column>: <what>"``, :func:`check_values`), missing
values (:func:`missing_reasons`), a row that breaks the CSV structure
(:func:`broken_row_reason`) and a record a spreadsheet re-quoted into one field
(:func:`holds_whole_record`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import config
from ..errors import DataError
from .schema import ColumnSpec

# Larger whole numbers cannot be held exactly in a float64 (2**53).
LARGEST_EXACT_INTEGER = 2**53
# Spellings of "no value" that spreadsheets and pandas write (pandas' default list).
MISSING_MARKERS = (
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)

NUMBER_PATTERN = r"^[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|inf|infinity|nan)$"

EMPTY_ROW = "no value in any column the model reads"
REQUOTED = "whole record in one field (a spreadsheet re-quoted the row)"
ALL_COUNTS = "all five counts"
# A record of the schema holds len(COLUMNS) - 1 commas; text with at least one fewer
# is (nearly) a whole record, not a value.
WHOLE_RECORD_COMMAS = len(config.COLUMNS) - 2
# A line break, then a line holding at least that many commas: a record inside a text.
SWALLOWED_PATTERN = r"[\r\n]([^\r\n,]*,){%d}" % WHOLE_RECORD_COMMAS

# Each value problem of check_values ("<column>: <what>"), as a file-level message counts it.
PROBLEM_WORDING = {
    "unknown category": "unknown categor(y/ies)",
    "not a number": "value(s) that are not numbers",
    "infinite": "infinite value(s)",
    f"beyond {LARGEST_EXACT_INTEGER:,}": f"value(s) beyond {LARGEST_EXACT_INTEGER:,}",
    "not a whole number": "value(s) that are not whole numbers",
    "negative": "negative value(s)",
    "not positive": "value(s) that are not positive",
}


@dataclass(frozen=True)
class ColumnCheck:
    """One column checked against its spec.

    Attributes
    ----------
    values : ndarray
        float64 numbers (numeric kinds) or category codes into the spec's categories
        (``-1`` where missing or unknown); unusable where a problem mask is true.
    missing : ndarray of bool
        Rows with no value (null, empty, NaN or one of ``MISSING_MARKERS``).
    problems : list of (str, ndarray of bool)
        Every other problem's reason (``"<column>: <what>"``) and the rows it hits.
    """

    values: np.ndarray
    missing: np.ndarray
    problems: list[tuple[str, np.ndarray]]


def check_values(values: pa.Array | pa.ChunkedArray, spec: ColumnSpec) -> ColumnCheck:
    """Check every value of one column, vectorized: the per-value rules of ``load.py``.

    The rules are those that ``tiktok_claims.data.load`` applies to a whole file,
    here as one mask per problem so that each row gets its own reason: missing
    (null, NaN or a marker such as ``#N/A``), not a number, infinite, beyond 2**53,
    not a whole number (identifiers, counts), negative (counts), not positive
    (durations), unknown category. Text is parsed as pyarrow's float cast does after
    trimming spaces (pandas' ``to_numeric`` accepts the same strings).

    Parameters
    ----------
    values : pyarrow Array or ChunkedArray
        Text (string, dictionary) or numbers.
    spec : ColumnSpec
        The column's rule.

    Returns
    -------
    ColumnCheck

    Raises
    ------
    DataError
        If the column holds neither text nor numbers (e.g. dates).
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    if pa.types.is_dictionary(values.type) and _is_text(values.type.value_type):
        return _check_dictionary(values, spec)
    if pa.types.is_null(values.type):  # a column with no value at all
        values = values.cast(pa.string())
    is_text = _is_text(values.type)
    is_number = pa.types.is_integer(values.type) or pa.types.is_floating(values.type)
    if not (is_text or (is_number and spec.kind != "category")):
        raise DataError(f"column '{spec.name}' holds {values.type} values; expected {spec.expected}.")
    missing = _filled(values.is_null())
    if spec.kind == "category":
        codes = pc.index_in(values, value_set=pa.array(spec.categories, values.type))
        codes = codes.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        missing |= _markers(values, ~missing & (codes < 0))
        return ColumnCheck(codes, missing, [(f"{spec.name}: unknown category", ~missing & (codes < 0))])

    numbers, beyond = _numbers(values, is_text)
    if is_text:
        missing |= _markers(values, ~missing & np.isnan(numbers))
    problems = []
    usable = ~beyond
    if not pa.types.is_integer(values.type):  # integers are finite whole numbers already
        nan = np.isnan(numbers)
        if pa.types.is_floating(values.type):
            missing |= nan
        finite = np.isfinite(numbers)
        beyond |= finite & (np.abs(numbers) > LARGEST_EXACT_INTEGER)
        usable = finite & ~beyond
        problems += [(f"{spec.name}: not a number", nan & ~missing), (f"{spec.name}: infinite", np.isinf(numbers))]
    problems.append((f"{spec.name}: beyond {LARGEST_EXACT_INTEGER:,}", beyond))
    if spec.kind in ("identifier", "count") and not pa.types.is_integer(values.type):
        problems.append((f"{spec.name}: not a whole number", usable & (np.floor(numbers) != numbers)))
    if spec.kind == "count":
        problems.append((f"{spec.name}: negative", usable & (numbers < 0)))
    if spec.kind == "duration":
        problems.append((f"{spec.name}: not positive", usable & (numbers <= 0)))
    return ColumnCheck(numbers, missing, problems)


def _numbers(values: pa.Array, is_text: bool) -> tuple[np.ndarray, np.ndarray]:
    """float64 values (NaN where missing or unparsable) and the integers beyond 2**53."""
    beyond = np.zeros(len(values), dtype=bool)
    if values.type in (pa.int64(), pa.uint64()):  # narrower integers cannot exceed 2**53
        # The bound in the column's own type: a uint64 beyond 2**63 fits no int64.
        beyond = _filled(pc.greater(values, pa.scalar(LARGEST_EXACT_INTEGER, values.type)))
        if values.type == pa.int64():
            beyond |= _filled(pc.less(values, -LARGEST_EXACT_INTEGER))
    if is_text:
        try:
            parsed = pc.cast(values, pa.float64())
        except pa.ArrowInvalid:
            # Some value is not a number: keep the parsable ones, the rest become null.
            trimmed = pc.utf8_trim_whitespace(values)
            ok = pc.match_substring_regex(trimmed, NUMBER_PATTERN, ignore_case=True)
            parsed = pc.cast(pc.if_else(ok, trimmed, pa.scalar(None, values.type)), pa.float64())
    else:
        # Integers beyond 2**53 round (they are flagged in ``beyond`` and never used).
        parsed = pc.cast(values, pa.float64(), safe=False)
    return parsed.to_numpy(zero_copy_only=False), beyond  # nulls become NaN


def _markers(values: pa.Array, candidates: np.ndarray) -> np.ndarray:
    """Rows among ``candidates`` whose text is a missing-value marker (e.g. ``#N/A``).

    Markers are never a category nor a finite number, so only the rows that are
    neither need looking up: usually none.
    """
    found = np.zeros(len(values), dtype=bool)
    rows = np.flatnonzero(candidates)
    if len(rows):
        found[rows] = _filled(pc.is_in(values.take(pa.array(rows)), value_set=pa.array(MISSING_MARKERS)))
    return found


def _check_dictionary(values: pa.DictionaryArray, spec: ColumnSpec) -> ColumnCheck:
    """Dictionary-encoded text (e.g. from Parquet): check the dictionary once, then map."""
    if spec.kind != "category" or len(values.dictionary) == 0:
        return check_values(values.dictionary_decode(), spec)
    dictionary = values.dictionary.cast(pa.string())
    level = pc.index_in(dictionary, value_set=pa.array(spec.categories)).fill_null(-1).to_numpy(zero_copy_only=False)
    marker = _filled(pc.is_in(dictionary, value_set=pa.array(MISSING_MARKERS)))
    indices = values.indices.fill_null(0).to_numpy(zero_copy_only=False)
    missing = _filled(values.is_null()) | marker[indices]
    codes = np.where(missing, -1, level[indices]).astype(np.int64)
    return ColumnCheck(codes, missing, [(f"{spec.name}: unknown category", ~missing & (codes < 0))])


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _filled(mask) -> np.ndarray:
    """A pyarrow boolean array as numpy, nulls read as false."""
    if mask.null_count:
        mask = mask.fill_null(False)
    return mask.to_numpy(zero_copy_only=False)


@dataclass(frozen=True)
class CheckedRows:
    """Rows checked column by column (see :func:`check_rows`).

    Attributes
    ----------
    values : dict of str to ndarray
        Each column's values (see :class:`ColumnCheck`).
    bad : ndarray of bool
        Rows with at least one problem.
    reasons : ndarray of object
        One reason per bad row, in row order.
    """

    values: dict[str, np.ndarray]
    bad: np.ndarray
    reasons: np.ndarray


def check_rows(table: pa.Table, specs: Sequence[ColumnSpec]) -> CheckedRows:
    """Check the columns ``specs`` of ``table`` row by row, and word each bad row's reason.

    A row's reason lists its missing columns first (:func:`missing_reasons`), then its
    other problems (:func:`check_values`), joined by ``"; "``, columns in the file's
    order. A row without any value gets :data:`EMPTY_ROW`; a row whose ``#`` holds a
    whole record while the other columns are empty gets :data:`REQUOTED`.

    Parameters
    ----------
    table : pyarrow Table
        At least the columns of ``specs``, by their names.
    specs : sequence of ColumnSpec
        The columns to check.

    Returns
    -------
    CheckedRows

    Raises
    ------
    DataError
        If a column holds neither text nor numbers (e.g. dates).
    """
    in_file_order = sorted(specs, key=lambda spec: config.COLUMNS.index(spec.name))
    checks = {spec.name: check_values(table.column(spec.name), spec) for spec in in_file_order}
    bad = np.zeros(table.num_rows, dtype=bool)
    for check in checks.values():
        bad |= check.missing
        for _, mask in check.problems:
            bad |= mask
    reasons = missing_reasons({name: check.missing[bad] for name, check in checks.items()})
    for check in checks.values():
        for reason, mask in check.problems:
            _append(reasons, mask[bad], reason, "; ")
    reasons[_all_of(check.missing[bad] for check in checks.values())] = EMPTY_ROW
    if config.ID_COLUMN in checks and len(checks) > 1:
        others_missing = _all_of(check.missing for name, check in checks.items() if name != config.ID_COLUMN)
        reasons[requoted_rows(table.column(config.ID_COLUMN), others_missing)[bad]] = REQUOTED
    return CheckedRows({name: check.values for name, check in checks.items()}, bad, reasons)


def missing_reasons(missing: dict[str, np.ndarray]) -> np.ndarray:
    """Per row, ``"missing a, b"``: the columns without a value, in the order given.

    Rows with no missing column get ``""``. When all five engagement counts are
    among the columns and all are missing, they are named together, last, as
    :data:`ALL_COUNTS`.

    Parameters
    ----------
    missing : dict of str to ndarray of bool
        For each column (in file order), the rows where it has no value.

    Returns
    -------
    ndarray of object
    """
    rows = len(next(iter(missing.values()))) if missing else 0
    names = np.full(rows, "", dtype=object)
    all_counts = np.zeros(rows, dtype=bool)
    if set(config.COUNT_COLUMNS) <= missing.keys():
        all_counts = _all_of(missing[name] for name in config.COUNT_COLUMNS)
    for name, mask in missing.items():
        _append(names, mask & ~all_counts if name in config.COUNT_COLUMNS else mask, name, ", ")
    _append(names, all_counts, ALL_COUNTS, ", ")
    return np.where(names == "", "", "missing " + names).astype(object)


def check_header(source: str, names: Sequence[str]) -> None:
    """Refuse a header that names a column of the schema (or one of its aliases) more than once.

    Which copy holds the values would be a guess: the loader and both scoring engines
    refuse such a file alike, naming the column and the positions of its copies.

    Raises
    ------
    DataError
    """
    known = set(config.COLUMNS) | set(config.COLUMN_ALIASES)
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(names, start=1):
        if str(name) in known:
            positions.setdefault(str(name), []).append(position)
    repeated = {name: where for name, where in positions.items() if len(where) > 1}
    if repeated:
        shown = "; ".join(
            f"{name!r} in columns {', '.join(map(str, where))}" for name, where in repeated.items()
        )
        raise DataError(
            f"{source}: the header names the same column more than once ({shown}), so which copy holds "
            "the values is unclear; expected each column once. Remove or rename the copies."
        )


CSV_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "vertical bar"}


def check_delimiter(source: str, names: Sequence[str]) -> None:
    """Refuse a CSV file whose header splits into the schema's names at another delimiter than ``,``.

    A spreadsheet set to a European locale writes ``;`` between fields: read with ``,``
    its header is one column, and every row "has the wrong number of fields". The
    message names the delimiter the file most likely uses.

    Raises
    ------
    DataError
    """
    if any(str(name) in config.COLUMNS for name in names):
        return
    joined = ",".join(str(name) for name in names)
    for delimiter, word in CSV_DELIMITERS.items():
        parts = [part.strip().strip('"') for part in joined.split(delimiter)]
        known = [part for part in parts if part in config.COLUMNS or part in config.COLUMN_ALIASES]
        if len(known) >= 2:
            raise DataError(
                f"{source}: the header holds {len(known)} of the expected column names separated by "
                f"{delimiter!r} ({word}), not by commas: the file looks {word}-delimited. Expected a "
                "comma-separated file; re-export it as CSV with commas (e.g. 'CSV UTF-8' in a spreadsheet)."
            )


def broken_row_reason(text: str, fields: int, expected_fields: int) -> str:
    """Why a CSV row that does not have the header's number of fields was not read.

    Parameters
    ----------
    text : str
        The row as it stands in the file.
    fields, expected_fields : int
        Its number of fields, and the header's.

    Returns
    -------
    str
        :data:`EMPTY_ROW` for a blank row, :data:`REQUOTED` for a re-quoted record
        (:func:`requoted_line`), else ``"<fields> field(s); the header has <expected>"``.
    """
    if text.strip() == "":
        return EMPTY_ROW
    if requoted_line(text, fields):
        return REQUOTED
    return f"{fields} field(s); the header has {expected_fields}"


def holds_whole_record(texts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Which texts hold a whole record rather than a value: at least :data:`WHOLE_RECORD_COMMAS` commas.

    The one test of the re-quoted-row heuristic (a spreadsheet that quoted a whole
    record into one field); non-text arrays hold no records.
    """
    return _text_test(texts, lambda text: pc.greater_equal(pc.count_substring(text, ","), WHOLE_RECORD_COMMAS))


def swallowed_records(texts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Which texts hold a line break and then a whole record (a line of :data:`WHOLE_RECORD_COMMAS` commas or more).

    A quote left open in a free-text field makes a CSV reader take the lines after it,
    up to the next quote, as part of that text: whole records vanish into one field
    and the fields after it shift. Text with line breaks is legitimate; a line of a
    record's commas inside it is not.
    """
    return _text_test(texts, lambda text: pc.match_substring_regex(text, SWALLOWED_PATTERN))


def _text_test(texts: pa.Array | pa.ChunkedArray, test) -> np.ndarray:
    """``test`` (an Arrow compute on text) of each value, as a mask; False for nulls and for arrays not of text."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks else pa.array([], texts.type)
    if pa.types.is_dictionary(texts.type):
        texts = texts.dictionary_decode()
    if not _is_text(texts.type):
        return np.zeros(len(texts), dtype=bool)
    return _filled(test(texts))


def requoted_line(text: str, fields: int) -> bool:
    """Whether a CSV line read as ``fields`` fields is a whole record quoted into one field."""
    stripped = text.strip()
    return fields == 1 and stripped.startswith('"') and bool(holds_whole_record(pa.array([stripped]))[0])


def requoted_rows(first: pa.Array | pa.ChunkedArray, others_missing: np.ndarray) -> np.ndarray:
    """Rows whose first field holds a whole record while every other field is empty.

    A CSV reader accepts such rows (the record's quotes make it one field, and the
    spreadsheet padded the row with empty fields); they must never pass for rows with
    missing values.
    """
    return holds_whole_record(first) & others_missing


def _all_of(masks) -> np.ndarray:
    """Element-wise AND of boolean arrays (of one length)."""
    return np.logical_and.reduce(list(masks))


def _append(texts: np.ndarray, hit: np.ndarray, item: str, separator: str) -> None:
    """Append ``item`` to the texts where ``hit``, with ``separator`` after non-empty ones."""
    if hit.any():
        current = texts[hit]
        texts[hit] = np.where(current == "", item, current + separator + item)
