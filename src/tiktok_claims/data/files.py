"""Opening the files a user names: regular files only, and small documents read with a cap.

A path given as an input may name a device (``/dev/zero`` never ends), a FIFO (opening
it waits for a writer, forever) or a directory. Every input is therefore checked to be a
regular file before it is opened (:func:`require_regular_file`), and documents that are
small by nature (a model artifact, a run's ``metrics.json``) are read whole only up to a
size cap (:func:`read_small_file`): a larger file is refused, not read into memory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import DataError

# A model artifact or a run's metrics.json is kilobytes; anything this large is not one.
SMALL_FILE_LIMIT = 16 * 1024 * 1024
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
