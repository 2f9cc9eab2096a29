"""Text from the data, made safe for the format it is written in.

* Markdown: :func:`escape_markdown` backslash-escapes Markdown and inline-HTML
  metacharacters, :func:`markdown_code` makes a code span nothing in the text can close
  (HTML is escaped by Jinja2's autoescaping in the templates).
* CSV: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return gets a leading single quote, so spreadsheets show it as text instead of running
  it as a formula (OWASP "CSV injection"). Numbers are left alone (a negative number is
  data, not a formula); only text cells are changed, and the change is visible, never
  silent data loss. :func:`neutralize_cell` and :func:`neutralize_frame` apply the rule
  to Python values and DataFrames, :func:`neutralize` to Arrow arrays (millions of cells,
  for the scorer).
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#!&])")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PATTERN = "^[" + re.escape("".join(FORMULA_PREFIXES)) + "]"


def escape_markdown(text) -> str:
    """Escape Markdown and inline-HTML metacharacters in text that came from the data."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def markdown_code(text, in_table: bool = False) -> str:
    """``text`` as a Markdown inline code span that nothing in it can close or break.

    Backslashes do not escape inside a code span, so the fence is one backtick longer than
    the longest run of backticks in the text (padded with a space where the text starts
    or ends with one, which CommonMark then strips); what the span holds is shown as
    text, HTML included. A line break would end the paragraph or table row: it is shown
    as ``\\n``. ``in_table``: a GFM table splits its cells on ``|`` even inside a code
    span, unless escaped as ``\\|`` (which the table reads back as ``|``).
    """
    text = str(text).replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")
    if in_table:
        text = text.replace("|", "\\|")
    fence = "`" * (1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


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

    The rule of :func:`neutralize_cell`, vectorized with pyarrow.
    """
    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array([neutralize(chunk) for chunk in values.chunks], type=values.type)
    if pa.types.is_dictionary(values.type):  # neutralize each distinct value once
        return pa.DictionaryArray.from_arrays(values.indices, neutralize(values.dictionary))
    flagged = pc.fill_null(pc.match_substring_regex(values, FORMULA_PATTERN), False)
    if not pc.any(flagged).as_py():
        return values
    return pc.if_else(flagged, pc.binary_join_element_wise("'", values, ""), values)
