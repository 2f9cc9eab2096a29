"""The sentences per model term (interpretation/findings.py): the numbers they quote, Holm, the bound."""

from __future__ import annotations

import pandas as pd
import pytest

from tiktok_claims import config
from tiktok_claims.interpretation.effects import UNIT_NAMES
from tiktok_claims.interpretation.findings import key_findings
from tiktok_claims.interpretation.wording import format_interval, format_p, format_ratio

OPINION = f"{config.CLAIM}_opinion"


@pytest.fixture(scope="session")
def table(real_analysis):
    return real_analysis.coefficients.set_index("name")


def test_each_finding_quotes_the_numbers_it_carries(real_analysis, table):
    findings = real_analysis.findings

    assert [f["name"] for f in findings] == list(table.drop(index="const").sort_values(["p_adjusted", "p_value"]).index)
    tests = len(table) - 1
    for finding in findings:
        row = table.loc[finding["name"]]
        sentence = finding["sentence"]
        assert finding["odds_ratio"] == row["odds_ratio"]
        assert (finding["or_ci_low"], finding["or_ci_high"]) == (row["or_ci_low"], row["or_ci_high"])
        assert finding["p_value"] == row["p_value"] and finding["p_adjusted"] == row["p_adjusted"]
        assert format_ratio(row["odds_ratio"]) in sentence
        assert f"95% CI {format_interval(row['or_ci_low'], row['or_ci_high'])}; {format_p(row['p_value'])}" in sentence
        assert f"Holm-adjusted over {tests} terms {format_p(row['p_adjusted'])}" in sentence
        assert f"significant in {row['stable_significance']:.0%} of {int(row['refits'])} bootstrap refits" in sentence
        assert finding["significant"] == (row["p_adjusted"] < 0.05)
        assert ("indistinguishable from no association" in sentence) == (row["p_adjusted"] >= 0.05)
        if finding["name"] in real_analysis.features.continuous:
            assert f"each additional {row['unit_size']:,.0f} {UNIT_NAMES[finding['name']]}" in sentence


def test_opinion_finding_reads_against_the_reference_level(real_analysis, table):
    finding = next(f for f in real_analysis.findings if f["name"] == OPINION)

    assert finding["significant"]
    assert (
        f"videos whose claim status is 'opinion' have {format_ratio(table.loc[OPINION, 'odds_ratio'])} times "
        "the odds of coming from a verified account of those whose claim status is 'claim'"
    ) in finding["sentence"]


def _made_up(rows: list[dict]) -> pd.DataFrame:
    defaults = {"unit": "", "unit_size": 1.0, "coef": 0.0, "sd": float("nan"), "log1p": False, "probability_change": 0.0}
    return pd.DataFrame([{**defaults, **row} for row in rows])


def test_findings_of_a_made_up_table():
    made_up = _made_up(
        [
            {"name": "const", "odds_ratio": 0.02, "or_ci_low": 0.01, "or_ci_high": 0.03, "p_value": 0.0, "p_adjusted": float("nan")},
            {"name": config.DURATION, "unit_size": 10.0, "odds_ratio": 0.8, "or_ci_low": 0.7, "or_ci_high": 0.9, "p_value": 0.0004, "p_adjusted": 0.0008},
            {"name": f"{config.BAN}_banned", "odds_ratio": 12.34, "or_ci_low": 0.05, "or_ci_high": 40.0, "p_value": 0.04, "p_adjusted": 0.08},
        ]
    )

    findings = key_findings(made_up, outcome_phrase="coming from a verified account")

    assert [f["name"] for f in findings] == [config.DURATION, f"{config.BAN}_banned"]
    assert findings[0]["sentence"] == (
        "Holding the other characteristics fixed, each additional 10 seconds lowers the odds of coming "
        "from a verified account by 20% (odds ratio 0.80, 95% CI 0.70–0.90; p < 0.001; Holm-adjusted over "
        "2 terms p < 0.001)."
    )
    assert "'banned' have 12.3 times the odds" in findings[1]["sentence"]
    assert "95% CI 0.05–40; p = 0.040; Holm-adjusted over 2 terms p = 0.080" in findings[1]["sentence"]
    assert findings[1]["sentence"].endswith("this is indistinguishable from no association.")
    assert not findings[1]["significant"] and findings[0]["significant"]


def test_a_ratio_beyond_the_bound_is_described_on_the_probability_scale():
    made_up = _made_up(
        [
            {"name": config.VIEWS, "unit": "per 100,000 views", "unit_size": 100_000.0, "coef": 40.6, "odds_ratio": 4.5e17,
             "or_ci_low": 9.8e14, "or_ci_high": 2.0e20, "p_value": 1e-30, "p_adjusted": 1e-29, "probability_change": 0.496},
        ]
    )
    [finding] = key_findings(made_up, outcome_phrase="being a claim")
    assert not finding["bounded"] and finding["significant"]
    assert "4.5e+17" not in finding["sentence"] and "times the odds" not in finding["sentence"]
    assert "the association of view count with being a claim is positive" in finding["sentence"]
    assert "outside 0.001–1,000" in finding["sentence"]
    assert "100,000 more views changes the average predicted probability by +49.6 percentage points" in finding["sentence"]


def test_an_odds_ratio_far_below_1_is_said_to_lie_below_the_bound_not_beyond_it():
    made_up = _made_up(
        [
            {"name": config.DOWNLOADS, "unit": "per 1,000 downloads", "unit_size": 1000.0, "coef": -14.9,
             "odds_ratio": 3.4e-7, "or_ci_low": 1e-11, "or_ci_high": 0.19, "p_value": 0.01, "p_adjusted": 0.02,
             "probability_change": -0.037},
        ]
    )
    [finding] = key_findings(made_up, outcome_phrase="being a claim")
    assert "is negative" in finding["sentence"] and "its odds ratio per 1,000 downloads lies outside" in finding["sentence"]
    assert "3.4e-07" not in finding["sentence"] and "beyond" not in finding["sentence"]
