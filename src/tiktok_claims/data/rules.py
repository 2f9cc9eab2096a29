"""Per-value rules of the schema, vectorized over pyarrow arrays: one mask per problem.

One implementation of the rules for every reader: :mod:`tiktok_claims.data.load`
turns the masks into file-level messages (naming lines), the streaming scorer into a
reason per rejected row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
        beyond = _filled(pc.greater(values, LARGEST_EXACT_INTEGER))
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
        parsed = values.cast(pa.float64())
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
