"""Opening the files a user names (``data/files.py``): regular files only, small documents capped.

A device never ends (``/dev/zero``), a FIFO blocks its reader until a writer comes: each
is refused by what it is, before it is read.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tiktok_claims.data.files import SMALL_FILE_LIMIT, read_small_file, require_regular_file
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
