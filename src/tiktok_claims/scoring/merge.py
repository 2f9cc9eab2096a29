"""The external merge sort that ranks scored rows in bounded memory (the in-process engine).

Pass 1 of :func:`tiktok_claims.scoring.local.score_file` appends each chunk's scored
rows, sorted by priority, as a *run* to a :class:`RecordFile`. :func:`merged` merges the
runs block by block (a block per run in memory): each step emits every record not after
the smallest of the blocks' last records (nothing still on disk can precede it), sorted
with numpy; :func:`ranked` numbers the merged stream from 1, which is each row's
priority rank. A record's sort key is the bitwise complement of its probability's
IEEE-754 bits (:func:`priority_keys`): as unsigned integers, these order non-negative
floats from the highest to the lowest; ties keep input order (the ordinal).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

RUN = np.dtype([("key", "<u8"), ("ordinal", "<i8")])
SORTED_RUN = np.dtype([("key", "<u8"), ("ordinal", "<i8"), ("id", "<i8"), ("video_id", "<i8")])
SCORED = np.dtype([("id", "<i8"), ("video_id", "<i8"), ("probability", "<f8")])
RANKED = np.dtype([("ordinal", "<i8"), ("rank", "<i8")])


class RecordFile:
    """Fixed-size numpy records appended to one binary file, read back by position.

    ``runs`` lists ``(first record, length)`` of each :meth:`append`.
    """

    def __init__(self, path: Path, dtype: np.dtype):
        self.path, self.dtype = path, dtype
        self.runs: list[tuple[int, int]] = []
        self.records = 0

    def append(self, records: np.ndarray) -> None:
        with self.path.open("ab") as handle:
            records.tofile(handle)
        self.runs.append((self.records, len(records)))
        self.records += len(records)

    def read(self, start: int, count: int) -> np.ndarray:
        with self.path.open("rb") as handle:
            handle.seek(start * self.dtype.itemsize)
            return np.fromfile(handle, dtype=self.dtype, count=count)


def priority_keys(probability: np.ndarray) -> np.ndarray:
    """Sort keys that order non-negative probabilities from the highest to the lowest."""
    return ~probability.view(np.uint64)


def ranked(blocks: Iterator[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each merged block with its priority ranks (its positions in the merged stream, from 1)."""
    done = 0
    for records in blocks:
        yield records, np.arange(done + 1, done + 1 + len(records))
        done += len(records)


def merged(runs: RecordFile, block: int) -> Iterator[np.ndarray]:
    """Records of all runs in (key, ordinal) order: a vectorized k-way merge.

    Each run is sorted. One block per run is in memory; every record not after the
    smallest last record of the blocks is emitted (no record still on disk can precede
    it), after one numpy sort of those records. Each step empties at least one block,
    which is then refilled from its run.
    """
    cursors = [[start, start + length] for start, length in runs.runs]
    blocks = [np.empty(0, dtype=runs.dtype) for _ in cursors]

    def refill(index: int) -> None:
        start, end = cursors[index]
        count = min(block, end - start)
        blocks[index] = runs.read(start, count)
        cursors[index][0] += count

    for index in range(len(cursors)):
        refill(index)
    active = [index for index in range(len(cursors)) if len(blocks[index])]
    while active:
        bound = min((blocks[i]["key"][-1], blocks[i]["ordinal"][-1]) for i in active)
        parts = []
        for index in active:
            taken = count_up_to(blocks[index], bound)
            parts.append(blocks[index][:taken])
            blocks[index] = blocks[index][taken:]
            if not len(blocks[index]):
                refill(index)
        batch = np.concatenate(parts)
        yield batch[priority_order(batch["key"], batch["ordinal"])]
        active = [index for index in active if len(blocks[index])]


def priority_order(keys: np.ndarray, ordinals: np.ndarray) -> np.ndarray:
    """Indices that order records by (key, ordinal): a fast sort by key, then ties by ordinal."""
    order = np.argsort(keys)
    ranked_keys = keys[order]
    tied = np.flatnonzero(ranked_keys[1:] == ranked_keys[:-1])
    if len(tied):
        # Tie groups are contiguous and in key order: sorting their members by (key,
        # ordinal) and putting them back in the same positions orders each group.
        positions = np.union1d(tied, tied + 1)
        members = order[positions]
        order[positions] = members[np.lexsort((ordinals[members], keys[members]))]
    return order


def count_up_to(records: np.ndarray, bound: tuple) -> int:
    """How many records of a sorted block come at or before ``bound`` = (key, ordinal)."""
    keys = records["key"]
    low = int(np.searchsorted(keys, bound[0], side="left"))
    high = int(np.searchsorted(keys, bound[0], side="right"))
    return low + int(np.searchsorted(records["ordinal"][low:high], bound[1], side="right"))
