"""Split first: the training and test parts, before anything learns from the data."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from .. import config


@dataclass(frozen=True)
class Split:
    """Index labels of the training and test parts (stratified, seeded), and their positions in the frame."""

    train: pd.Index
    test: pd.Index
    seed: int
    test_size: float
    train_positions: np.ndarray = field(repr=False)
    """Row numbers of ``train`` in the frame, in the same order (``frame.iloc[train_positions]``)."""
    test_positions: np.ndarray = field(repr=False)


def encode_target(values: pd.Series, positive_class: str) -> pd.Series:
    """1 for the positive class, 0 otherwise."""
    return (values == positive_class).astype("int64")


def split(frame: pd.DataFrame, target: str | None, seed: int, test_size: float = config.TEST_SIZE) -> Split:
    """Train/test split of ``frame``'s index, stratified on ``target`` when given.

    The rows are drawn by position (the draw depends on the number of rows, the strata
    and the seed only), so the labels come with their positions at no cost.
    """
    train, test = train_test_split(
        np.arange(len(frame)), test_size=test_size, random_state=seed, stratify=None if target is None else frame[target]
    )
    return Split(
        train=frame.index[train],
        test=frame.index[test],
        seed=seed,
        test_size=test_size,
        train_positions=train,
        test_positions=test,
    )
