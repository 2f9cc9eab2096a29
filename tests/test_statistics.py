"""The statistics behind the logistic checklist (``diagnostics/statistics.py``), each against
an independent computation: a hand-built Box-Tidwell Logit, a direct decile Hosmer-Lemeshow,
closed-form Cook's distance and leverage, a direct refit without the influential rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.stats import chi2

from tiktok_claims.diagnostics.statistics import (
    box_tidwell,
    events_per_variable,
    hosmer_lemeshow,
    influence_table,
    refit_without_influential,
)
from tiktok_claims.model.features import FeatureSpec


def _spec(continuous, categorical=()) -> FeatureSpec:
    return FeatureSpec(
        target="y", continuous=tuple(continuous), categorical=tuple(categorical), dropped={},
        vif_rounds=pd.DataFrame(), correlated_pairs=pd.DataFrame(),
    )


def _logit(y, x):
    return sm.Logit(np.asarray(y, dtype=float), x).fit(method="newton", disp=False)


def test_box_tidwell_matches_a_hand_built_logit_with_xlnx_terms(made_up_logit_data):
    frame, y = made_up_logit_data()
    design = sm.add_constant(frame)
    table = box_tidwell(frame, _spec(["size", "count"]), design, y).set_index("predictor")

    # By hand: raw predictors plus x·ln(x), with count shifted by 1 because it has zeros.
    hand = design.assign(
        size_xlnx=frame["size"] * np.log(frame["size"]),
        count_xlnx=(frame["count"] + 1) * np.log(frame["count"] + 1),
    )
    reference = _logit(y, hand)
    assert table.loc["size", "shift"] == 0.0
    assert table.loc["count", "shift"] == 1.0
    for predictor in ("size", "count"):
        term = f"{predictor}_xlnx"
        assert table.loc[predictor, "z"] == pytest.approx(reference.tvalues[term], rel=1e-6)
        assert table.loc[predictor, "p_value"] == pytest.approx(reference.pvalues[term], rel=1e-6)
        assert table.loc[predictor, "coef"] == pytest.approx(reference.params[term], rel=1e-6)
        assert table.loc[predictor, "se"] == pytest.approx(reference.bse[term], rel=1e-6)
        assert table.loc[predictor, "p_adjusted"] == pytest.approx(min(1.0, 2 * reference.pvalues[term]), rel=1e-6)
    # The outcome is linear in ln(size), so its x·ln(x) term is detected; count is linear.
    assert table.loc["size", "p_adjusted"] < 0.05
    assert table.loc["count", "p_adjusted"] > 0.05


def test_box_tidwell_curvature_is_the_largest_gap_from_the_chord(made_up_logit_data):
    frame, y = made_up_logit_data()
    table = box_tidwell(frame, _spec(["size"]), sm.add_constant(frame), y).set_index("predictor")
    low, high = np.percentile(frame["size"], [1, 99])
    grid = np.linspace(low, high, 100_001)
    curve = grid * np.log(grid)
    chord = np.interp(grid, [low, high], [curve[0], curve[-1]])
    expected = abs(table.loc["size", "coef"]) * np.max(chord - curve)
    assert table.loc["size", "curvature"] == pytest.approx(expected, rel=1e-3)


def test_hosmer_lemeshow_matches_a_direct_decile_computation():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.02, 0.9, 2000)
    y = rng.binomial(1, np.clip(p * 1.1, 0, 1))
    table, statistic, df, p_value = hosmer_lemeshow(y, p)

    edges = np.quantile(p, np.linspace(0, 1, 11))
    group = np.searchsorted(edges[1:-1], p, side="left")
    observed = np.bincount(group, weights=y)
    expected = np.bincount(group, weights=p)
    n = np.bincount(group)
    direct = np.sum((observed - expected) ** 2 / (expected * (1 - expected / n)))
    assert df == 8
    assert statistic == pytest.approx(direct, rel=1e-12)
    assert p_value == pytest.approx(chi2.sf(direct, 8), rel=1e-10)
    np.testing.assert_allclose(table["observed"], observed)
    np.testing.assert_allclose(table["expected"], expected)
    np.testing.assert_array_equal(table["n"], n)


def test_hosmer_lemeshow_of_a_model_with_two_probabilities_has_nothing_to_test():
    # One binary predictor (e.g. a formula's 'verified_status ~ claim_status'): two predicted probabilities.
    p = np.repeat([0.1, 0.4], 500)
    y = np.concatenate([np.repeat([1, 0], [50, 450]), np.repeat([1, 0], [200, 300])])
    table, statistic, df, p_value = hosmer_lemeshow(y, p)

    assert len(table) == 2 and df == 0 and np.isnan(p_value)
    assert statistic == pytest.approx(0.0, abs=1e-12)  # observed equals expected in each group


def test_cooks_distance_leverage_and_residuals_match_the_closed_form(made_up_logit_data):
    frame, y = made_up_logit_data(n=400)
    design = sm.add_constant(frame)
    result = _logit(y, design)
    table = influence_table(design, y, result)

    x = design.to_numpy()
    p = result.predict(design).to_numpy()
    w = p * (1 - p)
    information_inverse = np.linalg.inv(x.T @ (x * w[:, None]))
    leverage = w * np.einsum("ij,jk,ik->i", x, information_inverse, x)
    pearson = (y.to_numpy() - p) / np.sqrt(w)
    cooks = pearson**2 * leverage / (x.shape[1] * (1 - leverage) ** 2)
    np.testing.assert_allclose(table["leverage"], leverage, rtol=1e-8)
    np.testing.assert_allclose(table["std_resid"], pearson / np.sqrt(1 - leverage), rtol=1e-8)
    np.testing.assert_allclose(table["cooks_d"], cooks, rtol=1e-8)


def test_refit_leaves_out_the_influential_rows_and_measures_shifts_in_standard_errors(made_up_logit_data):
    frame, y = made_up_logit_data(n=400)
    design = sm.add_constant(frame)
    result = _logit(y, design)
    cooks = influence_table(design, y, result)["cooks_d"].to_numpy()
    table, note = refit_without_influential(design, y, result, cooks)

    above = cooks > 4 / len(design)
    smaller_class = int(min(y.sum(), len(y) - y.sum()))
    leave_out = min(int(above.sum()), max(1, int(0.02 * smaller_class)))  # at most 2% of the smaller class's rows
    keep = np.ones(len(design), dtype=bool)
    keep[np.argsort(-cooks)[:leave_out]] = False
    direct = _logit(y[keep], design[keep])
    np.testing.assert_allclose(table["coef_refit"], direct.params, rtol=1e-6)
    np.testing.assert_allclose(table["shift_se"], (direct.params - result.params) / result.bse, rtol=1e-6)
    assert f"leaves out the {leave_out} most influential of those {int(above.sum())} rows" in note


def test_events_per_variable_uses_the_smaller_class():
    assert events_per_variable(pd.Series([1] * 30 + [0] * 170), 3) == 10.0
    assert events_per_variable(pd.Series([0] * 30 + [1] * 170), 3) == 10.0
    assert events_per_variable(pd.Series([1] * 45 + [0] * 55), 2) == 22.5
    with pytest.raises(ValueError, match="at least one parameter"):
        events_per_variable(pd.Series([0, 1]), 0)
