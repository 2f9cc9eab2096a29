"""Neutralize cells that a spreadsheet would execute as a formula.

Rule (OWASP "CSV injection"): a text cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return gets a leading single quote, so spreadsheets show it as
text. Numbers are left alone (a negative number is data, not a formula); only text
cells are changed, and the change is visible, never silent data loss.
"""

from __future__ import annotations

import re

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PATTERN = "^[" + re.escape("".join(FORMULA_PREFIXES)) + "]"


def neutralize_cell(value):
    """Return ``value`` with a leading ``'`` if it is text that starts like a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) are neutralized."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralize_cell)
    safe.columns = [neutralize_cell(str(c)) for c in safe.columns]
    return safe


def write_csv(frame: pd.DataFrame, path, **kwargs) -> None:
    """Write ``frame`` as CSV with every text cell neutralized."""
    neutralize_frame(frame).to_csv(path, index=False, **kwargs)


def neutralize(values):
    """Text values with a leading ``'`` where a spreadsheet would run them as a formula.

    The same rule as :func:`neutralize_cell`, vectorized with pyarrow for millions of
    cells (used by the streaming scorer).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array([neutralize(chunk) for chunk in values.chunks], type=values.type)
    if pa.types.is_dictionary(values.type):  # neutralize each distinct value once
        return pa.DictionaryArray.from_arrays(values.indices, neutralize(values.dictionary))
    flagged = pc.fill_null(pc.match_substring_regex(values, FORMULA_PATTERN), False)
    if not pc.any(flagged).as_py():
        return values
    return pc.if_else(flagged, pc.binary_join_element_wise("'", values, ""), values)
