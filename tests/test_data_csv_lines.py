"""Line numbers of CSV records (``data.csv_lines``), checked against Python's csv module and pyarrow's reader."""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tiktok_claims.data import csv_lines
from tiktok_claims.data.csv_lines import (
    LineCount,
    first_record_line,
    line_rows,
    record_lines,
)


@pytest.mark.parametrize(
    "line, quoted, expected",
    [
        (b"a,b", False, (False, 1, (0,))),
        (b"", False, (False, 0, ())),  # a blank line is not a row
        (b"\r", False, (False, 0, ())),  # nor is a blank line with a Windows line end
        (b"", True, (True, 0, ())),  # a line break inside a quoted value
        (b",", False, (False, 1, (0,))),  # two empty fields are a row
        (b'a,"b', False, (True, 0, (0,))),
        (b'a"b', False, (False, 1, (0,))),  # a quote inside a field is text
        (b'"a"b"c', False, (False, 1, (0,))),  # and so is one after the closing quote
        (b'x"', True, (False, 1, ())),
        (b'x""', True, (True, 0, ())),  # "" is a quote inside the value
        (b'x""",y', True, (False, 1, ())),
        (b"a\rb", False, (False, 2, (0, 1))),  # a bare \r ends a row; the next starts a line later
        (b"a\r\rb", False, (False, 2, (0, 2))),  # an empty row between two \r is a blank line
        (b"a\r", False, (False, 1, (0,))),  # the \r of a \r\n line end
        (b'"a\rb', False, (True, 0, (0,))),
        (b'x",\r"y', True, (True, 1, (1,))),
    ],
)
def test_line_rows_follows_the_csv_quoting_rules(line, quoted, expected):
    assert line_rows(line, quoted) == expected


def editor_lines(text: bytes) -> list[int]:
    """Where each record starts, by Python's csv module: it counts \\n, \\r\\n and \\r as line ends."""
    reader = csv.reader(io.StringIO(text.decode("utf-8-sig"), newline=""))
    found, before = [], 0
    for fields in reader:
        if fields:  # an empty list is a blank line
            found.append(before + 1)
        before = reader.line_num
    return found


def arrow_records(path) -> int:
    """Records pyarrow's reader finds with the readers' options (the header, rows, broken rows)."""
    broken = []

    def keep(row):
        broken.append(row)
        return "skip"

    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(use_threads=False, autogenerate_column_names=True),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True, invalid_row_handler=keep),
    )
    return table.num_rows + len(broken)


PIECES = ["a", "12", ",", ",", '"', '"', '""', "\n", "\n", "\r\n", "\r", " "]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=40), st.booleans())
def test_every_record_gets_the_line_an_editor_shows(tmp_path_factory, pieces, byte_order_mark):
    text = ("\ufeff" if byte_order_mark else "") + "h1,h2\n" + "".join(pieces)
    path = tmp_path_factory.mktemp("lines") / "hostile.csv"
    path.write_bytes(text.encode("utf-8"))
    found = record_lines(path)
    if text.count('"') % 2 == 0:  # the csv module and pyarrow differ on a quote left open at the end
        assert found.lines.tolist() == editor_lines(path.read_bytes())
    assert len(found.lines) == arrow_records(path)
    assert first_record_line(path) == 1


def test_blank_lines_are_counted_and_the_header_may_follow_some(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_bytes(b"\n\r\nh1,h2\n1,2\n\n\n3,\"x\n\ny\"\n4,5")
    found = record_lines(path)
    assert found.lines.tolist() == [3, 4, 7, 10]
    assert found.blank == 4
    assert first_record_line(path) == 3
    assert found.of([1, 4]).tolist() == [3, 10]


def test_records_split_across_reading_blocks_keep_their_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_lines, "CSV_BLOCK_BYTES", 7)  # every record and line crosses blocks
    text = b'h1,h2\r\n1,"a\r\nb"\r\n\r\n2,3\r4,5\n'
    path = tmp_path / "small-blocks.csv"
    path.write_bytes(text)
    assert record_lines(path).lines.tolist() == editor_lines(text) == [1, 2, 5, 6]


@pytest.mark.parametrize("cut", range(1, 12))
def test_line_count_is_the_same_however_the_file_is_cut(cut):
    text = b"a\r\nb\rc\n\r\n\rd"
    count = LineCount()
    count.feed(text[:cut])
    count.feed(text[cut:])
    assert count.lines == len(io.StringIO(text.decode(), newline="").readlines()) == 6


def test_a_line_count_equal_to_the_records_means_one_record_per_line(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_bytes(b"h1,h2\r\n1,2\r\n3,4")
    count = LineCount()
    count.feed(path.read_bytes())
    assert count.lines == arrow_records(path) == len(record_lines(path).lines) == 3


def test_the_lines_of_an_array_are_split_without_their_line_feeds():
    lines = csv_lines.split_lines(b"a\r\n\nb")
    assert lines.to_pylist() == [b"a\r", b"", b"b"]
    assert lines.type == pa.large_binary()
