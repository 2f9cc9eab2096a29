"""The train/test split (``model/split.py``): stratified, seeded, the test share kept;
checked by counting rows by hand on the real data and on made-up frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tiktok_claims import config
from tiktok_claims.model.split import encode_target, split

TARGET = config.VERIFIED


def test_split_is_stratified_and_keeps_the_test_share(real_parts):
    frame, train, test = real_parts["frame"], real_parts["train"], real_parts["test"]
    share = lambda rows: float((rows[TARGET] == "verified").mean())  # noqa: E731

    assert abs(share(train) - share(test)) < 0.005
    assert abs(share(test) - share(frame)) < 0.005
    assert len(test) == math.ceil(config.TEST_SIZE * len(frame))
    assert train.index.intersection(test.index).empty
    assert train.index.union(test.index).sort_values().equals(frame.index.sort_values())


def test_split_is_deterministic_per_seed(real_analysis, real_parts):
    frame = real_parts["frame"]
    first = split(frame, TARGET, seed=config.DEFAULT_SEED)
    second = split(frame, TARGET, seed=config.DEFAULT_SEED)
    other = split(frame, TARGET, seed=config.DEFAULT_SEED + 1)

    assert list(first.test) == list(second.test) == list(real_analysis.split.test)
    assert list(first.train) == list(real_analysis.split.train)
    assert set(other.test) != set(first.test)


def test_split_of_a_small_made_up_frame_is_stratified():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({TARGET: np.where(np.arange(400) < 40, "verified", "not verified"), "x": rng.normal(size=400)})

    parts = split(frame, TARGET, seed=3)

    assert len(parts.test) == 100
    assert (frame.loc[parts.test, TARGET] == "verified").sum() == 10


@pytest.mark.parametrize("rows", [400, 401, 7])
def test_random_split_without_a_target_keeps_every_row_once_and_the_test_share(rows):
    frame = pd.DataFrame({"x": np.arange(rows)}, index=pd.RangeIndex(2, 2 + rows, name="line"))

    parts = split(frame, None, seed=5)

    assert len(parts.test) == math.ceil(config.TEST_SIZE * rows)
    assert len(parts.train) == rows - len(parts.test)
    assert parts.train.intersection(parts.test).empty
    assert sorted([*parts.train, *parts.test]) == list(frame.index)
    assert (parts.seed, parts.test_size) == (5, config.TEST_SIZE)


def test_the_labels_are_the_frames_at_the_positions_built_when_first_asked_for():
    frame = pd.DataFrame({TARGET: np.where(np.arange(50) % 5 == 0, "verified", "not verified")}, index=np.arange(50) * 3)

    parts = split(frame, TARGET, seed=1)

    assert "train" not in vars(parts) and "test" not in vars(parts)  # a caller of the positions alone holds no labels
    assert parts.train.equals(frame.index[parts.train_positions]) and parts.test.equals(frame.index[parts.test_positions])
    assert parts.train is parts.train  # built once
    assert parts.labels is frame.index


def test_split_is_deterministic_per_seed_on_a_made_up_frame():
    frame = pd.DataFrame({TARGET: np.where(np.arange(300) % 5 == 0, "verified", "not verified")})

    first, again, other = split(frame, TARGET, seed=1), split(frame, TARGET, seed=1), split(frame, TARGET, seed=2)

    assert list(first.test) == list(again.test) and list(first.train) == list(again.train)
    assert set(other.test) != set(first.test)


def test_another_test_share_is_kept_and_stratified():
    frame = pd.DataFrame({TARGET: np.where(np.arange(200) < 50, "verified", "not verified")})

    parts = split(frame, TARGET, seed=0, test_size=0.5)

    assert len(parts.test) == 100 and parts.test_size == 0.5
    assert (frame.loc[parts.test, TARGET] == "verified").sum() == 25


def test_encode_target_is_one_for_the_positive_class_only():
    values = pd.Series(["claim", "opinion", "claim", None, "opinion"], index=[10, 11, 12, 13, 14])

    encoded = encode_target(values, "claim")

    assert encoded.dtype == "int8"  # sums over it are int64 all the same
    assert encoded.sum() == 2 and encoded.to_numpy().sum().dtype == np.int64
    assert encoded.tolist() == [1, 0, 1, 0, 0]
    assert list(encoded.index) == [10, 11, 12, 13, 14]
