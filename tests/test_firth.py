"""Firth's penalized logistic regression: the estimator, its weights, and the fallback in ``fit``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.optimize import minimize
from scipy.special import log_expit

from tiktok_claims import config
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.model.features import select_features
from tiktok_claims.model.firth import FirthInference, FirthLogisticRegression, firth
from tiktok_claims.model.logistic import fit_classifier, fit_inference
from tiktok_claims.model.separation import detect_separation
from tiktok_claims.model.split import encode_target


def _penalized_objective(beta, x, y, w):
    """Minus the weighted penalized log-likelihood, written directly from its definition."""
    eta = x @ beta
    p = 1 / (1 + np.exp(-eta))
    information = x.T @ np.diag(w * p * (1 - p)) @ x
    return -(np.sum(w * (y * log_expit(eta) + (1 - y) * log_expit(-eta))) + 0.5 * np.linalg.slogdet(information)[1])


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(3)
    x = np.column_stack([np.ones(200), rng.normal(size=(200, 2))])
    y = (rng.random(200) < 1 / (1 + np.exp(-(x @ np.array([-1.0, 1.5, -0.5]))))).astype(float)
    return x, y


def test_firth_maximizes_the_penalized_likelihood(small):
    x, y = small
    w = np.ones(len(y))
    ours = firth(x, y)
    direct = minimize(_penalized_objective, np.zeros(3), args=(x, y, w), method="BFGS", options={"gtol": 1e-9})
    assert ours.converged
    np.testing.assert_allclose(ours.beta, direct.x, atol=1e-5)
    assert ours.penalized_log_likelihood == pytest.approx(-direct.fun, abs=1e-8)


def test_integer_weights_equal_repeated_rows(small):
    x, y = small
    weights = np.where(y == 1, 3.0, 1.0)
    weighted = firth(x, y, weights)
    repeated = np.repeat(np.arange(len(y)), weights.astype(int))
    np.testing.assert_allclose(weighted.beta, firth(x[repeated], y[repeated]).beta, atol=1e-7)


def test_firth_is_finite_under_complete_separation():
    x = np.column_stack([np.ones(8), np.arange(8.0)])
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1.0])
    result = firth(x, y)
    assert result.converged and np.all(np.isfinite(result.beta)) and np.all(np.isfinite(result.se))
    # Jeffreys' prior shrinks toward zero but keeps the direction of the separation.
    assert result.beta[1] > 0
    direct = minimize(_penalized_objective, np.zeros(2), args=(x, y, np.ones(8)), method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(result.beta, direct.x, atol=1e-4)


def test_classifier_class_weights_match_the_core(small):
    from sklearn.utils.class_weight import compute_sample_weight

    x, y = small
    classifier = FirthLogisticRegression(class_weight="balanced").fit(x[:, 1:], y)
    core = firth(x, y, compute_sample_weight("balanced", y))
    np.testing.assert_allclose(classifier.intercept_, core.beta[:1])
    np.testing.assert_allclose(classifier.coef_.ravel(), core.beta[1:])
    p = classifier.predict_proba(x[:, 1:])[:, 1]
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-(x @ core.beta))))
    assert set(classifier.predict(x[:, 1:])) <= {0.0, 1.0}


def test_inference_reads_like_statsmodels(small):
    import statsmodels.api as sm
    from scipy import stats

    x, y = small
    design = pd.DataFrame(x, columns=["const", "a", "b"])
    inference = FirthInference(design, pd.Series(y))
    ml = sm.Logit(y, design).fit(disp=False)
    # Without separation and with 200 rows Firth's estimates are close to ML's, a little shrunk.
    np.testing.assert_allclose(inference.params, ml.params, atol=0.1)
    assert np.all(np.abs(inference.params[1:]) <= np.abs(ml.params[1:]) + 1e-9)
    assert inference.llnull == pytest.approx(ml.llnull)
    assert inference.llf <= ml.llf + 1e-9
    # Profile limits (as logistf): with 200 well-behaved rows, close to the Wald limits and bracketing the estimate.
    ci = inference.conf_int(0.05)
    assert inference.wald_fallback == ()
    assert ((ci[0] < inference.params) & (inference.params < ci[1])).all()
    np.testing.assert_allclose(ci[1] - ci[0], 2 * stats.norm.ppf(0.975) * inference.bse, rtol=0.1)
    assert not np.allclose(ci[1] - ci[0], 2 * stats.norm.ppf(0.975) * inference.bse, rtol=1e-6)
    np.testing.assert_allclose(inference.predict(design), 1 / (1 + np.exp(-(x @ inference.params.to_numpy()))))
    assert inference.model.exog_names == ["const", "a", "b"]


def test_firth_fit_on_a_two_by_two_table_adds_a_half_to_each_cell():
    # Firth's estimate for a saturated 2x2 logistic model is the Haldane-corrected log
    # odds ratio; here one cell is empty (quasi-complete separation).
    counts = {(0, 0): 20, (0, 1): 5, (1, 0): 0, (1, 1): 12}  # (x, y): rows
    x = np.concatenate([[xv] * n for (xv, _), n in counts.items()]).astype(float)
    y = np.concatenate([[yv] * n for (_, yv), n in counts.items()])
    design = sm.add_constant(pd.DataFrame({"x": x}))
    assert detect_separation(design, y).kind == "quasi-complete"

    fitted = FirthInference(design, pd.Series(y))
    assert fitted.mle_retvals["converged"]
    assert fitted.params["const"] == pytest.approx(math.log(5.5 / 20.5), abs=1e-7)
    assert fitted.params["x"] == pytest.approx(math.log((12.5 * 20.5) / (0.5 * 5.5)), abs=1e-7)
    assert np.isfinite(fitted.bse).all()


def _separated_frame() -> pd.DataFrame:
    """Synthetic videos whose claim status a view threshold separates completely."""
    frame = make_synthetic(3_000, seed=5).dropna().reset_index(drop=True)
    threshold = frame[config.VIEWS].median()
    frame[config.CLAIM] = np.where(frame[config.VIEWS] > threshold, "claim", "opinion")
    return frame


def test_fit_falls_back_to_firth_under_separation():
    frame = _separated_frame()
    spec = select_features(frame, config.CLAIM)
    y = encode_target(frame[config.CLAIM], config.POSITIVE_CLASS[config.CLAIM])
    classifier = fit_classifier(frame, y, spec, "class-weights", seed=1)
    inference = fit_inference(frame, y, spec)
    assert classifier.separation.kind == "complete" and inference.separation.kind == "complete"
    assert classifier.penalized and inference.penalized and inference.estimator.startswith("Firth")
    assert np.all(np.isfinite(inference.result.params)) and np.all(np.isfinite(inference.result.bse))
    assert isinstance(classifier.pipeline.named_steps["classifier"], FirthLogisticRegression)
    # The inference model is the unweighted Firth fit on its own design.
    design = inference.result.model.exog
    np.testing.assert_allclose(inference.result.params.to_numpy(), firth(design, y.to_numpy()).beta)


def test_fit_keeps_maximum_likelihood_without_separation():
    frame = make_synthetic(3_000, seed=5).dropna().reset_index(drop=True)
    spec = select_features(frame, config.VERIFIED)
    y = encode_target(frame[config.VERIFIED], config.POSITIVE_CLASS[config.VERIFIED])
    classifier = fit_classifier(frame, y, spec, "class-weights", seed=1)
    inference = fit_inference(frame, y, spec)
    assert inference.separation.kind == "none" and not inference.penalized and not classifier.penalized
    assert not isinstance(inference.result, FirthInference) and inference.estimator.startswith("maximum likelihood")
