"""Split first: the training and test parts, before anything learns from the data."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.model_selection import train_test_split

from .. import config


@dataclass(frozen=True)
class Split:
    """Index labels of the training and test parts (stratified, seeded)."""

    train: pd.Index
    test: pd.Index
    seed: int
    test_size: float


def encode_target(values: pd.Series, positive_class: str) -> pd.Series:
    """1 for the positive class, 0 otherwise."""
    return (values == positive_class).astype("int64")


def split(frame: pd.DataFrame, target: str | None, seed: int, test_size: float = config.TEST_SIZE) -> Split:
    """Train/test split of ``frame``'s index, stratified on ``target`` when given."""
    train, test = train_test_split(
        frame.index, test_size=test_size, random_state=seed, stratify=None if target is None else frame[target]
    )
    return Split(train=pd.Index(train), test=pd.Index(test), seed=seed, test_size=test_size)
