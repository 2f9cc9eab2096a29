"""Choose the model family from the outcome's type, and say why."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import config
from .errors import AnalysisError


@dataclass(frozen=True)
class Approach:
    """The modeling decision for one target."""

    target: str
    outcome_type: str
    family: str
    positive_class: str
    reason: str


def choose_approach(frame: pd.DataFrame, target: str) -> Approach:
    """Decide the model family for ``target`` from the values it takes.

    A two-level outcome calls for a binomial logistic regression: it models the
    log-odds of the positive class as linear in the predictors, keeps predicted
    probabilities in (0, 1), and its coefficients read as odds ratios.
    """
    if target not in frame.columns:
        raise AnalysisError(f"--target {target!r} is not a column; expected one of {', '.join(config.COLUMNS)}.")
    levels = sorted(frame[target].dropna().unique().tolist(), key=str)
    if target in config.POSITIVE_CLASS and len(levels) == 2:
        positive = config.POSITIVE_CLASS[target]
        negative = next(level for level in levels if level != positive)
        return Approach(
            target=target,
            outcome_type="binary",
            family="binomial logistic regression",
            positive_class=positive,
            reason=(
                f"'{target}' takes exactly two values ('{negative}' and '{positive}'), so the "
                f"outcome is binary: a binomial logistic regression models the log-odds of "
                f"'{positive}' as a linear function of the predictors, keeps predicted "
                "probabilities between 0 and 1, and its coefficients read as odds ratios. "
                "Linear regression would predict values outside [0, 1] and violate its "
                "constant-variance assumption."
            ),
        )
    raise AnalysisError(
        f"--target {target!r}: only binary outcomes ({', '.join(config.POSITIVE_CLASS)}) are "
        f"supported so far; '{target}' has {len(levels)} distinct values."
    )
