"""Coefficients per readable unit, Holm-adjusted, and on the probability scale (interpretation/effects.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

from tiktok_claims import config
from tiktok_claims.interpretation.effects import (
    UNIT_NAMES,
    coefficient_table,
    probability_changes,
    readable_unit,
)

OPINION = f"{config.CLAIM}_opinion"


@pytest.fixture(scope="session")
def table(real_analysis):
    return real_analysis.coefficients.set_index("name")


# ---------------------------------------------------------------- readable units


@pytest.mark.parametrize(
    ("column", "scale", "unit"),
    [
        (config.DURATION, 16.2, 10.0),
        (config.DURATION, 3000.0, 10.0),
        (config.VIEWS, 290_000.0, 100_000.0),
        (config.VIEWS, 99_999.0, 10_000.0),
        (config.SHARES, 1_000.0, 1_000.0),
        (config.COMMENTS, 799.6, 100.0),
        (config.COMMENTS, 0.5, 0.1),
    ],
)
def test_readable_unit_is_ten_seconds_or_the_power_of_ten_below_one_sd(column, scale, unit):
    assert readable_unit(column, scale) == pytest.approx(unit)


def test_real_units_follow_the_sds_of_every_used_row(real_analysis, table):
    frame = real_analysis.dataset.frame
    for column in real_analysis.features.continuous:
        sd = float(frame[column].std(ddof=0))
        assert table.loc[column, "sd"] == pytest.approx(sd)
        expected = 10.0 if column == config.DURATION else 10.0 ** math.floor(math.log10(sd))
        assert table.loc[column, "unit_size"] == expected, column
        assert table.loc[column, "unit"] == f"per {expected:,.0f} {UNIT_NAMES[column]}"
    assert table.loc[config.VIEWS, "unit_size"] == 100_000


# ---------------------------------------------------------------- the coefficient table


def test_odds_ratios_and_their_intervals_are_exponentiated_coefficients(table):
    np.testing.assert_allclose(table["odds_ratio"], np.exp(table["coef"]), rtol=1e-12)
    np.testing.assert_allclose(table["or_ci_low"], np.exp(table["ci_low"]), rtol=1e-12)
    np.testing.assert_allclose(table["or_ci_high"], np.exp(table["ci_high"]), rtol=1e-12)
    assert (table["or_ci_low"] < table["odds_ratio"]).all() and (table["odds_ratio"] < table["or_ci_high"]).all()


def test_z_p_and_wald_intervals_agree_with_a_hand_computation(table):
    z = table["coef"] / table["se"]
    half_width = norm.ppf(0.975) * table["se"]

    np.testing.assert_allclose(table["z"], z, rtol=1e-9)
    np.testing.assert_allclose(table["p_value"], 2 * norm.sf(np.abs(z)), rtol=1e-6)
    np.testing.assert_allclose(table["ci_low"], table["coef"] - half_width, rtol=1e-9)
    np.testing.assert_allclose(table["ci_high"], table["coef"] + half_width, rtol=1e-9)


def test_opinion_videos_have_3_to_9_times_the_odds_of_being_verified(table):
    assert 3 < table.loc[OPINION, "odds_ratio"] < 9
    assert table.loc[OPINION, "p_value"] < 0.001
    assert table.loc[OPINION, "unit"] == "'opinion' vs 'claim'"


def test_coefficient_table_rescales_like_a_fit_on_raw_units():
    rng = np.random.default_rng(11)
    n = 3000
    raw = pd.DataFrame({config.DURATION: rng.uniform(5, 60, n), config.VIEWS: rng.uniform(1e3, 1e6, n)})
    logit = -1 + 0.03 * raw[config.DURATION] - 1.5e-6 * raw[config.VIEWS]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(float)
    scales = raw.std(ddof=0)
    standardized = sm.add_constant((raw - raw.mean()) / scales)
    fitted = sm.Logit(y, standardized).fit(disp=False)

    result = coefficient_table(fitted, scales).set_index("name")

    units = pd.Series({config.DURATION: 10.0, config.VIEWS: 100_000.0})
    reference = sm.Logit(y, sm.add_constant(raw / units)).fit(disp=False)
    for column in units.index:
        assert result.loc[column, "unit_size"] == units[column]
        assert result.loc[column, "coef"] == pytest.approx(reference.params[column], rel=1e-6)
        assert result.loc[column, "se"] == pytest.approx(reference.bse[column], rel=1e-6)
        assert result.loc[column, "p_value"] == pytest.approx(reference.pvalues[column], rel=1e-6)
    assert result.loc["const", "coef"] == pytest.approx(fitted.params["const"])




def test_holm_adjusted_p_values_cover_every_term_but_the_constant(table):
    terms = table.drop(index="const")
    np.testing.assert_allclose(terms["p_adjusted"], multipletests(terms["p_value"], method="holm")[1], rtol=1e-12)
    assert np.isnan(table.loc["const", "p_adjusted"])


def test_probability_changes_equal_a_hand_computation():
    rng = np.random.default_rng(2)
    n = 2000
    frame = pd.DataFrame(
        {
            config.DURATION: rng.uniform(5, 60, n),
            f"{config.BAN}_under review": (rng.random(n) < 0.2).astype(float),
            f"{config.BAN}_banned": 0.0,
        }
    )
    frame.loc[(frame[f"{config.BAN}_under review"] == 0) & (rng.random(n) < 0.15), f"{config.BAN}_banned"] = 1.0
    scales = pd.Series({config.DURATION: frame[config.DURATION].std(ddof=0)})
    design = sm.add_constant(frame.assign(**{config.DURATION: (frame[config.DURATION] - frame[config.DURATION].mean()) / scales.iloc[0]}))
    eta = -1 + 0.8 * design[config.DURATION] + 1.2 * design[f"{config.BAN}_banned"] - 0.5 * design[f"{config.BAN}_under review"]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    fitted = sm.Logit(y, design).fit(disp=False)
    table = coefficient_table(fitted, scales)

    changes = probability_changes(fitted, design, table)

    b = fitted.params
    x = design.to_numpy() @ b.to_numpy()
    step = 10.0 / scales.iloc[0]  # 10 seconds, in standard deviations
    expit = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    assert changes[config.DURATION] == pytest.approx(np.mean(expit(x + b[config.DURATION] * step) - expit(x)))
    others = x - design[f"{config.BAN}_banned"] * b[f"{config.BAN}_banned"] - design[f"{config.BAN}_under review"] * b[f"{config.BAN}_under review"]
    assert changes[f"{config.BAN}_banned"] == pytest.approx(np.mean(expit(others + b[f"{config.BAN}_banned"]) - expit(others)))
