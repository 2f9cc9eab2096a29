"""Firth's profile penalized-likelihood intervals and likelihood-ratio p-values, against an independent computation.

The reference maximizes the penalized log-likelihood written out from its definition
(``l(β) + ½ log det I(β)``) with scipy's general-purpose optimizer for each fixed value
of one coefficient, and finds where the profile crosses the chi-squared cut with
Brent's method: no code of the package's Firth module is used.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats
from scipy.special import expit, log_expit

from tiktok_claims import config
from tiktok_claims.model.firth import FirthInference, firth, likelihood_ratio_pvalue, profile_interval


def _penalized(beta, x, y):
    eta = x @ beta
    p = expit(eta)
    information = x.T @ (x * (p * (1 - p))[:, None])
    return np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta)) + 0.5 * np.linalg.slogdet(information)[1]


def _gradient(beta, x, y):
    """The gradient of the penalized log-likelihood: X'(y - p + h (1/2 - p)), h the hat matrix' diagonal."""
    p = expit(x @ beta)
    weight = p * (1 - p)
    root = x * np.sqrt(weight)[:, None]
    hat = np.sum(root @ np.linalg.pinv(root.T @ root) * root, axis=1)
    return x.T @ (y - p + hat * (0.5 - p))


def _profile(x, y, j, value, start, warm: dict | None = None):
    """max over the other coefficients of the penalized log-likelihood with coefficient ``j`` fixed at ``value``.

    ``warm`` keeps the last solution, the next search's start (the limits are found by
    nearby evaluations).
    """
    free = [k for k in range(x.shape[1]) if k != j]

    def minus(z):
        beta = np.empty(x.shape[1])
        beta[j], beta[free] = value, z
        with np.errstate(all="ignore"):
            value_ = -_penalized(beta, x, y)
            if not np.isfinite(value_):
                return 1e300, np.zeros(len(free))
            return value_, -_gradient(beta, x, y)[free]

    first = np.delete(start, j) if warm is None or "z" not in warm else warm["z"]
    found = optimize.minimize(minus, first, jac=True, method="BFGS", options={"gtol": 1e-8, "maxiter": 20_000})
    if warm is not None:
        warm["z"] = found.x
    return -found.fun


def _reference(x, y, j, alpha=0.05):
    full = optimize.minimize(
        lambda b: (-_penalized(b, x, y), -_gradient(b, x, y)), np.zeros(x.shape[1]), jac=True, method="BFGS",
        options={"gtol": 1e-8, "maxiter": 20_000},
    )
    best, estimate = -full.fun, full.x
    cut = best - stats.chi2.ppf(1 - alpha, 1) / 2
    step = np.sqrt(np.diag(np.linalg.inv(-_hessian(full.x, x, y))))[j]
    limits = []
    for direction in (-1, 1):
        warm: dict = {}
        crossing = lambda b: _profile(x, y, j, b, estimate, warm) - cut  # noqa: E731
        inner, outer = estimate[j], estimate[j] + direction * step
        while crossing(outer) > 0:
            inner, outer = outer, outer + direction * step
        limits.append(optimize.brentq(crossing, min(inner, outer), max(inner, outer), xtol=1e-9))
    low, high = limits
    p_value = stats.chi2.sf(2 * (best - _profile(x, y, j, 0.0, estimate)), 1)
    return estimate, (low, high), p_value


def _hessian(beta, x, y):
    p = expit(x @ beta)
    return -(x.T @ (x * (p * (1 - p))[:, None]))


@pytest.fixture(scope="module")
def quasi_separated():
    """A continuous predictor and a dummy whose level 1 holds events only (quasi-complete separation)."""
    rng = np.random.default_rng(3)
    n = 120
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.binomial(1, 0.3, size=n)])
    y = (rng.random(n) < expit(-0.5 + 1.5 * x[:, 1])).astype(float)
    y[x[:, 2] == 1] = 1.0
    return x, y


@pytest.mark.parametrize("j", [0, 1, 2])
def test_profile_limits_and_lr_p_values_match_an_independent_computation(quasi_separated, j):
    x, y = quasi_separated
    result = firth(x, y)
    estimate, (low, high), p_value = _reference(x, y, j)

    np.testing.assert_allclose(result.beta, estimate, atol=1e-4)
    ours = profile_interval(x, y, result, j)
    assert ours[0] == pytest.approx(low, abs=1e-3)
    assert ours[1] == pytest.approx(high, abs=1e-3)
    assert likelihood_ratio_pvalue(x, y, result, j) == pytest.approx(p_value, rel=1e-3)


def test_profile_limits_are_asymmetric_where_wald_limits_are_not(quasi_separated):
    x, y = quasi_separated
    result = firth(x, y)
    low, high = profile_interval(x, y, result, 2)
    wald_half = 1.959964 * result.se[2]
    # Under separation the profile likelihood is skewed: the upper limit lies farther out.
    assert high - result.beta[2] > result.beta[2] - low
    assert (low, high) != pytest.approx((result.beta[2] - wald_half, result.beta[2] + wald_half), abs=1e-2)


@pytest.fixture(scope="module")
def real_claim_inference(real_dataset):
    import pandas as pd

    from tiktok_claims.model.features import select_features
    from tiktok_claims.model.logistic import design_matrix

    frame = real_dataset.frame
    design, _ = design_matrix(frame, select_features(frame, config.CLAIM))
    y = pd.Series((frame[config.CLAIM] == "claim").astype(float), index=frame.index)
    return design, y, FirthInference(design, y)


@pytest.mark.parametrize("term", [config.DURATION, config.VIEWS])
def test_real_claim_model_profile_limits_match_an_independent_computation(real_claim_inference, term):
    """The real claim model nearly separates; duration is an ordinary term, views the separating one."""
    design, y, inference = real_claim_inference
    assert inference.wald_fallback == ()
    j = list(design.columns).index(term)
    _, (low, high), p_value = _reference(design.to_numpy(), y.to_numpy(), j)
    limits = inference.conf_int().loc[term]
    assert limits[0] == pytest.approx(low, abs=1e-3) and limits[1] == pytest.approx(high, abs=1e-3)
    assert inference.pvalues[term] == pytest.approx(p_value, rel=1e-3, abs=1e-12)


def test_an_untraceable_profile_falls_back_to_wald_and_says_so(real_dataset):
    """2,000 real videos of the claim model: a flat, multimodal penalized likelihood for some terms."""
    import pandas as pd

    from tiktok_claims.model.features import select_features
    from tiktok_claims.model.logistic import design_matrix

    frame = real_dataset.frame.sample(2000, random_state=1)
    design, _ = design_matrix(frame, select_features(frame, config.CLAIM))
    y = pd.Series((frame[config.CLAIM] == "claim").astype(float), index=frame.index)
    inference = FirthInference(design, y)
    assert inference.wald_fallback
    margin = stats.norm.ppf(0.975) * inference.bse
    for term in inference.wald_fallback:
        limits = inference.conf_int().loc[term]
        assert limits[0] == pytest.approx(inference.params[term] - margin[term])
        assert limits[1] == pytest.approx(inference.params[term] + margin[term])
        assert inference.pvalues[term] == pytest.approx(2 * stats.norm.sf(abs(inference.tvalues[term])))
