"""Opening the files a user names (``data/files.py``): regular files only, small documents capped.

A device never ends (``/dev/zero``), a FIFO blocks its reader until a writer comes: each
is refused by what it is, before it is read.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from tiktok_claims.data.files import (
    SMALL_FILE_LIMIT,
    CheckedText,
    read_small_file,
    require_regular_file,
)
from tiktok_claims.errors import DataError, ModelFileError

DEVICE = Path(os.devnull)


def test_a_small_regular_file_is_read_whole(tmp_path):
    path = tmp_path / "doc.json"
    path.write_bytes(b'{"a": 1}\n')

    assert read_small_file(path, "a document") == b'{"a": 1}\n'


def test_a_file_at_the_limit_is_read_and_one_byte_more_is_refused(tmp_path):
    path = tmp_path / "doc.json"
    path.write_bytes(b"x" * 1000)

    assert len(read_small_file(path, "a document", limit=1000)) == 1000
    with pytest.raises(DataError, match=r"doc\.json: larger than"):
        read_small_file(path, "a document", limit=999)


def test_a_file_larger_than_the_default_limit_is_refused_naming_what_was_expected(tmp_path):
    path = tmp_path / "big.json"
    with path.open("wb") as handle:  # sparse: no disk used
        handle.truncate(SMALL_FILE_LIMIT + 1)

    with pytest.raises(DataError, match="larger than 16 MiB, far more than a document holds"):
        read_small_file(path, "a document")


@pytest.mark.skipif(not DEVICE.exists() or os.name == "nt", reason="no character device to open")
def test_a_device_is_refused_before_it_is_read():
    with pytest.raises(DataError, match=f"{os.devnull}: a character device, not a regular file; expected a document"):
        read_small_file(DEVICE, "a document")


def test_a_fifo_is_refused_without_waiting_for_a_writer(fifo):
    path = fifo("pipe.json")

    with pytest.raises(ModelFileError, match=r"pipe\.json: a FIFO \(named pipe\), not a regular file"):
        read_small_file(path, "a model", error=ModelFileError)


def test_a_directory_and_a_missing_file_are_refused_by_what_they_are(tmp_path):
    with pytest.raises(DataError, match="a directory, not a regular file; expected a CSV file"):
        require_regular_file(tmp_path, "a CSV file")
    with pytest.raises(DataError, match=r"absent\.csv: no such file; expected a CSV file"):
        require_regular_file(tmp_path / "absent.csv", "a CSV file")


# ---------------------------------------------------------------- CSV text, checked as it is read


def _read_all(text: CheckedText, size: int) -> bytes:
    parts = []
    while block := text.read(size):
        parts.append(block)
    return b"".join(parts)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1 << 20])
def test_checked_text_passes_utf8_through_unchanged_however_characters_are_split(tmp_path, size):
    content = "#,é,€,😀\n1,ça,5 €,👍\n".encode() * 50
    path = tmp_path / "t.csv"
    path.write_bytes(content)

    with CheckedText(path) as text:
        assert _read_all(text, size) == content


def test_checked_text_decompresses_gzip(tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n"))

    with CheckedText(path) as text:
        assert _read_all(text, 3) == b"a,b\n1,2\n"


@pytest.mark.parametrize(
    "bad, message",
    [(b"\x00", "contains binary data: a NUL byte at byte 100,006"), (b"\xe9t\xe9", "not UTF-8 text: byte 100,006 is not part")],
    ids=["NUL", "Latin-1"],
)
def test_checked_text_refuses_binary_data_far_into_the_file_naming_the_byte(tmp_path, bad, message):
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 25_000 + b"3," + bad + b"\n4,5\n")

    with CheckedText(path) as text, pytest.raises(DataError, match=rf"t\.csv: this is not a CSV text file \(it .*{message}"):
        _read_all(text, 4096)


def test_a_character_cut_by_the_end_of_the_file_is_not_utf8(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("a,b\n1,é".encode()[:-1])

    with CheckedText(path) as text, pytest.raises(DataError, match="not UTF-8"):
        _read_all(text, 2)


def test_read_json_file_refuses_what_is_not_strict_json_with_the_callers_words(tmp_path):
    from tiktok_claims.data.files import read_json_file
    from tiktok_claims.errors import ModelFileError

    cases = {"nan.json": '{"x": NaN}', "deep.json": "[" * 100_000, "bytes.json": b"\xff\xfe"}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        with pytest.raises(ModelFileError, match=rf"{name}: not it \(.+\); expected a record"):
            read_json_file(path, "not it", "a record", error=ModelFileError)
    (tmp_path / "ok.json").write_text('{"a": [1, 2.5]}')
    assert read_json_file(tmp_path / "ok.json", "not it", "a record") == {"a": [1, 2.5]}
