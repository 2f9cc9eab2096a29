"""The logistic-regression checklist (``diagnostics/logistic.py``): every check present with
a verdict, against independent computations on the real data (statsmodels'
variance_inflation_factor, events per variable, McFadden's R² and the likelihood-ratio
test from the fitted log-likelihoods), and the separation fallback on the claim model.

The statistics behind the checks are tested in test_statistics.py, the separation check
in test_separation.py, the check record in test_diagnostics_check.py."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2
from statsmodels.stats.outliers_influence import variance_inflation_factor

from tiktok_claims import config
from tiktok_claims.data.load import dataset_from_frame
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.diagnostics.logistic import check_logistic
from tiktok_claims.errors import AnalysisError
from tiktok_claims.model.features import select_features
from tiktok_claims.model.firth import FirthInference
from tiktok_claims.model.logistic import fit_inference
from tiktok_claims.model.split import encode_target, split


def _fitted(frame: pd.DataFrame, target: str, seed: int = config.DEFAULT_SEED):
    """Every used row, 0/1 target, feature spec (chosen on the training part) and inference fit, as ``analyze`` builds them."""
    parts = split(frame, target, seed)
    spec = select_features(frame.loc[parts.train], target)
    y = encode_target(frame[target], config.POSITIVE_CLASS[target])
    return frame, y, spec, fit_inference(frame, y, spec).result


# --- the whole checklist --------------------------------------------------------------


def _assert_complete_checklist(checks, names):
    assert [c.name for c in checks.checks] == names
    records = checks.records()
    json.dumps(records, allow_nan=False)
    assert all(r["verdict"] in ("pass", "warn", "fail") for r in records)
    assert all(r["consequence"] and r["remedy"] and r["threshold"] for r in records)


def test_checklist_on_synthetic_data(logistic_check_names):
    dataset = dataset_from_frame(make_synthetic(4000, seed=7), source="synthetic")
    train, y, spec, inference = _fitted(dataset.frame, config.VERIFIED, seed=7)
    checks = check_logistic(train, y, spec, inference)
    _assert_complete_checklist(checks, logistic_check_names)
    assert set(checks.empirical_logit["predictor"]) == set(spec.continuous)
    assert list(checks.influential[config.VIDEO_ID]) == list(
        train.loc[checks.influential["row"], config.VIDEO_ID]
    )


def test_checklist_refuses_a_model_fitted_on_other_rows():
    dataset = dataset_from_frame(make_synthetic(2000, seed=8), source="synthetic")
    train, y, spec, inference = _fitted(dataset.frame, config.VERIFIED, seed=8)
    with pytest.raises(AnalysisError, match=f"not the {len(train) - 1} rows given"):
        check_logistic(train.iloc[1:], y.iloc[1:], spec, inference)


@pytest.fixture(scope="module")
def verified_checks(real_dataset):
    train, y, spec, inference = _fitted(real_dataset.frame, config.VERIFIED)
    return train, y, spec, inference, check_logistic(train, y, spec, inference)


def test_real_verified_model_has_a_verdict_for_every_check(verified_checks, logistic_check_names):
    _assert_complete_checklist(verified_checks[-1], logistic_check_names)


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


def test_real_claim_model_warns_of_separation_and_fits_the_fallback(real_dataset, logistic_check_names):
    train, y, spec, inference = _fitted(real_dataset.frame, config.CLAIM)
    checks = check_logistic(train, y, spec, inference)
    _assert_complete_checklist(checks, logistic_check_names)
    separation = {c.name: c for c in checks.checks}["Separation"]
    assert separation.verdict in ("warn", "fail")
    assert checks.separation.use_penalized
    assert isinstance(inference, FirthInference) and inference.mle_retvals["converged"]
