"""``check_file`` (the ``validate`` command) in bounded memory: the same accounting and refusals as loading."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tiktok_claims import config
from tiktok_claims.data import load
from tiktok_claims.data.checking import check_file
from tiktok_claims.data.load import load_dataset
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.errors import DataError


@pytest.fixture
def small_blocks(monkeypatch):
    """CSV blocks of 4 KiB: a file of a few hundred rows is read in dozens of chunks."""
    monkeypatch.setattr(load, "CSV_BLOCK_BYTES", 4096)


def synthetic_csv(tmp_path: Path, rows: int = 600, blank_every: int = 0, seed: int = 5) -> Path:
    frame = make_synthetic(rows, seed=seed)
    text = frame.to_csv(index=False, lineterminator="\n")
    if blank_every:
        lines = text.split("\n")
        text = "\n".join(line + ("\n" if number % blank_every == 0 else "") for number, line in enumerate(lines, 1))
    path = tmp_path / "claims.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_streamed_accounting_equals_the_loaded_one_chunk_after_chunk(tmp_path, small_blocks):
    path = synthetic_csv(tmp_path, blank_every=37)
    checked, loaded = check_file(path), load_dataset(path)
    assert checked.rows_read == loaded.rows_read == 600  # blank lines are not rows
    assert (checked.rows_used, checked.rows_set_aside) == (loaded.rows_used, loaded.rows_set_aside)
    assert checked.notes == loaded.notes
    assert any("blank line" in note for note in checked.notes)
    assert checked.accounting().equals(loaded.accounting())
    assert checked.sha256 == loaded.sha256


def test_problems_in_many_chunks_refuse_the_file_with_totals_and_the_first_lines(tmp_path, small_blocks):
    frame = make_synthetic(600, seed=6).astype(str)
    bad = [5, 150, 151, *range(400, 400 + config.MAX_REPORTED_LINES), 599]
    frame.loc[bad, config.VIEWS] = "-3"
    frame.loc[[300], config.BAN] = "suspended"
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False, lineterminator="\n")
    with pytest.raises(DataError) as streamed:
        check_file(path)
    with pytest.raises(DataError) as loaded:
        load_dataset(path)
    assert str(streamed.value) == str(loaded.value)
    message = str(streamed.value)
    assert f"column '{config.VIEWS}': {len(bad)} negative value(s) (line 7: '-3', line 152: '-3'" in message
    assert f"and {len(bad) - config.MAX_REPORTED_LINES} more" in message and "line 302: 'suspended'" in message


def test_lines_named_after_multi_line_records_and_blank_lines_are_the_files_lines(tmp_path):
    frame = make_synthetic(40, seed=7).astype(str)
    frame.loc[[2, 9], config.TRANSCRIPT] = "a transcript\nover\r\nthree lines"
    frame.loc[30, config.VIEWS] = "many"
    buffer = io.StringIO(newline="")
    frame.to_csv(buffer, index=False, lineterminator="\n")
    text = buffer.getvalue().replace("\n", "\n\n", 1)  # a blank line after the header
    path = tmp_path / "multi-line.csv"
    path.write_text(text, encoding="utf-8", newline="")
    # Python's csv module, independently: the line where the record of row 30 starts.
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, before = [], 0
    for fields in reader:
        if fields:
            starts.append(before + 1)
        before = reader.line_num
    line = starts[1 + 30]
    assert line > 30 + 2  # the file's line, not the record's number
    for check in (check_file, load_dataset):
        with pytest.raises(DataError, match=rf"line {line}: 'many'"):
            check(path)


def test_parquet_is_checked_in_chunks_like_csv(tmp_path, monkeypatch):
    from tiktok_claims.data import checking

    monkeypatch.setattr(checking, "CHUNK_ROWS", 50)
    frame = make_synthetic(400, seed=8)
    path = tmp_path / "claims.parquet"
    frame.to_parquet(path)
    checked, loaded = check_file(path), load_dataset(path)
    assert (checked.rows_read, checked.rows_used, checked.rows_set_aside) == (
        loaded.rows_read,
        loaded.rows_used,
        loaded.rows_set_aside,
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "the file is empty"),
        (",".join(config.COLUMNS) + "\n", "no data rows"),
        (",".join(config.COLUMNS) + "\n1,2\n", "do not have the 12 fields"),
    ],
)
def test_structural_problems_are_refused_as_loading_refuses_them(tmp_path, text, expected):
    path = tmp_path / "broken.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=expected):
        check_file(path)
    with pytest.raises(DataError, match=expected):
        load_dataset(path)
