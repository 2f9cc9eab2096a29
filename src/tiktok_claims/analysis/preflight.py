"""Decide, before any expensive work, whether the data can answer the question at all.

Every refusal here is an :class:`~tiktok_claims.errors.AnalysisError` that names the
reason and the minimum needed; nothing is fitted first. What passes gets a complete
report; what is thin but estimable is said there (the events-per-variable check, the
predictors left out as constant, the model card's limitations).

The minimums follow from what the analysis does with the rows of each outcome level
(binary or ordered): the stratified split puts ``config.TEST_SIZE`` of them in the
test part, which needs :data:`MIN_TEST_ROWS` of each level for its metrics to mean
anything; a binary outcome's training part is cross-validated in ``cv_folds`` folds,
each of which needs :data:`MIN_FOLD_ROWS` of each level for its ranking metrics, and
SMOTE (one of the compared strategies) needs ``SMOTE_NEIGHBORS + 1`` minority rows in
every fold's training rows.
"""

from __future__ import annotations

import math

from .. import config
from ..approach import ORDERED_LEVELS, Approach, OutcomeKind, choose_approach
from ..data.load import Dataset
from ..errors import AnalysisError
from ..model.split import split
from .options import AnalysisOptions

MIN_TEST_ROWS = 5
"""Rows of each outcome level the test part needs."""
MIN_FOLD_ROWS = 2
"""Rows of each level every cross-validation fold needs (a ranking metric needs both levels)."""
SMOTE_NEIGHBORS = 5
"""SMOTE's default ``k_neighbors``: it needs one more minority row than this in each fold's training rows."""
MIN_TRAIN_ROWS_FAMILY = 5
"""Rows of each ordered level the training part of an ordinal model needs."""
MIN_ROWS_NUMERIC = 20
"""Rows a count or continuous outcome needs (both parts estimate and evaluate a model)."""


def preflight(dataset: Dataset, options: AnalysisOptions, *, cross_validated: bool = True) -> Approach:
    """The modeling approach for ``options.target``, or a clean refusal before any fit.

    ``cross_validated=False`` (the assumption checklist alone) drops the
    cross-validation minimum.
    """
    target = options.target
    if dataset.rows_used == 0:
        reasons = "; ".join(f"{n:,} {reason}" for reason, n in dataset.rows_set_aside.items()) or "the file has no rows"
        raise AnalysisError(
            f"{dataset.source}: no row can be used ({dataset.rows_read:,} read; set aside: {reasons}); "
            "the analysis needs complete rows."
        )
    if target in dataset.frame.columns and target in config.CATEGORIES:
        _require_levels(dataset, target)
    approach = choose_approach(dataset.frame, target)
    if approach.kind in (OutcomeKind.BINARY, OutcomeKind.ORDINAL):
        _require_rows_per_level(dataset, approach, options, cross_validated)
    elif dataset.frame[target].nunique() < 2 or dataset.rows_used < MIN_ROWS_NUMERIC:
        raise AnalysisError(
            f"{dataset.source}: {target} takes {dataset.frame[target].nunique():,} distinct value(s) in "
            f"{dataset.rows_used:,} used row(s); a {approach.label} needs at least {MIN_ROWS_NUMERIC} rows "
            "and two distinct values of the outcome."
        )
    return approach


def _require_levels(dataset: Dataset, target: str) -> None:
    """A categorical outcome needs every level its model has: two for a binary one, all for an ordered one."""
    counts = dataset.frame[target].value_counts()
    present = [level for level in config.CATEGORIES[target] if counts.get(level, 0) > 0]
    expected = ORDERED_LEVELS.get(target, config.CATEGORIES[target])
    needed = len(expected) if target in ORDERED_LEVELS else 2
    if len(present) >= needed:
        return
    absent = [level for level in expected if level not in present]
    found = ", ".join(f"{counts[level]:,} {level!r}" for level in present)
    model = "an ordinal model of its levels" if target in ORDERED_LEVELS else "a logistic regression"
    raise AnalysisError(
        f"{dataset.source}: {target} has {found} and no {' or '.join(repr(a) for a in absent)} in the "
        f"{dataset.rows_used:,} used rows; {model} needs rows of every level "
        f"({', '.join(repr(e) for e in expected)}), at least {minimum_rows_per_level(target)} of each."
    )


def train_minimum(kind: OutcomeKind, cv_folds: int, cross_validated: bool = True) -> int:
    """Rows of each level the training part needs."""
    if kind is OutcomeKind.ORDINAL:
        return MIN_TRAIN_ROWS_FAMILY
    if not cross_validated:
        return MIN_TEST_ROWS
    return max(MIN_FOLD_ROWS * cv_folds, math.ceil((SMOTE_NEIGHBORS + 1) * cv_folds / (cv_folds - 1)))


def minimum_rows_per_level(target: str, cv_folds: int = config.CV_FOLDS, cross_validated: bool = True) -> int:
    """Rows of each level, in all, that give the split's two parts their minimums."""
    kind = OutcomeKind.ORDINAL if target in ORDERED_LEVELS else OutcomeKind.BINARY
    train = train_minimum(kind, cv_folds, cross_validated)
    return max(math.ceil(MIN_TEST_ROWS / config.TEST_SIZE), math.ceil(train / (1 - config.TEST_SIZE)) + 1)


def _require_rows_per_level(dataset: Dataset, approach: Approach, options: AnalysisOptions, cross_validated: bool) -> None:
    """Enough rows of each level in all, then in each part of the split as it will be drawn."""
    values = dataset.frame[approach.target]
    totals = values.value_counts()
    in_all = minimum_rows_per_level(approach.target, options.cv_folds, cross_validated)
    if totals.min() < in_all:
        level = totals.idxmin()
        raise AnalysisError(
            f"{dataset.source}: {approach.target} is {level!r} in only {totals[level]:,} of {dataset.rows_used:,} "
            f"used rows; the analysis needs at least {in_all} rows of each level ({_why(approach, options, cross_validated)})."
        )
    parts = split(dataset.frame, approach.stratify_on, options.seed)
    train_counts = values.loc[parts.train].value_counts()
    test_counts = values.loc[parts.test].value_counts()
    needed_train = train_minimum(approach.kind, options.cv_folds, cross_validated)
    short = [
        level
        for level in values.unique()
        if train_counts.get(level, 0) < needed_train or test_counts.get(level, 0) < MIN_TEST_ROWS
    ]
    if not short:
        return
    level = min(short, key=lambda name: totals[name])
    raise AnalysisError(
        f"{dataset.source}: {approach.target} is {level!r} in {totals[level]:,} of {dataset.rows_used:,} used rows, "
        f"which the split divides into {train_counts.get(level, 0):,} training and {test_counts.get(level, 0):,} "
        f"test rows; the analysis needs {_why(approach, options, cross_validated)}. Add rows of that level."
    )


def _why(approach: Approach, options: AnalysisOptions, cross_validated: bool) -> str:
    """The two parts' minimums, in words."""
    needed_train = train_minimum(approach.kind, options.cv_folds, cross_validated)
    purpose = (
        f"for {options.cv_folds}-fold cross-validation with SMOTE"
        if approach.kind is OutcomeKind.BINARY and cross_validated
        else "for the fit"
    )
    return (
        f"{MIN_TEST_ROWS} of each level in the test part, to measure the model, and {needed_train} in the "
        f"training part, {purpose}"
    )
