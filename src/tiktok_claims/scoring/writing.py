"""The two output files of a scoring run, encoded and placed the same way by both engines.

Encoding (:class:`CsvEncoder`): Arrow tables become CSV text by pyarrow's writer; every
text cell first goes through :func:`tiktok_claims.escaping.neutralize` (a leading ``'``
before ``=``, ``+``, ``-``, ``@``, tab or carriage return), and numbers are written as
numbers, never changed. The scored file has the columns of :func:`scored_schema`
(:func:`scored_table`), the rejects file those of :func:`rejects_schema`
(:func:`rejects_table`). The Spark engine encodes on its executors with the same
encoder, and the driver appends the encoded part files to the output.

Placing (:class:`OutputFiles`): each output is written to a temporary file created
exclusively inside a private directory (``tempfile.mkdtemp``: a new name, mode 0700)
beside its target, and moved onto its target (``os.replace``) only by
:meth:`OutputFiles.commit`, once the run's accounting holds; the private directories
are removed whatever happens. A failed run therefore leaves every file as it was, and no
file other than the two outputs is ever created, replaced or removed (a fixed temporary
name such as ``<out>.partial`` could be the input or a file of the user's).

A run killed outright (SIGKILL, power loss) cannot remove its private directory, which
may hold hundreds of MB of temporary files. Each is marked as its process's by a locked
file (:func:`tiktok_claims.folders.owned_private_folder`), so the next run that writes
into the same folder removes those whose process has ended, and only those, and says so
(:attr:`OutputFiles.notes`). Inside it, the outputs (``files/``) and the run's scratch
files (``scratch/``) each have a folder, so no output name can meet another file's.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..artifact.model import LoadedModel
from ..errors import DataError
from ..escaping import neutralize
from ..folders import owned_private_folder, remove_abandoned
from .contract import REJECT_COLUMNS, Rejects, is_positive, scored_columns

COPY_BLOCK_BYTES = 1 << 20
FILES = "files"
SCRATCH = "scratch"

# The label is dictionary-encoded: two values, neutralized once per table.
SCORED_TYPES = (pa.int64(), pa.int64(), pa.float64(), pa.dictionary(pa.int8(), pa.string()), pa.int64())


def scored_schema(model: LoadedModel) -> pa.Schema:
    """The scored file's columns and types (:func:`~tiktok_claims.scoring.contract.scored_columns`)."""
    return pa.schema(list(zip(scored_columns(model), SCORED_TYPES)))


def rejects_schema(position: str) -> pa.Schema:
    """The rejects file's columns: ``position`` (``line`` or ``row``), ``#``, ``video_id`` and ``reason``."""
    return pa.schema([pa.field(position, pa.int64()), *(pa.field(name, pa.string()) for name in REJECT_COLUMNS)])


def scored_table(ids, video_ids, probability, ranks, model: LoadedModel) -> pa.Table:
    """Scored rows as the scored file holds them, each labelled by :func:`~tiktok_claims.scoring.contract.is_positive`."""
    labels = pa.array([model.negative_class, model.positive_class])
    label = pa.DictionaryArray.from_arrays(pa.array(is_positive(np.asarray(probability), model).astype(np.int8)), labels)
    columns = [pa.array(ids), pa.array(video_ids), pa.array(probability), label, pa.array(ranks)]
    return pa.table(columns, schema=scored_schema(model))


def rejects_table(rejects: Rejects, schema: pa.Schema) -> pa.Table:
    """Rejected rows as the rejects file holds them."""
    reasons = pa.array(rejects.reasons.tolist(), pa.string())
    return pa.table([pa.array(rejects.positions, pa.int64()), rejects.ids, rejects.video_ids, reasons], schema=schema)


class CsvEncoder:
    """Tables to CSV text without a header, text cells neutralized; safe to call from several threads.

    ``quoting="none"`` is for tables whose text never needs quotes (the scored file's
    labels): pyarrow refuses to encode a value that would need them.
    """

    def __init__(self, schema: pa.Schema, quoting: str = "needed"):
        self.schema = schema
        self._options = pacsv.WriteOptions(include_header=False, quoting_style=quoting)

    @property
    def header(self) -> bytes:
        return (",".join(self.schema.names) + "\n").encode("utf-8")

    def encode(self, table: pa.Table) -> pa.Buffer:
        columns = [neutralize(column) if _is_text(column.type) else column for column in table.columns]
        sink = pa.BufferOutputStream()
        pacsv.write_csv(pa.table(columns, schema=self.schema), sink, write_options=self._options)
        return sink.getvalue()


class OutputFile:
    """One output being written to its temporary file: the header, then encoded rows.

    The file is gzip-compressed if the target's name ends in ``.gz``.
    """

    def __init__(self, temporary: Path, target: Path, encoder: CsvEncoder):
        self.temporary, self.target, self.encoder = temporary, target, encoder
        # Created exclusively: a name that exists already is never written through.
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        compression = "gzip" if target.name.lower().endswith(".gz") else None
        self._sink = pa.output_stream(str(temporary), compression=compression)
        self._sink.write(encoder.header)

    def write(self, encoded: pa.Buffer | bytes) -> None:
        self._sink.write(encoded)

    def append(self, path: Path) -> None:
        """Append the (uncompressed) encoded rows held in the file ``path``."""
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(COPY_BLOCK_BYTES), b""):
                self._sink.write(block)

    def close(self) -> None:
        if not self._sink.closed:
            self._sink.close()


class OutputFiles:
    """The outputs of one run, written under temporary names in private directories and placed together.

    Use as a context manager: :meth:`open` each output, write it, then :meth:`commit`;
    leaving the ``with`` block removes the private directories (and, without a
    commit, everything written).
    """

    def __init__(self, *targets: Path):
        self.targets = targets
        self.notes: list[str] = []
        self._private: dict[Path, Path] = {}
        self._files: list[OutputFile] = []
        self._folders = ExitStack()

    def __enter__(self) -> OutputFiles:
        try:
            for target in self.targets:
                directory = target.parent
                if directory not in self._private:
                    directory.mkdir(parents=True, exist_ok=True)
                    removed = remove_abandoned(directory)
                    if removed:
                        self.notes.append(
                            f"removed {len(removed)} temporary folder(s) that killed scoring runs left in {directory} "
                            f"({', '.join(folder.name for folder in removed)})"
                        )
                    private = self._folders.enter_context(owned_private_folder(directory))
                    (private / FILES).mkdir()
                    (private / SCRATCH).mkdir()
                    self._private[directory] = private
        except OSError as exc:
            self.__exit__()
            raise DataError(f"{target}: cannot be written in {target.parent} ({exc.strerror}); choose another folder.") from None
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for file in self._files:
            file.close()
        self._folders.close()

    @property
    def scratch(self) -> Path:
        """A private directory for the run's own temporary files (beside the first target)."""
        return self._private[self.targets[0].parent] / SCRATCH

    def open(self, target: Path, encoder: CsvEncoder) -> OutputFile:
        file = OutputFile(self._private[target.parent] / FILES / target.name, target, encoder)
        self._files.append(file)
        return file

    def commit(self) -> None:
        """Close every output and move each onto its target, in the order opened."""
        for file in self._files:
            file.close()
        for file in self._files:
            os.replace(file.temporary, file.target)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or (pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type))

