"""Split first: the training and test parts, before anything learns from the data."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from .. import config


@dataclass(frozen=True)
class Split:
    """Positions in the frame of the training and test parts (stratified, seeded), and their index labels."""

    labels: pd.Index = field(repr=False, compare=False)
    """The frame's index (shared, not copied)."""
    seed: int
    test_size: float
    train_positions: np.ndarray = field(repr=False)
    """Row numbers of ``train`` in the frame, in the same order (``frame.iloc[train_positions]``)."""
    test_positions: np.ndarray = field(repr=False)

    @cached_property
    def train(self) -> pd.Index:
        """Index labels of the training rows (built when first asked for: callers of the positions alone never hold them)."""
        return self.labels[self.train_positions]

    @cached_property
    def test(self) -> pd.Index:
        """Index labels of the test rows."""
        return self.labels[self.test_positions]


def encode_target(values: pd.Series, positive_class: str) -> pd.Series:
    """1 for the positive class, 0 otherwise, as int8 (an eighth of the memory of int64).

    Sums, means and counts of it are int64 or float as before; arithmetic that stays in
    int8 is not (``y @ y`` and ``np.einsum`` wrap above 127, ``300 - y`` raises): cast
    before such products.
    """
    return (values == positive_class).astype("int8")


def split(frame: pd.DataFrame, target: str | None, seed: int, test_size: float = config.TEST_SIZE) -> Split:
    """Train/test split of ``frame``'s index, stratified on ``target`` when given.

    The rows are drawn by position (the draw depends on the number of rows, the strata
    and the seed only), so the labels come with their positions at no cost.
    """
    train, test = train_test_split(
        np.arange(len(frame)), test_size=test_size, random_state=seed, stratify=None if target is None else frame[target]
    )
    return Split(
        labels=frame.index,
        seed=seed,
        test_size=test_size,
        train_positions=train,
        test_positions=test,
    )
