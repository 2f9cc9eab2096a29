"""Reading, validating and accounting for claims files (``tiktok_claims.data.load``).

Every input here is a few made-up rows written to ``tmp_path``; only the tests marked
as real-data tests read the real dataset, through the conftest fixtures.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tiktok_claims import config
from tiktok_claims.cli import app
from tiktok_claims.data.load import dataset_from_frame, load_dataset, validate_frame
from tiktok_claims.data.schema import SPEC_BY_NAME
from tiktok_claims.errors import DataError


def refusal(path: Path) -> str:
    """The DataError message load_dataset gives for ``path`` (fails if it loads)."""
    with pytest.raises(DataError) as caught:
        load_dataset(path)
    message = str(caught.value)
    assert path.name in message
    return message


def expected_frame(claims) -> pd.DataFrame:
    """The valid rows of ``claims.csv()`` as an independent reader (pandas) types them, indexed by line."""
    frame = pd.read_csv(io.StringIO(claims.csv()), dtype={config.DURATION: "float64"})
    text_columns = [config.CLAIM, config.TRANSCRIPT, config.VERIFIED, config.BAN]
    frame = frame.astype(dict.fromkeys(text_columns, object))
    frame.index = pd.RangeIndex(2, 2 + len(frame), name="line")
    return frame


# ---------------------------------------------------------------- accepted shapes


def test_plain_csv_is_read_typed_and_indexed_by_source_line(claims, tmp_path):
    dataset = load_dataset(claims.write(tmp_path, claims.csv()))

    assert (dataset.rows_read, dataset.rows_used, dataset.rows_set_aside) == (claims.n_rows, claims.n_rows, {})
    pd.testing.assert_frame_equal(dataset.frame, expected_frame(claims))
    assert dataset.notes == ()
    assert dataset.synthetic is False


def test_sha256_is_the_digest_of_the_file_bytes(claims, tmp_path):
    path = claims.write(tmp_path, claims.csv())

    assert load_dataset(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_dataset(path).source == str(path)


def _gzip(claims, directory: Path) -> Path:
    return claims.write(directory, gzip.compress(claims.csv().encode()), "claims.csv.gz")


def _parquet(claims, directory: Path) -> Path:
    path = directory / "claims.parquet"
    pd.read_csv(io.StringIO(claims.csv())).to_parquet(path)
    return path


def _pandas_index(claims, directory: Path) -> Path:
    path = directory / "claims.csv"
    pd.read_csv(io.StringIO(claims.csv())).to_csv(path, index=True)
    return path


def _id_header(claims, directory: Path) -> Path:
    return claims.write(directory, claims.csv().replace("#,", "id,", 1))


def _byte_order_mark(claims, directory: Path) -> Path:
    return claims.write(directory, b"\xef\xbb\xbf" + claims.csv().encode())


def _crlf(claims, directory: Path) -> Path:
    return claims.write(directory, claims.csv().replace("\n", "\r\n"))


def _mixed_line_ends(claims, directory: Path) -> Path:
    return claims.write(directory, claims.csv().replace("\n", "\r\n", 3))


@pytest.mark.parametrize(
    ("write", "note"),
    [
        pytest.param(_gzip, None, id="csv.gz"),
        pytest.param(_parquet, None, id="parquet"),
        pytest.param(_pandas_index, "unnamed index column", id="pandas-index-column"),
        pytest.param(_id_header, "read column 'id' as '#'", id="id-for-#"),
        pytest.param(_byte_order_mark, "byte-order mark", id="utf8-bom"),
        pytest.param(_crlf, "the file has Windows (CRLF) line ends", id="crlf"),
        pytest.param(_mixed_line_ends, "the file mixes Windows (CRLF) and Unix (LF) line ends", id="mixed-line-ends"),
    ],
)
def test_accepted_shape_gives_the_same_rows_as_plain_csv(claims, tmp_path, write, note):
    dataset = load_dataset(write(claims, tmp_path))

    pd.testing.assert_frame_equal(dataset.frame, expected_frame(claims))
    assert dataset.rows_read == dataset.rows_used == claims.n_rows
    if note is not None:
        assert any(note in n for n in dataset.notes), dataset.notes


def test_integer_valued_floats_are_accepted_as_counts(claims, tmp_path):
    path = claims.write(tmp_path, claims.csv(cells={(3, config.VIEWS): "343296.0"}))

    frame = load_dataset(path).frame

    assert frame.loc[3, config.VIEWS] == 343296
    assert frame[config.VIEWS].dtype == "int64"


@pytest.mark.parametrize("marker", ["#N/A", ""], ids=["excel-#N/A", "empty-field"])
@pytest.mark.parametrize("column", [config.VIEWS, config.CLAIM, config.TRANSCRIPT, config.DURATION])
def test_missing_value_sets_the_row_aside_with_its_reason(claims, tmp_path, marker, column):
    dataset = load_dataset(claims.write(tmp_path, claims.csv(cells={(4, column): marker})))

    assert dataset.rows_used == claims.n_rows - 1
    assert dataset.rows_set_aside == {f"missing {column}": 1}
    assert dataset.set_aside["line"].tolist() == [4]
    assert dataset.set_aside[config.ID_COLUMN].tolist() == [3]
    assert 4 not in dataset.frame.index
    assert dataset.all_rows[column].isna().sum() == 1


def test_every_row_is_accounted_for_with_line_numbers(claims, tmp_path):
    no_counts = {(6, c): "#N/A" for c in config.COUNT_COLUMNS}
    cells = {(3, config.LIKES): "#N/A", (5, config.LIKES): "", (7, config.CLAIM): "", **no_counts}
    dataset = load_dataset(claims.write(tmp_path, claims.csv(n_rows=8, cells=cells)))

    assert dataset.rows_read == 8
    assert dataset.rows_used == 4
    assert dataset.rows_read == dataset.rows_used + sum(dataset.rows_set_aside.values())
    assert dataset.rows_set_aside == {
        f"missing {config.LIKES}": 2,
        "missing all five counts": 1,
        f"missing {config.CLAIM}": 1,
    }
    assert sorted(dataset.set_aside["line"]) == [3, 5, 6, 7]
    assert list(dataset.frame.index) == [2, 4, 8, 9]
    assert len(dataset.all_rows) == 8
    accounting = dict(dataset.accounting().itertuples(index=False))
    assert accounting["rows read"] == 8
    assert accounting["rows used"] == 4
    assert accounting[f"set aside: missing {config.LIKES}"] == 2


# ---------------------------------------------------------------- refused files


@pytest.mark.parametrize(
    ("column", "value", "what"),
    [
        (config.VIEWS, "abc", "not numbers"),
        (config.DURATION, "ten", "not numbers"),
        (config.VIDEO_ID, "x17", "not numbers"),
        (config.LIKES, "-1", "negative"),
        (config.SHARES, "3.5", "not whole numbers"),
        (config.ID_COLUMN, "2.5", "not whole numbers"),
        (config.DURATION, "0", "not positive"),
        (config.DURATION, "-2", "not positive"),
        (config.VERIFIED, "Verified", "unknown"),
        (config.CLAIM, "maybe", "unknown"),
        (config.BAN, "maybe", "unknown"),
    ],
)
def test_bad_value_refuses_the_file_naming_column_line_and_expectation(claims, tmp_path, column, value, what):
    message = refusal(claims.write(tmp_path, claims.csv(cells={(4, column): value})))

    assert f"'{column}'" in message
    assert "line 4" in message
    assert repr(value) in message
    assert what in message
    assert SPEC_BY_NAME[column].expected in message


def test_problems_in_several_columns_are_all_reported(claims, tmp_path):
    cells = {(3, config.VIEWS): "abc", (5, config.BAN): "maybe"}
    message = refusal(claims.write(tmp_path, claims.csv(cells=cells)))

    assert f"'{config.VIEWS}'" in message and "line 3" in message
    assert f"'{config.BAN}'" in message and "line 5" in message


def test_missing_columns_are_named(claims, tmp_path):
    kept = [c for c in config.COLUMNS if c not in (config.SHARES, config.VERIFIED)]
    frame = pd.read_csv(io.StringIO(claims.csv()))[kept]
    message = refusal(claims.write(tmp_path, frame.to_csv(index=False)))

    assert "missing column(s)" in message
    assert f"'{config.SHARES}'" in message
    assert f"'{config.VERIFIED}'" in message
    assert "expected the columns" in message


def test_many_bad_rows_list_the_first_few_and_count_the_rest(claims, tmp_path):
    cells = {(line, config.LIKES): "-1" for line in range(2, 14)}
    message = refusal(claims.write(tmp_path, claims.csv(n_rows=12, cells=cells)))

    shown = [f"line {n}:" for n in range(2, 2 + config.MAX_REPORTED_LINES)]
    assert all(s in message for s in shown)
    assert f"line {2 + config.MAX_REPORTED_LINES}:" not in message
    assert f"and {12 - config.MAX_REPORTED_LINES} more" in message


def test_empty_file_is_refused(claims, tmp_path):
    assert "empty" in refusal(claims.write(tmp_path, b""))


def test_header_without_rows_is_refused(claims, tmp_path):
    assert "no data rows" in refusal(claims.write(tmp_path, claims.header + "\n"))


def test_header_without_rows_or_final_newline_is_not_called_empty(claims, tmp_path):
    message = refusal(claims.write(tmp_path, claims.header))

    assert "no data rows" in message
    assert "the file is empty" not in message


def test_png_bytes_are_refused_as_not_csv(claims, tmp_path):
    message = refusal(claims.write(tmp_path, claims.png_bytes, "picture.csv"))

    assert "not a CSV" in message
    assert "expected a comma-separated file" in message


JSON_DOCUMENT = [{"#": 1, "claim_status": "claim"}, {"#": 2, "claim_status": "opinion"}]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(json.dumps(JSON_DOCUMENT, indent=2) + "\n", id="pretty-printed"),
        pytest.param(json.dumps({"rows": JSON_DOCUMENT}) + "\n", id="one-line"),
        pytest.param(
            json.dumps({"rows": JSON_DOCUMENT}),
            id="one-line-no-final-newline",
        ),
    ],
)
def test_json_document_is_refused_saying_what_was_expected(claims, tmp_path, text):
    message = refusal(claims.write(tmp_path, text, "claims.json"))

    assert "expected" in message.lower()
    assert "the file is empty" not in message


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(lambda claims: claims.cut_last_line(claims.csv(), keep=18), id="inside-a-plain-field"),
        pytest.param(
            lambda claims: claims.cut_last_line(
                claims.csv(cells={(6, config.TRANSCRIPT): '"a quoted, made-up transcript"'}), keep=26
            ),
            id="inside-a-quoted-field",
        ),
    ],
)
def test_truncated_file_is_refused(tmp_path, claims, cut):
    cut_text = cut(claims)
    assert not cut_text.endswith("\n")
    message = refusal(claims.write(tmp_path, cut_text))

    assert "truncated" in message
    assert "line 6" in message
    assert f"{len(config.COLUMNS)} fields" in message


@pytest.mark.parametrize("blank", ["   ", "\t", " \t "])
def test_a_line_of_white_space_is_named_as_such(claims, tmp_path, blank):
    message = refusal(claims.write(tmp_path, claims.csv(n_rows=6, lines={4: blank})))

    assert f"line 4 holds only white space ({blank!r}): delete it or make it empty" in message


def test_requoted_record_is_refused_never_set_aside(claims, tmp_path):
    requoted = claims.requoted(3)
    message = refusal(claims.write(tmp_path, claims.csv(lines={4: requoted})))

    assert "line 4" in message
    assert "whole record inside one quoted field" in message


def test_requoted_record_in_a_frame_is_refused_never_set_aside(claims):
    frame = pd.read_csv(io.StringIO(claims.csv()), dtype=str)
    frame.loc[2, :] = None
    frame.loc[2, config.ID_COLUMN] = claims.line(claims.record(3))

    with pytest.raises(DataError) as caught:
        dataset_from_frame(frame, source="requoted-frame")

    message = str(caught.value)
    assert "requoted-frame" in message
    assert f"column '{config.ID_COLUMN}'" in message
    assert "whole record inside one field" in message
    assert "line(s) 4" in message


def test_many_requoted_records_list_the_first_few_and_count_the_rest(claims, tmp_path):
    requoted = {line: claims.requoted(line - 1) for line in range(2, 14)}
    message = refusal(claims.write(tmp_path, claims.csv(n_rows=12, lines=requoted)))

    assert f"line {2 + config.MAX_REPORTED_LINES} " not in message
    assert f"and {12 - config.MAX_REPORTED_LINES} more" in message


def test_missing_file_is_refused(tmp_path):
    message = refusal(tmp_path / "no-such-file.csv")

    assert "no such file" in message


def test_broken_parquet_is_refused(claims, tmp_path):
    message = refusal(claims.write(tmp_path, "not parquet at all", "claims.parquet"))

    assert "Parquet" in message


# ---------------------------------------------------------------- numbers, encodings and line numbers


def test_infinite_count_is_refused(claims, tmp_path):
    message = refusal(claims.write(tmp_path, claims.csv(cells={(4, config.VIEWS): "inf"})))

    assert f"'{config.VIEWS}'" in message and "line 4" in message


def test_infinite_duration_is_refused(claims, tmp_path):
    message = refusal(claims.write(tmp_path, claims.csv(cells={(4, config.DURATION): "inf"})))

    assert f"'{config.DURATION}'" in message and "line 4" in message


def test_count_too_large_for_int64_is_refused(claims, tmp_path):
    message = refusal(claims.write(tmp_path, claims.csv(cells={(4, config.VIEWS): "1e30"})))

    assert f"'{config.VIEWS}'" in message and "line 4" in message


def test_csv_gz_that_is_not_gzip_is_refused(claims, tmp_path):
    refusal(claims.write(tmp_path, claims.csv(), "claims.csv.gz"))


def test_line_numbers_count_blank_lines(claims, tmp_path):
    lines = claims.csv(cells={(4, config.VIEWS): "abc"}).split("\n")
    with_blank_line = "\n".join([*lines[:2], "", *lines[2:]])
    message = refusal(claims.write(tmp_path, with_blank_line))

    assert "line 5:" in message


# ---------------------------------------------------------------- in-memory frames


def test_a_stray_quote_that_swallows_the_records_after_it_is_refused_with_its_line(claims, tmp_path):
    """An unclosed quote in a transcription makes the reader take the next lines, up to a quote, as its text."""
    n = 12
    opened = claims.record(3) | {config.TRANSCRIPT: '"an unclosed quote, and then'}
    closing = claims.record(9) | {config.TRANSCRIPT: 'a quote" closes it'}
    path = claims.write(tmp_path, claims.csv(n_rows=n, lines={4: claims.line(opened), 10: claims.line(closing)}))

    with pytest.raises(DataError, match=rf"(?s)'{config.TRANSCRIPT}': 1 row\(s\) hold whole records.*line\(s\) 4;.*stray quote"):
        load_dataset(path)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1 and "line(s) 4;" in result.output


def test_a_transcription_with_line_breaks_and_commas_is_text_not_a_swallowed_record(claims, tmp_path):
    text = '"first line, with a comma\nsecond line, two, commas\n\nand a last one"'
    path = claims.write(tmp_path, claims.csv(cells={(3, config.TRANSCRIPT): text}))

    dataset = load_dataset(path)

    assert len(dataset.frame) == claims.n_rows and dataset.set_aside.empty
    assert dataset.frame[config.TRANSCRIPT].str.contains("second line, two, commas").sum() == 1


def test_dataset_from_frame_agrees_with_the_file_loader(claims, tmp_path):
    cells = {(3, config.VIEWS): "#N/A", (5, config.CLAIM): ""}
    path = claims.write(tmp_path, claims.csv(cells=cells))

    from_file = load_dataset(path)
    from_frame = dataset_from_frame(pd.read_csv(path), source="memory", synthetic=True)

    pd.testing.assert_frame_equal(from_frame.frame, from_file.frame)
    pd.testing.assert_frame_equal(from_frame.set_aside, from_file.set_aside)
    assert (from_frame.source, from_frame.synthetic) == ("memory", True)


def test_a_frame_with_pyarrow_types_agrees_with_the_file_loader(claims, tmp_path):
    """Typed pyarrow columns (``dtype_backend="pyarrow"``) hold no missing-value text, and are not searched for it."""
    cells = {(3, config.VIEWS): "", (5, config.CLAIM): "#N/A"}
    path = claims.write(tmp_path, claims.csv(cells=cells))
    frame = pd.read_csv(path, dtype_backend="pyarrow", keep_default_na=False, na_values=[""])
    assert "pyarrow" in str(frame[config.VIEWS].dtype)
    assert (frame[config.CLAIM] == "#N/A").sum() == 1  # the marker reaches the loader as text

    from_frame = dataset_from_frame(frame, source="memory")
    from_file = load_dataset(path)

    pd.testing.assert_frame_equal(from_frame.frame, from_file.frame)
    pd.testing.assert_frame_equal(from_frame.set_aside, from_file.set_aside)
    assert any("'#N/A' as missing" in note for note in from_frame.notes)


@pytest.mark.parametrize(
    ("convert", "message"),
    [
        (lambda s: s.astype(complex), r"memory: 1 problem.*'video_view_count': 5 value\(s\) that are not numbers \(line 2: '\(\d+\+0j\)'"),
        (lambda s: pd.to_datetime(s, unit="s"), r"^memory: column 'video_view_count' holds timestamp\[\w+\] values; expected"),
        (lambda s: s > 3, r"^memory: column 'video_view_count' holds bool values"),
    ],
)
def test_a_frame_column_of_a_type_no_rule_reads_is_refused_naming_the_source(claims, convert, message):
    frame = pd.read_csv(io.StringIO(claims.csv()))
    frame[config.VIEWS] = convert(frame[config.VIEWS])

    with pytest.raises(DataError, match=rf"(?s){message}"):
        dataset_from_frame(frame, source="memory")


def test_dataset_from_frame_digest_depends_on_the_content(claims):
    frame = pd.read_csv(io.StringIO(claims.csv()))
    changed = frame.copy()
    changed.loc[0, config.VIEWS] += 1

    first = dataset_from_frame(frame, source="a").sha256
    assert dataset_from_frame(frame.copy(), source="b").sha256 == first
    assert dataset_from_frame(changed, source="a").sha256 != first


def test_validate_frame_drops_a_pandas_index_column_and_keeps_given_notes(claims):
    frame = pd.read_csv(io.StringIO(claims.csv())).reset_index(names="Unnamed: 0")

    dataset = validate_frame(frame, source="memory", sha256="0" * 64, notes=["given note"])

    pd.testing.assert_frame_equal(dataset.frame, expected_frame(claims))
    assert dataset.notes[0] == "given note"
    assert any("unnamed index column" in n for n in dataset.notes)
    assert dataset.sha256 == "0" * 64


def test_validate_frame_refuses_a_bad_value_with_its_line(claims):
    frame = pd.read_csv(io.StringIO(claims.csv()), dtype=str)
    frame.loc[2, config.VIEWS] = "abc"

    with pytest.raises(DataError, match=rf"(?s)memory: .*'{config.VIEWS}'.*line 4: 'abc'"):
        validate_frame(frame, source="memory", sha256="0" * 64)


def test_validate_frame_refuses_a_frame_without_rows():
    with pytest.raises(DataError, match="no data rows"):
        validate_frame(pd.DataFrame(columns=list(config.COLUMNS)), source="memory", sha256="0" * 64)


# ---------------------------------------------------------------- the real dataset


REAL_ROWS_READ = 19_382
REAL_ROWS_USED = 19_084
REAL_ROWS_SET_ASIDE = 298


def test_real_data_accounting(real_dataset):
    assert real_dataset.rows_read == REAL_ROWS_READ
    assert real_dataset.rows_used == REAL_ROWS_USED
    assert sum(real_dataset.rows_set_aside.values()) == REAL_ROWS_SET_ASIDE
    assert real_dataset.rows_read == real_dataset.rows_used + sum(real_dataset.rows_set_aside.values())
    (reason,) = real_dataset.rows_set_aside
    assert config.CLAIM in reason


def test_real_data_set_aside_lines_match_an_independent_reading(real_dataset, real_data_path):
    with real_data_path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    incomplete_lines = [
        line for line, row in enumerate(rows[1:], start=2) if any(v in ("", "#N/A") for v in row)
    ]

    assert len(rows) - 1 == REAL_ROWS_READ
    assert sorted(real_dataset.set_aside["line"]) == incomplete_lines
    assert real_dataset.sha256 == hashlib.sha256(real_data_path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- headers and integers no reader can hold


@pytest.mark.parametrize("name", ["claims.csv", "claims.parquet"])
def test_a_header_naming_a_column_twice_is_refused(claims, tmp_path, name):
    text = claims.csv()
    lines = text.rstrip("\n").split("\n")
    doubled = "\n".join(f"{line},{line.split(',')[7]}" for line in lines) + "\n"
    if name.endswith(".parquet"):
        frame = pd.read_csv(io.StringIO(doubled), dtype=str)
        table = pa.table([pa.array(frame.iloc[:, i]) for i in range(frame.shape[1])], names=[*config.COLUMNS, config.VIEWS])
        path = tmp_path / name
        pq.write_table(table, path)
    else:
        path = claims.write(tmp_path, doubled, name)

    message = refusal(path)

    assert f"'{config.VIEWS}' in columns 8, 13" in message and "more than once" in message


def test_cli_validate_refuses_a_doubled_header_without_a_traceback(claims, tmp_path):
    lines = claims.csv().rstrip("\n").split("\n")
    path = claims.write(tmp_path, "\n".join(f"{line},{line.split(',')[7]}" for line in lines) + "\n")

    result = CliRunner().invoke(app, ["validate", "--data", str(path)])

    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("Error: ") and "more than once" in result.stderr


def test_a_parquet_identifier_beyond_int64_is_refused_naming_the_column(claims, tmp_path):
    frame = pd.read_csv(io.StringIO(claims.csv()), dtype=str)
    columns = {name: pa.array(frame[name]) for name in config.COLUMNS}
    columns[config.ID_COLUMN] = pa.array([2**63 + 5, *range(2, len(frame) + 1)], pa.uint64())
    path = tmp_path / "claims.parquet"
    pq.write_table(pa.table(columns), path)

    message = refusal(path)

    assert f"column '{config.ID_COLUMN}': 1 value(s) beyond" in message and "9223372036854775813" in message


# ---------------------------------------------------------------- binary data anywhere, other delimiters, long records


def _far_into_the_file(claims, n_rows: int = 1500) -> str:
    """A file whose row 1,200 starts well beyond the first 64 KiB."""
    text = claims.csv(n_rows=n_rows)
    assert text.index("\n1200,") > 64 * 1024
    return text


@pytest.mark.parametrize("bad", [b"\x00", b"\xe9"], ids=["NUL", "Latin-1 e-acute"])
def test_binary_data_after_the_first_64_kib_is_refused_like_at_the_start(claims, tmp_path, bad):
    text = _far_into_the_file(claims).encode()
    at = text.index(b"\n1200,") + 3
    path = claims.write(tmp_path, text[:at] + bad + text[at:])

    message = refusal(path)

    assert "this is not a CSV text file" in message and f"byte {at:,}" in message


@pytest.mark.parametrize("delimiter, word", [(";", "semicolon"), ("\t", "tab")])
def test_a_file_delimited_otherwise_is_refused_naming_its_delimiter(claims, tmp_path, delimiter, word):
    path = claims.write(tmp_path, claims.csv().replace(",", delimiter))

    message = refusal(path)

    assert f"separated by {delimiter!r} ({word})" in message and f"looks {word}-delimited" in message


def test_a_record_longer_than_a_mebibyte_loads(claims, tmp_path):
    transcript = "a long transcript, " * 120_000
    path = claims.write(tmp_path, claims.csv(cells={(3, config.TRANSCRIPT): f'"{transcript}"'}))

    dataset = load_dataset(path)

    assert len(transcript) > 2**21
    assert dataset.rows_read == claims.n_rows and dataset.all_rows.loc[3, config.TRANSCRIPT] == transcript
