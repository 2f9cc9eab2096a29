"""The formula guard for CSV outputs (OWASP "CSV injection")."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from tiktok_claims.escaping import (
    markdown_code,
    neutralize_cell,
    neutralize_frame,
    write_csv,
)

FORMULAS = ["=1+2", "+1", "-1+2", "@SUM(A1:A2)", "\tcmd", "\rcmd", '=HYPERLINK("http://x","y")', "=", "-"]
HARMLESS = ["abc", "", " =1", "'=already quoted", "1-2", "a=b", "verified", "'opinion' vs 'claim'"]


@pytest.mark.parametrize("text", FORMULAS)
def test_text_starting_like_a_formula_gets_a_leading_quote(text):
    assert neutralize_cell(text) == "'" + text


@pytest.mark.parametrize("text", HARMLESS)
def test_other_text_is_unchanged(text):
    assert neutralize_cell(text) == text


@pytest.mark.parametrize("value", [-1, -2.5, 0, 3, np.int64(-7), np.float64(-0.25), None, True])
def test_numbers_and_non_text_are_unchanged(value):
    assert neutralize_cell(value) is value


def test_nan_is_unchanged():
    assert np.isnan(neutralize_cell(float("nan")))


def test_frame_text_cells_and_column_names_are_neutralized_and_numbers_kept():
    frame = pd.DataFrame(
        {
            "name": ["=cmd", "safe", "-x", "@y"],
            "=evil column": [1, -2, 3, -4],
            "coef": [-1.5, 2.0, -0.0, np.nan],
            "label": pd.Series(["+1", "b", None, "\tz"], dtype="string"),
            "level": pd.Series(["=a", "b", "=a", "-c"], dtype="category"),
        }
    )
    original = frame.copy()

    safe = neutralize_frame(frame)

    assert list(safe.columns) == ["name", "'=evil column", "coef", "label", "level"]
    assert safe["level"].astype(str).tolist() == ["'=a", "b", "'=a", "'-c"]
    assert safe["name"].tolist() == ["'=cmd", "safe", "'-x", "'@y"]
    assert safe["label"].tolist()[:2] == ["'+1", "b"] and safe["label"].tolist()[3] == "'\tz"
    assert pd.isna(safe["label"].iloc[2])
    assert safe["'=evil column"].tolist() == [1, -2, 3, -4]
    assert safe["'=evil column"].dtype == frame["=evil column"].dtype
    np.testing.assert_array_equal(safe["coef"].to_numpy(), frame["coef"].to_numpy())
    pd.testing.assert_frame_equal(frame, original)  # the caller's frame is untouched


def test_written_csv_reads_back_with_guarded_text_and_plain_numbers(tmp_path):
    frame = pd.DataFrame({"=name": ["=1+2", "ok", "-3"], "value": [-1.25, 0.5, -3.0]})
    path = tmp_path / "out.csv"

    write_csv(frame, path)

    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["'=name", "value"], ["'=1+2", "-1.25"], ["ok", "0.5"], ["'-3", "-3.0"]]


def test_coefficients_csv_is_written_through_the_guard(real_run, real_analysis):
    assert real_run.result.exit_code == 0, real_run.result.output
    coefficients = real_analysis.coefficients

    guarded = [frame for frame in real_run.neutralized if list(frame.columns) == list(coefficients.columns)]

    assert len(guarded) == 1
    assert guarded[0]["name"].tolist() == coefficients["name"].tolist()
    on_disk = pd.read_csv(real_run.out / "coefficients.csv", keep_default_na=False)
    assert on_disk["name"].tolist() == [neutralize_cell(n) for n in coefficients["name"]]
    assert (on_disk["coef"] < 0).any()  # negative numbers stay numbers


def _cells(markdown: str) -> list[list[str]]:
    """The text of each table cell as markdown-it reads it (code spans' content included)."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(markdown)
    rows, row = [], None
    for token in tokens:
        if token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append([(child.type, child.content) for child in token.children])
        elif token.type == "tr_close":
            rows.append(row)
            row = None
    return rows


@pytest.mark.parametrize(
    "text",
    [
        "tiktok-claims run --data plain.csv",
        "run --data '/tmp/ev`<img src=x onerror=alert(1)>`|x/d.csv'",
        "``` triple | pipes || and ` single",
        "`starts and ends with a backtick`",
        "two\nlines\r\nand a carriage\rreturn <script>",
    ],
)
def test_a_code_span_in_a_table_cell_holds_the_text_whole_and_nothing_else(text):
    table = f"| name | value |\n|---|---|\n| command | {markdown_code(text, in_table=True)} |\n"

    (header, (name, value)) = _cells(table)

    # One code span, no HTML, no extra cell: line breaks shown as \n, the rest verbatim.
    assert value == [("code_inline", text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))]
    assert name == [("text", "command")]
