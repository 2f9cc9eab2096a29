"""The external merge sort of the in-process scorer (scoring/merge.py), against one numpy sort."""

from __future__ import annotations

import numpy as np
import pytest

from tiktok_claims.scoring.merge import RUN, RecordFile, merged, priority_keys, priority_order, ranked


def test_priority_keys_order_probabilities_from_the_highest():
    probability = np.array([0.0, 0.5, 1.0, 0.25, 0.5, 1e-300])
    order = np.argsort(priority_keys(probability), kind="stable")
    assert list(probability[order]) == sorted(probability, reverse=True)


def test_priority_order_breaks_ties_by_ordinal():
    keys = np.array([5, 3, 5, 3, 1], dtype=np.uint64)
    ordinals = np.array([9, 8, 2, 4, 7])
    assert list(priority_order(keys, ordinals)) == list(np.lexsort((ordinals, keys)))


@pytest.mark.parametrize(("runs", "block"), [(1, 1024), (7, 3), (20, 50), (5, 1)])
def test_merging_sorted_runs_in_small_blocks_equals_one_global_sort(tmp_path, runs, block):
    rng = np.random.default_rng(runs * 100 + block)
    # Few distinct probabilities, so ties across runs are common.
    probability = rng.choice(np.linspace(0, 1, 23), size=1500)
    bounds = np.sort(rng.choice(np.arange(1, len(probability)), size=runs - 1, replace=False)) if runs > 1 else []
    file = RecordFile(tmp_path / "runs.bin", RUN)
    start = 0
    for end in [*bounds, len(probability)]:
        chunk = np.empty(end - start, dtype=RUN)
        chunk["key"] = priority_keys(probability[start:end])
        chunk["ordinal"] = np.arange(start, end)
        file.append(chunk[priority_order(chunk["key"], chunk["ordinal"])])
        start = end

    stream = list(ranked(merged(file, block)))
    records = np.concatenate([records for records, _ in stream])
    ranks = np.concatenate([numbers for _, numbers in stream])

    expected = np.lexsort((np.arange(len(probability)), -probability))
    assert list(records["ordinal"]) == list(expected)
    assert list(ranks) == list(range(1, len(probability) + 1))
