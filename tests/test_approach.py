"""Choosing the model family from the outcome (``approach.py``): the dispersion boundary
between Poisson and negative binomial, the skewness rule for log-OLS, the kinds that are
stratified, and the columns that cannot be outcomes; each against a hand computation or
statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.stats import skew

from tiktok_claims import approach as approach_module
from tiktok_claims import config
from tiktok_claims.approach import (
    LOG_SKEW,
    ORDERED_LEVELS,
    OVERDISPERSION,
    Family,
    OutcomeKind,
    choose_approach,
    poisson_dispersion,
)
from tiktok_claims.errors import OptionsError


def counts(values) -> pd.DataFrame:
    return pd.DataFrame({config.VIEWS: np.asarray(values, dtype="int64")})


# ---------------------------------------------------------------- counts: Poisson or negative binomial


def test_the_dispersion_boundary_is_the_stated_one():
    assert OVERDISPERSION == 1.5


@pytest.mark.parametrize(
    ("values", "dispersion", "family"),
    [
        # mean 8, squared deviations 9 each: 4 * 9 / 8 / (4 - 1) = 1.5 exactly, which is not above 1.5
        ([5, 11, 5, 11], 1.5, Family.POISSON),
        # mean 7.75: (2.75² + 3.25² + 2.75² + 2.25²) / 7.75 / 3 = 30.75 / 23.25
        ([5, 11, 5, 10], 30.75 / 23.25, Family.POISSON),
        # mean 8.25: (3.25² + 2.75² + 3.25² + 3.75²) / 8.25 / 3 = 42.75 / 24.75
        ([5, 11, 5, 12], 42.75 / 24.75, Family.NEGATIVE_BINOMIAL),
    ],
    ids=["at-the-boundary", "below", "above"],
)
def test_count_family_follows_the_pearson_dispersion_at_the_boundary(values, dispersion, family):
    chosen = choose_approach(counts(values), config.VIEWS)

    assert chosen.kind is OutcomeKind.COUNT
    assert chosen.family is family
    assert chosen.statistics["pearson_dispersion"] == pytest.approx(dispersion, rel=1e-12)
    assert chosen.statistics["mean"] == pytest.approx(np.mean(values), rel=1e-12)
    assert chosen.statistics["variance"] == pytest.approx(np.var(values, ddof=1), rel=1e-12)
    assert chosen.stratify_on is None
    assert chosen.positive_class == ""
    assert f"fit is {dispersion:,.1f}" in chosen.reason


@pytest.mark.parametrize("column", config.COUNT_COLUMNS)
def test_dispersion_of_each_real_count_equals_an_intercept_only_poisson_glm(real_dataset, column):
    y = real_dataset.frame[column].to_numpy(dtype=float)
    glm = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Poisson()).fit()

    chosen = choose_approach(real_dataset.frame, column)

    assert poisson_dispersion(real_dataset.frame[column]) == pytest.approx(glm.pearson_chi2 / glm.df_resid, rel=1e-9)
    assert chosen.statistics["pearson_dispersion"] == pytest.approx(glm.pearson_chi2 / glm.df_resid, rel=1e-9)
    # Engagement counts are far more variable than Poisson allows.
    assert chosen.family is Family.NEGATIVE_BINOMIAL


# ---------------------------------------------------------------- continuous: OLS or log-OLS


def durations(values) -> pd.DataFrame:
    return pd.DataFrame({config.DURATION: np.asarray(values, dtype=float)})


def test_continuous_family_follows_the_skewness():
    rng = np.random.default_rng(1)
    uniform, lognormal = rng.uniform(5, 60, 2000), rng.lognormal(3, 1, 2000)
    assert LOG_SKEW == 1.0
    assert skew(uniform, bias=False) < LOG_SKEW < skew(lognormal, bias=False)

    flat, skewed = choose_approach(durations(uniform), config.DURATION), choose_approach(durations(lognormal), config.DURATION)

    assert (flat.kind, flat.family) == (OutcomeKind.CONTINUOUS, Family.OLS)
    assert (skewed.kind, skewed.family) == (OutcomeKind.CONTINUOUS, Family.LOG_OLS)
    assert skewed.statistics["skewness"] == pytest.approx(skew(lognormal, bias=False), rel=1e-9)
    assert flat.statistics["skewness"] == pytest.approx(skew(uniform, bias=False), rel=1e-9)
    assert "on the log scale" in skewed.reason and "on the original scale" in flat.reason
    assert flat.stratify_on is None and skewed.stratify_on is None


def test_a_skewed_outcome_with_a_value_that_is_not_positive_stays_on_the_original_scale():
    values = np.random.default_rng(2).lognormal(3, 1, 2000)
    values[0] = 0.0
    assert skew(values, bias=False) > LOG_SKEW

    assert choose_approach(durations(values), config.DURATION).family is Family.OLS


def test_skewness_just_either_side_of_the_limit():
    # The sample skewness (adjusted, as pandas computes it) of (0, 0, 1) is 3**0.5 = 1.73 (> 1),
    # of (0, 1, 2) it is 0; shifted by 10, every value is positive.
    above = choose_approach(durations([10, 10, 11]), config.DURATION)
    below = choose_approach(durations([10, 11, 12]), config.DURATION)

    assert above.statistics["skewness"] == pytest.approx(3**0.5, rel=1e-12) and above.family is Family.LOG_OLS
    assert below.statistics["skewness"] == pytest.approx(0.0, abs=1e-12) and below.family is Family.OLS


# ---------------------------------------------------------------- categories


@pytest.mark.parametrize(("target", "positive"), [(config.VERIFIED, "verified"), (config.CLAIM, "claim")])
def test_two_level_outcomes_are_binary_with_the_configured_positive_class(real_dataset, target, positive):
    chosen = choose_approach(real_dataset.frame, target)

    assert (chosen.kind, chosen.family, chosen.positive_class) == (OutcomeKind.BINARY, Family.LOGISTIC, positive)
    assert chosen.stratify_on == target
    negative = next(level for level in config.CATEGORIES[target] if level != positive)
    assert f"('{negative}' and '{positive}')" in chosen.reason


def test_ban_status_is_ordinal_with_the_most_severe_level_as_positive(real_dataset):
    chosen = choose_approach(real_dataset.frame, config.BAN)

    assert (chosen.kind, chosen.family) == (OutcomeKind.ORDINAL, Family.ORDINAL_LOGIT)
    assert chosen.positive_class == "banned" == ORDERED_LEVELS[config.BAN][-1]
    assert chosen.stratify_on == config.BAN
    assert "active < under review < banned" in chosen.reason


def test_a_three_level_outcome_seen_with_two_levels_is_binary():
    frame = pd.DataFrame({config.BAN: ["active", "under review", "active", "active"]})

    chosen = choose_approach(frame, config.BAN)

    assert (chosen.kind, chosen.positive_class) == (OutcomeKind.BINARY, "under review")


def test_levels_without_an_order_are_nominal(monkeypatch):
    monkeypatch.setattr(approach_module, "ORDERED_LEVELS", {})
    frame = pd.DataFrame({config.BAN: ["active", "under review", "banned", "active"]})

    chosen = choose_approach(frame, config.BAN)

    assert (chosen.kind, chosen.family) == (OutcomeKind.NOMINAL, Family.MULTINOMIAL_LOGIT)
    assert chosen.positive_class == "banned"
    assert chosen.stratify_on == config.BAN


def test_exactly_the_categorical_kinds_are_stratified():
    stratified = {kind for kind in OutcomeKind if kind.stratified}

    assert stratified == {OutcomeKind.BINARY, OutcomeKind.ORDINAL, OutcomeKind.NOMINAL}


def test_every_kind_and_family_has_a_label():
    assert all(kind.label for kind in OutcomeKind)
    assert len({family.label for family in Family}) == len(Family)


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("target", [config.ID_COLUMN, config.VIDEO_ID, config.TRANSCRIPT, "video_mood"])
def test_identifiers_text_and_unknown_columns_are_not_outcomes(real_dataset, target):
    with pytest.raises(OptionsError) as refused:
        choose_approach(real_dataset.frame, target)

    message = str(refused.value)
    assert f"--target {target!r} cannot be an outcome" in message
    listed = message.split("expected one of ", 1)[1]
    for column in config.COLUMNS:
        assert (column in listed) == (column not in (config.ID_COLUMN, config.VIDEO_ID, config.TRANSCRIPT))
