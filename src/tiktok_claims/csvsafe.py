"""Neutralize cells that a spreadsheet would execute as a formula.

Rule (OWASP "CSV injection"): a text cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return gets a leading single quote, so spreadsheets show it as
text. Numbers are left alone (a negative number is data, not a formula); only text
cells are changed, and the change is visible, never silent data loss.
"""

from __future__ import annotations

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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
