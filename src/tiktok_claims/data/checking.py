"""Check a claims file in bounded memory (the ``validate`` command): one chunk of rows at a time.

The same rules as :func:`~tiktok_claims.data.load.load_dataset`, the same refusals and
the same row accounting, but only a chunk of rows is held at once (about
``CHUNK_ROWS`` rows, or one CSV block): memory is bounded by the chunk, not by the file.
Problems are gathered over the whole file (how many, the first few lines) and refuse it
at the end, as loading does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import DataError
from .files import require_regular_file
from .load import (
    FIRST_DATA_LINE,
    CsvReader,
    Problem,
    accounting_table,
    check_rows,
    file_sha256,
    marker_notes,
    merge_problems,
    normalise_columns,
    problems_error,
    set_aside_rows,
)
from .rules import check_header

CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class FileCheck:
    """A file's row accounting, as :class:`~tiktok_claims.data.load.Dataset` gives it, without the rows."""

    source: str
    sha256: str
    rows_read: int
    rows_used: int
    rows_set_aside: dict[str, int]
    notes: tuple[str, ...]

    def accounting(self) -> pd.DataFrame:
        """Rows read, used and set aside per reason, as a tidy table."""
        return accounting_table(self.rows_read, self.rows_used, self.rows_set_aside)


def check_file(path: str | Path) -> FileCheck:
    """Check the claims file at ``path`` against the schema and account for every row.

    Raises
    ------
    DataError
        As :func:`~tiktok_claims.data.load.load_dataset` does, for the same files.

    Examples
    --------
    >>> checked = check_file("tiktok_dataset.csv")  # doctest: +SKIP
    >>> checked.rows_read == checked.rows_used + sum(checked.rows_set_aside.values())  # doctest: +SKIP
    True
    """
    path = Path(path)
    require_regular_file(path, "a CSV, .csv.gz or Parquet file")
    source = str(path)
    notes: list[str] = []
    found: dict[tuple[str, str], Problem] = {}
    markers: Counter = Counter()
    reasons: Counter = Counter()
    rows_read = rows_used = 0
    name = path.name.lower()
    reader = None if name.endswith((".parquet", ".pq")) else CsvReader(path)
    with _chunks(path, reader) as chunks:
        for raw in chunks:
            if rows_read == 0:
                check_header(source, [str(c) for c in raw.columns])
            raw = normalise_columns(raw, source, notes if rows_read == 0 else [])
            raw.index = pd.RangeIndex(FIRST_DATA_LINE + rows_read, FIRST_DATA_LINE + rows_read + len(raw), name="line")
            rows_read += len(raw)
            all_rows, problems = check_rows(raw, markers, source)
            merge_problems(found, problems)
            if not found:  # once the file is refused, only its problems are counted
                incomplete, set_aside = set_aside_rows(all_rows)
                rows_used += int((~incomplete).sum())
                reasons.update(set_aside["reason"].tolist())
    if reader is not None:
        reader.refuse_broken_rows()
        reader.lines_of([])  # counts the blank lines skipped, if the file has any
        notes = reader.notes + notes
    if found:
        lines_of = reader.lines_of if reader is not None else (lambda rows: rows)
        raise problems_error(source, [problem.relined(lines_of) for problem in found.values()])
    if rows_read == 0:
        raise DataError(f"{source}: the file has a header but no data rows; expected at least one row.")
    return FileCheck(source, file_sha256(path), rows_read, rows_used, dict(reasons.most_common()), tuple(notes + marker_notes(markers)))


@contextmanager
def _chunks(path: Path, reader: CsvReader | None) -> Iterator[Iterator[pd.DataFrame]]:
    """The file's rows as text frames, chunk by chunk."""
    if reader is None:
        yield _parquet_chunks(path)
        return
    with reader.batches() as batches:
        yield (batch.to_pandas() for batch in batches)


def _parquet_chunks(path: Path) -> Iterator[pd.DataFrame]:
    try:
        parquet = pq.ParquetFile(path, pre_buffer=False)
        check_header(str(path), parquet.schema_arrow.names)
        for batch in parquet.iter_batches(batch_size=CHUNK_ROWS):
            yield batch.to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: cannot be read as Parquet ({exc}).") from None
