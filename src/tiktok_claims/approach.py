"""Choose the model family from the outcome's type, and say why.

* two levels -> binomial logistic regression;
* ordered levels (``author_ban_status``: active < under review < banned) -> ordinal
  (proportional-odds) logistic regression, with multinomial logit as the alternative
  when proportional odds do not hold (checked by :mod:`tiktok_claims.diagnostics.families`);
* non-negative counts -> Poisson regression, or negative binomial when the counts are
  overdispersed (Pearson dispersion of the Poisson fit above ``OVERDISPERSION``);
* other continuous outcomes -> ordinary least squares, on the log scale when strongly
  right-skewed (skewness above ``LOG_SKEW``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import pandas as pd

from . import config
from .errors import OptionsError

OVERDISPERSION = 1.5
LOG_SKEW = 1.0
# Outcomes whose levels have a natural order, lowest first.
ORDERED_LEVELS: dict[str, tuple[str, ...]] = {config.BAN: ("active", "under review", "banned")}


class OutcomeKind(Enum):
    """What kind of values the outcome takes; code branches on this, never on display text."""

    BINARY = "binary"
    ORDINAL = "ordinal"
    NOMINAL = "nominal"
    COUNT = "count"
    CONTINUOUS = "continuous"

    @property
    def label(self) -> str:
        """How documents name the outcome type."""
        return _OUTCOME_LABELS[self]

    @property
    def stratified(self) -> bool:
        """Whether the train/test split keeps the outcome's level shares (categorical outcomes)."""
        return self in (OutcomeKind.BINARY, OutcomeKind.ORDINAL, OutcomeKind.NOMINAL)


_OUTCOME_LABELS = {
    OutcomeKind.BINARY: "binary",
    OutcomeKind.ORDINAL: "ordered categories",
    OutcomeKind.NOMINAL: "unordered categories",
    OutcomeKind.COUNT: "non-negative count",
    OutcomeKind.CONTINUOUS: "continuous",
}


class Family(Enum):
    """The model family fitted to the outcome."""

    LOGISTIC = "logistic"
    ORDINAL_LOGIT = "ordinal_logit"
    MULTINOMIAL_LOGIT = "multinomial_logit"
    POISSON = "poisson"
    NEGATIVE_BINOMIAL = "negative_binomial"
    OLS = "ols"
    LOG_OLS = "log_ols"

    @property
    def label(self) -> str:
        """How documents name the family."""
        return _FAMILY_LABELS[self]


_FAMILY_LABELS = {
    Family.LOGISTIC: "binomial logistic regression",
    Family.ORDINAL_LOGIT: "ordinal logistic regression",
    Family.MULTINOMIAL_LOGIT: "multinomial logistic regression",
    Family.POISSON: "Poisson regression",
    Family.NEGATIVE_BINOMIAL: "negative binomial regression",
    Family.OLS: "linear regression (OLS)",
    Family.LOG_OLS: "linear regression (OLS) on log(outcome)",
}


@dataclass(frozen=True)
class Approach:
    """The modeling decision for one target, with the numbers behind it."""

    target: str
    kind: OutcomeKind
    family: Family
    positive_class: str
    reason: str
    statistics: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The family's display name, e.g. ``"binomial logistic regression"``."""
        return self.family.label

    @property
    def stratify_on(self) -> str | None:
        """The column the train/test split is stratified on, or ``None`` for a random split."""
        return self.target if self.kind.stratified else None


def choose_approach(frame: pd.DataFrame, target: str) -> Approach:
    """Decide the model family for ``target`` from the values it takes.

    A ``target`` that is not one of :data:`tiktok_claims.config.OUTCOMES` (an identifier,
    the transcript, an unknown name) is a bad argument: :class:`~tiktok_claims.errors.OptionsError`.

    Examples
    --------
    >>> choose_approach(frame, "verified_status").label  # doctest: +SKIP
    'binomial logistic regression'
    """
    if target not in config.OUTCOMES or target not in frame.columns:
        raise OptionsError(
            f"--target {target!r} cannot be an outcome; expected one of {', '.join(config.OUTCOMES)}.", "target"
        )
    values = frame[target]
    if target in config.CATEGORIES:
        levels = [level for level in config.CATEGORIES[target] if level in set(values)]
        if len(levels) == 2:
            return _binary(target, levels)
        if target in ORDERED_LEVELS:
            return Approach(
                target=target,
                kind=OutcomeKind.ORDINAL,
                family=Family.ORDINAL_LOGIT,
                positive_class=ORDERED_LEVELS[target][-1],
                reason=(
                    f"'{target}' has {len(levels)} levels with a natural order of severity "
                    f"({' < '.join(ORDERED_LEVELS[target])}): an ordinal (proportional-odds) logistic "
                    "regression uses that order and needs one coefficient per predictor. If the "
                    "proportional-odds assumption fails, a multinomial logit (one coefficient per "
                    "predictor and level) is the alternative; the assumption checks test it."
                ),
            )
        return Approach(
            target=target,
            kind=OutcomeKind.NOMINAL,
            family=Family.MULTINOMIAL_LOGIT,
            positive_class=levels[-1],
            reason=f"'{target}' has {len(levels)} unordered levels: a multinomial logit models each against the first.",
        )
    if target in config.COUNT_COLUMNS:
        mean, variance = float(values.mean()), float(values.var())
        dispersion = poisson_dispersion(values)
        overdispersed = dispersion > OVERDISPERSION
        return Approach(
            target=target,
            kind=OutcomeKind.COUNT,
            family=Family.NEGATIVE_BINOMIAL if overdispersed else Family.POISSON,
            positive_class="",
            reason=(
                f"'{target}' is a non-negative count, so a count model with a log link applies. "
                f"A Poisson model assumes variance = mean; here the mean is {mean:,.1f} and the "
                f"variance {variance:,.1f}, and the Pearson dispersion of an intercept-only Poisson "
                f"fit is {dispersion:,.1f} ({'above' if overdispersed else 'not above'} "
                f"{OVERDISPERSION:g}), so {'a negative binomial model, which lets the variance grow faster than the mean, is used' if overdispersed else 'Poisson regression is used'}."
            ),
            statistics={"mean": mean, "variance": variance, "pearson_dispersion": dispersion},
        )
    skew = float(values.skew())
    logged = skew > LOG_SKEW and bool((values > 0).all())
    return Approach(
        target=target,
        kind=OutcomeKind.CONTINUOUS,
        family=Family.LOG_OLS if logged else Family.OLS,
        positive_class="",
        reason=(
            f"'{target}' is continuous: ordinary least squares. Its skewness is {skew:.2f} "
            f"({'above' if logged else 'not above'} {LOG_SKEW:g}), so the model is fitted "
            f"{'on the log scale, where the residuals are closer to symmetric' if logged else 'on the original scale'}."
        ),
        statistics={"skewness": skew},
    )


def _binary(target: str, levels: list[str]) -> Approach:
    positive = config.POSITIVE_CLASS.get(target, levels[-1])
    negative = next(level for level in levels if level != positive)
    return Approach(
        target=target,
        kind=OutcomeKind.BINARY,
        family=Family.LOGISTIC,
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


def poisson_dispersion(counts: pd.Series) -> float:
    """Pearson chi-squared over degrees of freedom of an intercept-only Poisson fit."""
    y = counts.to_numpy(dtype=float)
    mu = y.mean()
    return float(np.sum((y - mu) ** 2 / mu) / (len(y) - 1))
