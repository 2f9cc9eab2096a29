"""Odds ratios per readable unit and the sentences that quote them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.stats import norm

from tiktok_claims import config
from tiktok_claims.interpretation import (
    UNIT_NAMES,
    coefficient_table,
    key_findings,
    readable_unit,
)

OPINION = f"{config.CLAIM}_opinion"


@pytest.fixture(scope="session")
def table(real_analysis):
    return real_analysis.coefficients.set_index("name")


def ratio_text(x: float) -> str:
    """Odds ratios as the report promises to print them: 2 decimals near 1, else 3 significant digits."""
    return f"{x:.2f}" if 0.1 <= x < 10 else f"{x:.3g}"


def p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


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


def test_real_units_follow_the_training_sds(real_analysis, table):
    train = real_analysis.dataset.frame.loc[real_analysis.split.train]
    for column in real_analysis.features.continuous:
        sd = float(train[column].std(ddof=0))
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


# ---------------------------------------------------------------- findings


def test_each_finding_quotes_the_numbers_it_carries(real_analysis, table):
    findings = real_analysis.findings

    assert [f["name"] for f in findings] == list(table.drop(index="const").sort_values("p_value").index)
    for finding in findings:
        row = table.loc[finding["name"]]
        sentence = finding["sentence"]
        assert finding["odds_ratio"] == row["odds_ratio"]
        assert (finding["or_ci_low"], finding["or_ci_high"]) == (row["or_ci_low"], row["or_ci_high"])
        assert finding["p_value"] == row["p_value"]
        assert ratio_text(row["odds_ratio"]) in sentence
        assert f"95% CI {ratio_text(row['or_ci_low'])}–{ratio_text(row['or_ci_high'])}, {p_text(row['p_value'])}" in sentence
        assert finding["significant"] == (row["p_value"] < 0.05)
        assert ("consistent with no association" in sentence) == (row["p_value"] >= 0.05)
        if finding["name"] in real_analysis.features.continuous:
            assert f"each additional {row['unit_size']:,.0f} {UNIT_NAMES[finding['name']]}" in sentence
            if row["odds_ratio"] < 1:
                assert f"by {100 * (1 - row['odds_ratio']):.0f}%" in sentence


def test_opinion_finding_reads_against_the_reference_level(real_analysis, table):
    finding = next(f for f in real_analysis.findings if f["name"] == OPINION)

    assert finding["significant"]
    assert (
        f"videos whose claim status is 'opinion' have {ratio_text(table.loc[OPINION, 'odds_ratio'])} times "
        "the odds of coming from a verified account of those whose claim status is 'claim'"
    ) in finding["sentence"]


def test_findings_of_a_made_up_table():
    made_up = pd.DataFrame(
        [
            {"name": "const", "unit_size": 1.0, "odds_ratio": 0.02, "or_ci_low": 0.01, "or_ci_high": 0.03, "p_value": 0.0},
            {"name": config.DURATION, "unit_size": 10.0, "odds_ratio": 0.8, "or_ci_low": 0.7, "or_ci_high": 0.9, "p_value": 0.0004},
            {"name": f"{config.BAN}_banned", "unit_size": 1.0, "odds_ratio": 12.34, "or_ci_low": 0.05, "or_ci_high": 40.0, "p_value": 0.2},
        ]
    )

    findings = key_findings(made_up, outcome_phrase="coming from a verified account")

    assert [f["name"] for f in findings] == [config.DURATION, f"{config.BAN}_banned"]
    assert findings[0]["sentence"] == (
        "Holding the other characteristics fixed, each additional 10 seconds lowers the odds of coming "
        "from a verified account by 20% (odds ratio 0.80) (95% CI 0.70–0.90, p < 0.001)."
    )
    assert "'banned' have 12.3 times the odds" in findings[1]["sentence"]
    assert "95% CI 0.05–40, p = 0.200" in findings[1]["sentence"]
    assert findings[1]["sentence"].endswith("The data are consistent with no association.")
    assert not findings[1]["significant"]
