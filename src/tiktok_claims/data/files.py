"""Opening the files a user names: regular files only, and small documents read with a cap.

A path given as an input may name a device (``/dev/zero`` never ends), a FIFO (opening
it waits for a writer, forever) or a directory. Every input is therefore checked to be a
regular file before it is opened (:func:`require_regular_file`), and documents that are
small by nature (a model artifact, a run's ``metrics.json``) are read whole only up to a
size cap (:func:`read_small_file`): a larger file is refused, not read into memory.
A CSV file is read through :class:`CheckedText`, which refuses binary data (a NUL byte,
bytes that are not UTF-8) wherever it lies in the file, before the CSV parser sees it.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..errors import DataError

# A model artifact or a run's metrics.json is kilobytes; anything this large is not one.
SMALL_FILE_LIMIT = 16 * 1024 * 1024
# pyarrow's CSV reader parses blocks of this many bytes; a record must fit in one block. A
# transcript can be long: records up to this size are read, longer ones refused clearly.
# Memory grows with it (score on 10M CSV rows, bench/bench_score.py: 556 MiB at 1 MiB blocks,
# 708 MiB at 4 MiB, 1,101 MiB at 16 MiB, over the 1 GiB target), so 4 MiB.
CSV_BLOCK_BYTES = 4 * 1024 * 1024
# Opening a FIFO for reading blocks until a writer opens it, unless non-blocking (POSIX only).
_NON_BLOCKING = getattr(os, "O_NONBLOCK", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def require_regular_file(path: str | Path, what: str, error: type[Exception] = DataError) -> None:
    """Refuse a ``path`` that does not exist or is not a regular file (a device, FIFO, directory).

    Parameters
    ----------
    path : str or Path
    what : str
        What the file was expected to be, for the message (e.g. ``"a CSV or Parquet file"``).
    error : exception class
        Raised with the message (a domain error of :mod:`tiktok_claims.errors`).
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise error(f"{path}: no such file; expected {what}.") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror}); expected {what}.") from None
    if not stat.S_ISREG(mode):
        raise error(f"{path}: {_kind(mode)}, not a regular file; expected {what}.")


def read_small_file(
    path: str | Path, what: str, *, limit: int = SMALL_FILE_LIMIT, error: type[Exception] = DataError
) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; anything else is refused with ``error``.

    The file is opened without blocking and checked again once open (it may have been
    replaced meanwhile), and never more than ``limit + 1`` bytes are read.

    Examples
    --------
    >>> read_small_file("/dev/zero", "a model artifact")  # doctest: +SKIP
    Traceback (most recent call last):
    tiktok_claims.errors.DataError: /dev/zero: a character device, not a regular file; expected a model artifact.
    """
    require_regular_file(path, what, error)
    try:
        descriptor = os.open(path, os.O_RDONLY | _NON_BLOCKING | _BINARY)
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror}); expected {what}.") from None
    with os.fdopen(descriptor, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise error(f"{path}: {_kind(mode)}, not a regular file; expected {what}.")
        content = handle.read(limit + 1)
    if len(content) > limit:
        raise error(f"{path}: larger than {limit // (1024 * 1024)} MiB, far more than {what} holds; not read.")
    return content


def read_json_file(
    path: str | Path, refusal: str, expected: str, *, limit: int = SMALL_FILE_LIMIT, error: type[Exception] = DataError
):
    """The JSON value of a small regular file (:func:`read_small_file`), strict JSON only.

    Anything that is not UTF-8 JSON (NaN and Infinity included), or is nested too deeply
    to read, is refused with ``error``: ``"<path>: <refusal> (<why>); expected <expected>."``.
    """
    content = read_small_file(path, expected, limit=limit, error=error)
    try:
        return json.loads(content.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        why = str(exc)
    except RecursionError:
        why = "JSON nested too deeply to read"
    raise error(f"{path}: {refusal} ({why}); expected {expected}.")


def _refuse_constant(name: str):
    raise ValueError(f"non-standard JSON constant {name}")


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


class LineCount:
    """Line breaks (``\\n``, ``\\r\\n``, bare ``\\r``) counted block by block as a file is read."""

    def __init__(self) -> None:
        self.breaks = 0
        self._last = b""

    def feed(self, block: bytes) -> None:
        if not block:
            return
        data = np.frombuffer(block, dtype=np.uint8)
        self.breaks += int(np.count_nonzero(data == ord("\n")))  # three times as fast as bytes.count
        if b"\r" in block:
            self.breaks += int(np.count_nonzero(data == ord("\r"))) - block.count(b"\r\n")
        if self._last == b"\r" and block[:1] == b"\n":  # a \r\n split between blocks
            self.breaks -= 1
        self._last = block[-1:]

    @property
    def lines(self) -> int:
        """Lines in the file so far (the last one may lack its line break)."""
        return self.breaks + int(self._last not in (b"", b"\n", b"\r"))


class CheckedText:
    """A file's bytes as a CSV reader draws them, each block checked to be text first.

    A NUL byte anywhere in the file, or bytes that are not UTF-8, refuse the file with a
    :class:`~tiktok_claims.errors.DataError` before the CSV parser sees them (the parser
    would otherwise print errors of its own, or read binary data as rows). ``.gz`` files
    are decompressed (by their name). Pass it to ``pyarrow.csv`` as the input.
    """

    def __init__(self, path: str | Path, count_lines: bool = True):
        self.path = Path(path)
        self.lines = LineCount() if count_lines else None  # the file's line breaks, counted as it is read
        self._raw = pa.OSFile(str(path), "rb")
        self.size = max(self._raw.size(), 1)
        self._stream = pa.CompressedInputStream(self._raw, "gzip") if self.path.name.lower().endswith(".gz") else self._raw
        self._offset = 0  # bytes (decompressed) checked so far
        self._pending = b""  # the start of a character split by the block's end
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read() if size is None or size < 0 else self._stream.read(size)
        self._check(data)
        if self.lines is not None:
            self.lines.feed(data)
        return data

    @property
    def compressed_bytes_read(self) -> int:
        """How far into the file (as stored) reading has come, for progress."""
        return self._raw.tell()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._offset

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
            self._raw.close()
            self.closed = True

    def __enter__(self) -> CheckedText:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def refusal(path: str | Path, exc: Exception) -> DataError | None:
        """The clear refusal of a CSV parser error that has one (a record longer than a block), else ``None``."""
        if "straddling" in str(exc):
            return DataError(
                f"{path}: a record is longer than {CSV_BLOCK_BYTES // (1024 * 1024)} MiB (or a quote is never "
                "closed, so the rest of the file reads as one value); expected records of at most that size."
            )
        return None

    def _check(self, data: bytes) -> None:
        text = self._pending + data
        cut = _complete_characters(text) if data else len(text)  # at the end, everything must be whole
        problem = text_problem(text[:cut], self._offset - len(self._pending))
        if problem:
            raise DataError(f"{self.path}: {problem}")
        self._pending = text[cut:]
        self._offset += len(data)


def text_problem(block: bytes, offset: int | None = None) -> str | None:
    """Why ``block`` is not CSV text (a NUL byte, bytes that are not UTF-8), or ``None``.

    ``offset`` is where the block starts in the file, to name the offending byte.
    """
    nul = block.find(b"\x00")
    if nul >= 0:
        where = f" at byte {offset + nul:,}" if offset is not None else ""
        return (
            f"this is not a CSV text file (it contains binary data: a NUL byte{where}); "
            "expected a comma-separated file with a header row."
        )
    if block and not _is_utf8(block):
        where = f": byte {offset + _first_invalid_byte(block):,} is not part of a UTF-8 character" if offset is not None else ""
        return (
            f"this is not a CSV text file (it is not UTF-8 text{where}); expected a comma-separated UTF-8 "
            "file with a header row. If it is text in another encoding (e.g. Latin-1 or UTF-16), re-save it as UTF-8."
        )
    return None


def _complete_characters(text: bytes) -> int:
    """Length of the longest prefix of ``text`` that does not end inside a UTF-8 character."""
    for back in range(1, min(4, len(text)) + 1):
        byte = text[-back]
        if byte < 0x80:
            return len(text)
        if byte >= 0xC0:  # the lead byte of the last character: its length from its high bits
            length = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(text) if back >= length else len(text) - back
    return len(text)


def _is_utf8(block: bytes) -> bool:
    """Whether ``block`` is valid UTF-8, checked by Arrow (no Python string is built)."""
    offsets = pa.py_buffer(np.array([0, len(block)], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(block)]).cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _first_invalid_byte(block: bytes) -> int:
    try:
        block.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return 0
