"""Tests of the logistic-regression checklist, each against an independent computation:
statsmodels' variance_inflation_factor, a hand-built Box-Tidwell Logit, a direct decile
Hosmer-Lemeshow, closed-form Cook's distance, the Haldane identity of Firth's method,
constructed separable data, and the real dataset (when available)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit
from scipy.stats import chi2
from statsmodels.stats.outliers_influence import variance_inflation_factor

from tiktok_claims import config
from tiktok_claims.approach import Family
from tiktok_claims.diagnostics.check import Check
from tiktok_claims.diagnostics.statistics import box_tidwell, events_per_variable, hosmer_lemeshow, influence_table, refit_without_influential
from tiktok_claims.diagnostics.logistic import check_logistic
from tiktok_claims.model.separation import detect_separation
from tiktok_claims.model.firth import FirthInference
from tiktok_claims.data.load import dataset_from_frame
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.errors import AnalysisError
from tiktok_claims.model.features import FeatureSpec, select_features
from tiktok_claims.model.split import encode_target, split
from tiktok_claims.model.logistic import fit

CHECK_NAMES = [
    "Outcome is binary",
    "Independence of observations",
    "Multicollinearity (VIF)",
    "Linearity of the log-odds (Box-Tidwell)",
    "Influential observations",
    "Events per variable",
    "Separation",
    "Goodness of fit (Hosmer-Lemeshow)",
    "McFadden pseudo-R²",
    "Likelihood-ratio test vs null",
]


def _fitted(frame: pd.DataFrame, target: str, seed: int = config.DEFAULT_SEED):
    """Training rows, 0/1 target, feature spec and inference Logit, as ``analyze`` builds them."""
    parts = split(frame, target, seed)
    train = frame.loc[parts.train]
    spec = select_features(train, target)
    y_train = encode_target(train[target], config.POSITIVE_CLASS[target])
    model = fit(train, y_train, spec, "none", seed)
    return train, y_train, spec, model.inference


def _logit_data(n: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Raw-scale predictors (one with zeros), a dummy, and an outcome curved in ``size``."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "size": rng.uniform(1, 100, n),
            "count": rng.poisson(3, n).astype(float),
            "flag": rng.integers(0, 2, n).astype(float),
        }
    )
    eta = -2 + 0.8 * np.log(frame["size"]) - 0.1 * frame["count"] + 0.5 * frame["flag"]
    y = pd.Series(rng.binomial(1, expit(eta)), name="y")
    return frame, y


def _spec(continuous, categorical=()) -> FeatureSpec:
    return FeatureSpec(
        target="y", continuous=tuple(continuous), categorical=tuple(categorical), dropped={},
        vif_rounds=pd.DataFrame(), correlated_pairs=pd.DataFrame(),
    )


def _logit(y, x):
    return sm.Logit(np.asarray(y, dtype=float), x).fit(method="newton", disp=False)


# --- Check -----------------------------------------------------------------------------


def test_check_record_is_json_safe_and_excludes_details():
    check = Check("x", math.nan, 0.5, "t", "warn", "c", "r", details=pd.DataFrame({"a": [1]}))
    record = check.to_record()
    assert record == {
        "name": "x", "statistic": None, "p_value": 0.5, "threshold": "t",
        "verdict": "warn", "consequence": "c", "remedy": "r",
    }
    json.dumps(record, allow_nan=False)


def test_check_refuses_an_unknown_verdict():
    with pytest.raises(ValueError, match="verdict must be one of pass, warn, fail; got 'ok'"):
        Check("x", 1.0, None, "t", "ok", "c", "r")


# --- statistics against independent computations -------------------------------------


def test_box_tidwell_matches_a_hand_built_logit_with_xlnx_terms():
    frame, y = _logit_data()
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


def test_box_tidwell_curvature_is_the_largest_gap_from_the_chord():
    frame, y = _logit_data()
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


def test_cooks_distance_leverage_and_residuals_match_the_closed_form():
    frame, y = _logit_data(n=400)
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


def test_refit_leaves_out_the_influential_rows_and_measures_shifts_in_standard_errors():
    frame, y = _logit_data(n=400)
    design = sm.add_constant(frame)
    result = _logit(y, design)
    cooks = influence_table(design, y, result)["cooks_d"].to_numpy()
    table, note = refit_without_influential(design, y, result, cooks)

    above = cooks > 4 / len(design)
    leave_out = min(int(above.sum()), 4)  # at most 1% of 400 rows
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


# --- separation -----------------------------------------------------------------------


def _with_constant(**columns) -> pd.DataFrame:
    return sm.add_constant(pd.DataFrame(columns))


def test_complete_separation_is_detected():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(-3, -0.1, 50), rng.uniform(0.1, 3, 50)])
    z = rng.normal(size=100)
    found = detect_separation(_with_constant(x=x, z=z), (x > 0).astype(int))
    assert found.kind == "complete"
    assert found.misclassified == 0
    assert found.hinge == pytest.approx(0.0, abs=1e-9)
    assert found.use_penalized


def test_quasi_complete_separation_is_detected_with_the_infinite_coefficient():
    rng = np.random.default_rng(3)
    x = np.repeat([-2.0, -1.0, 0.0, 0.0, 1.0, 2.0], 20)
    y = np.repeat([0, 0, 0, 1, 1, 1], 20)
    found = detect_separation(_with_constant(x=x, z=rng.normal(size=x.size)), y)
    assert found.kind == "quasi-complete"
    assert found.infinite == ("x",)
    assert found.direction["x"] > 0
    assert found.use_penalized


def test_overlapping_classes_are_not_separated():
    frame, y = _logit_data()
    found = detect_separation(sm.add_constant(frame), y)
    assert found.kind == "none"
    assert found.infinite == ()
    assert not found.direction.any()
    assert not found.use_penalized


def test_near_separation_counts_the_rows_on_the_wrong_side():
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, 1000)
    y = (x > 0).astype(int)
    flipped = np.flatnonzero(np.abs(x) > 0.5)[:5]
    y[flipped] = 1 - y[flipped]
    found = detect_separation(_with_constant(x=x), y)
    assert found.kind == "near"
    assert found.infinite == ()
    assert found.leading_predictor == "x"
    assert 5 <= found.misclassified <= 10


def test_collinear_columns_are_not_mistaken_for_separation():
    frame, y = _logit_data()
    found = detect_separation(sm.add_constant(frame.assign(twice=2 * frame["size"])), y)
    assert found.kind == "none"
    assert found.infinite == ()


def test_separation_refuses_a_single_class():
    with pytest.raises(AnalysisError, match="both classes"):
        detect_separation(_with_constant(x=[1.0, 2.0, 3.0]), [1, 1, 1])


def test_firth_fit_on_a_two_by_two_table_adds_a_half_to_each_cell():
    # Firth's estimate for a saturated 2x2 logistic model is the Haldane-corrected log
    # odds ratio; here one cell is empty (quasi-complete separation).
    counts = {(0, 0): 20, (0, 1): 5, (1, 0): 0, (1, 1): 12}  # (x, y): rows
    x = np.concatenate([[xv] * n for (xv, _), n in counts.items()]).astype(float)
    y = np.concatenate([[yv] * n for (_, yv), n in counts.items()])
    design = _with_constant(x=x)
    assert detect_separation(design, y).kind == "quasi-complete"

    fitted = FirthInference(design, pd.Series(y))
    assert fitted.mle_retvals["converged"]
    assert fitted.params["const"] == pytest.approx(math.log(5.5 / 20.5), abs=1e-7)
    assert fitted.params["x"] == pytest.approx(math.log((12.5 * 20.5) / (0.5 * 5.5)), abs=1e-7)
    assert np.isfinite(fitted.bse).all()


# --- the whole checklist --------------------------------------------------------------


def _assert_complete_checklist(checks):
    assert [c.name for c in checks.checks] == CHECK_NAMES
    records = checks.records()
    json.dumps(records, allow_nan=False)
    assert all(r["verdict"] in ("pass", "warn", "fail") for r in records)
    assert all(r["consequence"] and r["remedy"] and r["threshold"] for r in records)


def test_checklist_on_synthetic_data():
    dataset = dataset_from_frame(make_synthetic(4000, seed=7), source="synthetic")
    train, y, spec, inference = _fitted(dataset.frame, config.VERIFIED, seed=7)
    checks = check_logistic(train, y, spec, inference)
    _assert_complete_checklist(checks)
    assert set(checks.empirical_logit["predictor"]) == set(spec.continuous)
    assert list(checks.influential[config.VIDEO_ID]) == list(
        train.loc[checks.influential["row"], config.VIDEO_ID]
    )


def test_checklist_refuses_a_model_fitted_on_other_rows():
    dataset = dataset_from_frame(make_synthetic(2000, seed=8), source="synthetic")
    train, y, spec, inference = _fitted(dataset.frame, config.VERIFIED, seed=8)
    with pytest.raises(AnalysisError, match=f"not the {len(train) - 1} training rows given"):
        check_logistic(train.iloc[1:], y.iloc[1:], spec, inference)


@pytest.fixture(scope="module")
def verified_checks(real_dataset):
    train, y, spec, inference = _fitted(real_dataset.frame, config.VERIFIED)
    return train, y, spec, inference, check_logistic(train, y, spec, inference)


def test_real_verified_model_has_a_verdict_for_every_check(verified_checks):
    _assert_complete_checklist(verified_checks[-1])


def test_real_vif_matches_statsmodels_on_the_models_design(verified_checks):
    _, _, _, inference, checks = verified_checks
    exog = np.asarray(inference.model.exog)
    names = list(inference.model.exog_names)
    direct = {names[i]: variance_inflation_factor(exog, i) for i in range(1, exog.shape[1])}
    table = checks.vif.set_index("feature")["vif"]
    for name, value in direct.items():
        assert table[name] == pytest.approx(value, rel=1e-9)
    assert checks.checks[2].statistic == pytest.approx(max(direct.values()), rel=1e-9)


def test_real_events_per_variable_and_fit_statistics(verified_checks):
    _, y, _, inference, checks = verified_checks
    by_name = {c.name: c for c in checks.checks}
    parameters = len(inference.params) - 1
    assert by_name["Events per variable"].statistic == pytest.approx(min(y.sum(), (1 - y).sum()) / parameters)
    assert by_name["McFadden pseudo-R²"].statistic == pytest.approx(1 - inference.llf / inference.llnull)
    assert by_name["Likelihood-ratio test vs null"].statistic == pytest.approx(2 * (inference.llf - inference.llnull))
    assert by_name["Likelihood-ratio test vs null"].p_value == pytest.approx(chi2.sf(2 * (inference.llf - inference.llnull), parameters))
    assert by_name["Separation"].verdict == "pass"


def test_claim_status_on_engagement_counts_nearly_separates(real_dataset):
    frame = real_dataset.frame
    counts = frame[list(config.COUNT_COLUMNS)].astype(float)
    design = sm.add_constant((counts - counts.mean()) / counts.std())
    found = detect_separation(design, (frame[config.CLAIM] == "claim").astype(int))
    assert found.kind in ("near", "quasi-complete", "complete")
    assert found.misclassified_share < 0.02
    assert found.leading_predictor == config.VIEWS


def test_real_claim_model_warns_of_separation_and_fits_the_fallback(real_dataset):
    train, y, spec, inference = _fitted(real_dataset.frame, config.CLAIM)
    checks = check_logistic(train, y, spec, inference)
    _assert_complete_checklist(checks)
    separation = {c.name: c for c in checks.checks}["Separation"]
    assert separation.verdict in ("warn", "fail")
    assert checks.separation.use_penalized
    assert isinstance(inference, FirthInference) and inference.mle_retvals["converged"]


# ---------------------------------------------------------------- other families


def _family_inputs(real_dataset, target):
    from tiktok_claims.approach import choose_approach
    from tiktok_claims.model.features import select_features
    from tiktok_claims.model.split import split

    frame = real_dataset.frame
    approach = choose_approach(frame, target)
    train = frame.loc[split(frame, None, 42).train]
    return train, select_features(train, target), approach


def test_count_target_dispersion_and_cameron_trivedi_match_a_hand_computation(real_dataset):
    from tiktok_claims.model.features import build_preprocessor
    from tiktok_claims.diagnostics.families import check_family

    train, spec, approach = _family_inputs(real_dataset, "video_comment_count")
    checks = {c.name: c for c in check_family(train, spec, approach)}
    design = build_preprocessor(spec.continuous, spec.categorical).fit_transform(train)
    x = np.column_stack([np.ones(len(design)), design])
    y = train["video_comment_count"].to_numpy(dtype=float)
    mu = sm.GLM(y, x, family=sm.families.Poisson()).fit().fittedvalues
    pearson = np.sum((y - mu) ** 2 / mu) / (len(y) - x.shape[1])
    slope, *_ = np.linalg.lstsq(mu[:, None], ((y - mu) ** 2 - y) / mu, rcond=None)

    dispersion = checks["Dispersion (Poisson variance = mean)"]
    assert approach.family is Family.NEGATIVE_BINOMIAL
    assert dispersion.statistic == pytest.approx(pearson, rel=1e-8)
    assert slope[0] > 0 and dispersion.p_value < 0.05  # overdispersion, as the slope says
    assert "video_download_count" not in spec.continuous  # the leakage guard left the near-copy out


def test_ols_target_breusch_pagan_and_durbin_watson_match_hand_computations(real_dataset):
    from tiktok_claims.model.features import build_preprocessor
    from tiktok_claims.diagnostics.families import check_family

    train, spec, approach = _family_inputs(real_dataset, "video_duration_sec")
    checks = {c.name: c for c in check_family(train, spec, approach)}
    design = build_preprocessor(spec.continuous, spec.categorical).fit_transform(train)
    x = np.column_stack([np.ones(len(design)), design])
    y = train["video_duration_sec"].to_numpy(dtype=float)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    squared = resid**2
    fitted, *_ = np.linalg.lstsq(x, squared, rcond=None)
    r2 = 1 - np.sum((squared - x @ fitted) ** 2) / np.sum((squared - squared.mean()) ** 2)
    lm_p = chi2.sf(len(y) * r2, x.shape[1] - 1)
    dw = np.sum(np.diff(resid) ** 2) / np.sum(resid**2)

    assert checks["Homoscedasticity (Breusch-Pagan)"].p_value == pytest.approx(lm_p, rel=1e-6)
    assert checks["Independence (Durbin-Watson)"].statistic == pytest.approx(dw, rel=1e-10)


def test_ordinal_target_compares_with_the_multinomial_on_the_right_degrees_of_freedom(real_dataset):
    from tiktok_claims.diagnostics.families import check_family

    train, spec, approach = _family_inputs(real_dataset, "author_ban_status")
    check = check_family(train, spec, approach)[0]
    n_encoded = len(spec.continuous) + sum(len(config.CATEGORIES[c]) - 1 for c in spec.categorical)

    assert approach.family is Family.ORDINAL_LOGIT
    assert f"({n_encoded} df" in check.threshold  # 2 x (p + 1) multinomial - (p + 2) ordinal parameters
    assert check.statistic > 0 and check.verdict in ("pass", "warn")
