"""Standard input and output for the command line: ``-`` as a file name, and JSON output.

The scorer reads a file it can seek and places its outputs by name, atomically
(:mod:`tiktok_claims.scoring.writing`). So ``-`` stands for a private temporary file:
:func:`stdin_copy` copies standard input to one before the work, and
:func:`private_folder` gives an output a place from which :func:`copy_file` sends it to
standard output once it is complete. Either folder is new (``tempfile.mkdtemp``: mode
0700, a name nobody chose) and removed with its content afterwards, whatever happens;
no other file is created or touched.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from .errors import DataError

STANDARD = "-"
STDIN_NAME = "<stdin>"
STDOUT_NAME = "<stdout>"
COPY_BLOCK_BYTES = 1 << 20
PRIVATE_PREFIX = ".tiktok-claims-"
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"


def is_standard(path: str | Path | None) -> bool:
    """Whether a path given on the command line is ``-`` (standard input or output)."""
    return path is not None and str(path) == STANDARD


@contextmanager
def private_folder(stream: str) -> Iterator[Path]:
    """A new folder only this user can read, removed with everything in it afterwards.

    ``stream`` (``"stdin"`` or ``"stdout"``) names the folder and the error if it cannot be made.
    """
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"{PRIVATE_PREFIX}{stream}-"))
    except OSError as exc:
        raise DataError(f"<{stream}>: no temporary folder can be created ({exc.strerror}); set TMPDIR to another folder.") from None
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def stdin_copy(stream: BinaryIO) -> Iterator[Path]:
    """``stream`` copied, block by block, to a private temporary file; its path while the block runs.

    The file's name tells the readers its format, from its first bytes: ``.parquet``
    (Parquet's magic), ``.csv.gz`` (gzip's) or else ``.csv``. The readers then check
    the content as they check a named file.
    """
    with private_folder("stdin") as folder:
        head = stream.read(len(PARQUET_MAGIC))
        name = "stdin.parquet" if head == PARQUET_MAGIC else "stdin.csv.gz" if head[:2] == GZIP_MAGIC else "stdin.csv"
        path = folder / name
        try:
            with path.open("xb") as copy:
                copy.write(head)
                shutil.copyfileobj(stream, copy, COPY_BLOCK_BYTES)
        except OSError as exc:
            raise DataError(f"{STDIN_NAME}: cannot be copied to a temporary file ({exc.strerror}); set TMPDIR to another folder.") from None
        yield path


def copy_file(path: Path, stream: BinaryIO) -> None:
    """The bytes of the file ``path`` written to ``stream``, block by block, then flushed."""
    with path.open("rb") as handle:
        shutil.copyfileobj(handle, stream, COPY_BLOCK_BYTES)
    stream.flush()


def renamed(message: str, names: dict[str, str]) -> str:
    """``message`` with each private path of ``names`` replaced by the name shown for it (``<stdin>``, ``<stdout>``)."""
    for private, shown in names.items():
        message = message.replace(private, shown)
    return message


def json_text(document: Any) -> str:
    """``document`` as indented JSON: NaN and infinities as ``null``, numpy scalars as plain numbers."""
    return json.dumps(_json_safe(document), indent=2, ensure_ascii=False, allow_nan=False)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if getattr(value, "ndim", None) == 0 and callable(getattr(value, "item", None)):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
