"""Leakage audit: the course's recipe (upsample, then split) beside the honest figures.

The course's notebook upsamples the minority class of the whole dataset and only then
splits it, so copies of test rows sit in the training part and the test part is an
artificial 50/50. This module reproduces that recipe on the same data, on every run,
so the report can show both sets of numbers and why they differ.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    precision_recall_fscore_support,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.utils import resample

from .. import config
from ..model.features import FeatureSpec

COURSE_MAX_ITER = 800
# Test mixes closer than this to the real one are "close".
MIX_DIFFERENCE = 0.05


@dataclass(frozen=True)
class LeakageAudit:
    """Metrics of the course's recipe, with the facts that explain them."""

    course: dict
    explanation: list[str]
    inflated: bool
    """Whether the course's precision lies above the honest precision's 95% interval."""


def course_recipe(frame: pd.DataFrame, target: str, positive: str, spec: FeatureSpec, seed: int) -> dict[str, float]:
    """Upsample the minority class of all rows, split 75/25, fit lbfgs on unscaled features.

    The minority class is whichever is smaller (the positive class or not); its rows are
    drawn with replacement until the classes are equal, as the course's notebook does.
    """
    y_all = (frame[target] == positive).astype(int)
    positives, negatives = frame[y_all == 1], frame[y_all == 0]
    minority, majority = (positives, negatives) if len(positives) <= len(negatives) else (negatives, positives)
    upsampled_minority = resample(minority, replace=True, n_samples=len(majority), random_state=seed)
    data = pd.concat([majority, upsampled_minority])
    x = pd.get_dummies(data[spec.columns], columns=list(spec.categorical), drop_first=True, dtype=float)
    y = (data[target] == positive).astype(int)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=config.TEST_SIZE, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = LogisticRegression(random_state=seed, max_iter=COURSE_MAX_ITER).fit(x_train, y_train)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    predicted = model.predict(x_test)
    precision, recall, f1, _ = precision_recall_fscore_support(y_test, predicted, labels=[1], zero_division=0)
    copies = x_test.index.isin(x_train.index)
    return {
        "minority_class": positive if minority is positives else _other(frame, target, positive),
        "minority_rows": int(len(minority)),
        "drawn": int(len(majority)),
        "copies_added": int(len(majority) - len(minority)),
        "accuracy": float(accuracy_score(y_test, predicted)),
        "precision": float(precision[0]),
        "recall": float(recall[0]),
        "f1": float(f1[0]),
        "roc_auc": float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])),
        "test_base_rate": float(y_test.mean()),
        "test_rows_with_copy_in_training": float(copies.mean()),
        "converged": bool(converged),
        "iterations": int(np.max(model.n_iter_)),
    }


def _other(frame: pd.DataFrame, target: str, positive: str) -> str:
    return next(level for level in config.CATEGORIES[target] if level != positive)


def explain(course: dict, honest: dict, positive: str, honest_precision_ci: tuple[float, float]) -> LeakageAudit:
    """Say, with their numbers, why the course recipe's metrics differ from ``honest`` (and only what is true).

    ``honest_precision_ci`` is the 95% bootstrap interval of the honest precision: the
    course's precision is called inflated only when it lies above that interval.
    """
    minority = course["minority_class"]
    explanation = [
        (
            f"The course's recipe draws {course['drawn']:,} '{minority}' rows (the smaller class) with replacement from "
            f"the {course['minority_rows']:,} there are, so some appear several times and others not at all, until "
            f"the classes are equal, and only then splits: {course['test_rows_with_copy_in_training']:.0%} of its test "
            "rows have an exact copy in its training rows, so the model is graded partly on videos it has already seen."
        )
    ]
    low, high = honest_precision_ci
    shift = f"{honest['precision']:.3f} (honest, natural prevalence) to {course['precision']:.3f}"
    if abs(course["test_base_rate"] - honest["base_rate"]) > MIX_DIFFERENCE:
        mix = (
            f"Its test set is also {course['test_base_rate']:.0%} '{positive}' instead of the real "
            f"{honest['base_rate']:.1%}"
        )
    else:
        mix = (
            f"Its test set's mix ({course['test_base_rate']:.1%} '{positive}') is close to the real one "
            f"({honest['base_rate']:.1%})"
        )
    if course["precision"] > high:
        explanation.append(f"{mix}; together these inflate precision from {shift}.")
    elif course["precision"] < low:
        explanation.append(f"{mix}; here the recipe lowers precision from {shift}.")
    else:
        explanation.append(
            f"{mix}; here its precision ({course['precision']:.3f}) stays within the honest figure's 95% interval "
            f"({low:.3f}–{high:.3f}), so the flaw does not change precision, but its test is still not a fair test."
        )
    if not course["converged"]:
        explanation.append(
            f"Its lbfgs fit on unscaled counts also stopped at {course['iterations']} iterations "
            "without converging, so its coefficients are not the maximum-likelihood estimates."
        )
    return LeakageAudit(course=course, explanation=explanation, inflated=bool(course["precision"] > high))
