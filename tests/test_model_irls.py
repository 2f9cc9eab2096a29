"""Newton's method on sufficient statistics (``model/irls.py``), checked against statsmodels'
``Logit`` and ``GLM`` and scikit-learn's ``LogisticRegression`` on made-up designs, and
against repeated rows for integer weights."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from tiktok_claims.model.design import BLOCK_ROWS, DesignRows
from tiktok_claims.model.irls import NEWTON_TOL, fit_logistic


def made_up(n: int, seed: int = 0, scale: float = 1.0):
    """A constant and five columns (two of them 0/1), an outcome drawn from a known logistic model."""
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [np.ones(n), rng.normal(size=(n, 3)) * scale, rng.integers(0, 2, size=(n, 2)).astype(float)]
    )
    y = (rng.random(n) < expit(x @ np.array([-1.2, 0.8, -0.5, 0.3, 1.0, -0.7]))).astype(float)
    return x, y


def rows_of(x: np.ndarray) -> DesignRows:
    return DesignRows(np.asfortranarray(x), tuple(f"x{j}" for j in range(x.shape[1])))


@pytest.mark.parametrize("n", [500, 3 * BLOCK_ROWS + 17])
def test_equals_the_statsmodels_newton_logit(n):
    x, y = made_up(n, seed=1)
    ours = fit_logistic(rows_of(x), y)
    theirs = sm.Logit(y, x).fit(method="newton", maxiter=100, disp=False)

    assert ours.converged and "converged" in ours.message
    np.testing.assert_allclose(ours.params, theirs.params, rtol=0, atol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(ours.covariance)), theirs.bse, rtol=1e-10)
    np.testing.assert_allclose(ours.covariance, theirs.cov_params(), rtol=1e-9, atol=1e-14)
    assert ours.loglike == pytest.approx(theirs.llf, rel=1e-12)
    # The same steps from the same start, the same stopping rule: the same number of them.
    assert ours.iterations == theirs.mle_retvals["iterations"]
    assert np.max(np.abs(ours.score)) < 1e-6


def test_integer_weights_equal_repeated_rows():
    x, y = made_up(2_000, seed=2)
    weights = np.random.default_rng(5).integers(1, 4, size=len(y)).astype(float)
    repeated = np.repeat(np.arange(len(y)), weights.astype(int))

    weighted, copies = fit_logistic(rows_of(x), y, weights), fit_logistic(rows_of(x[repeated]), y[repeated])

    np.testing.assert_allclose(weighted.params, copies.params, atol=1e-10)
    np.testing.assert_allclose(weighted.information, copies.information, rtol=1e-10)
    assert weighted.loglike == pytest.approx(copies.loglike, rel=1e-12)


def test_balanced_class_weights_equal_scikit_learn_and_a_frequency_weighted_glm():
    x, y = made_up(5_000, seed=3, scale=2.0)
    n, events = len(y), y.sum()
    weights = np.where(y == 1, n / (2 * events), n / (2 * (n - events)))

    ours = fit_logistic(rows_of(x), y, weights)
    sklearn = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10, max_iter=1000, class_weight="balanced")
    sklearn.fit(x[:, 1:], y)
    glm = sm.GLM(y, x, family=sm.families.Binomial(), freq_weights=weights).fit(tol=1e-12)

    np.testing.assert_allclose(ours.params[1:], sklearn.coef_.ravel(), atol=1e-8)
    assert ours.params[0] == pytest.approx(sklearn.intercept_[0], abs=1e-8)
    np.testing.assert_allclose(ours.params, glm.params, atol=1e-9)
    np.testing.assert_allclose(np.sqrt(np.diag(ours.covariance)), glm.bse, rtol=1e-8)


def test_per_class_weights_equal_the_vector_of_weights_exactly():
    x, y = made_up(3 * BLOCK_ROWS + 5, seed=6)
    n, events = len(y), y.sum()
    per_class = (n / (2 * (n - events)), n / (2 * events))

    vector = fit_logistic(rows_of(x), y, np.where(y == 1, per_class[1], per_class[0]))
    classes = fit_logistic(rows_of(x), y.astype(np.int8), class_weights=per_class)

    np.testing.assert_array_equal(classes.params, vector.params)  # the same sums, block by block
    np.testing.assert_array_equal(classes.information, vector.information)
    assert classes.loglike == vector.loglike and classes.iterations == vector.iterations
    with pytest.raises(ValueError, match="not both"):
        fit_logistic(rows_of(x), y, np.ones(len(y)), class_weights=per_class)


def test_a_mapped_view_fits_the_mapped_design():
    """Restandardizing through ``matrix`` equals fitting the restandardized rows themselves."""
    x, y = made_up(3_000, seed=4)
    positions = np.random.default_rng(0).permutation(len(y))[:2_000]
    matrix = np.eye(x.shape[1])
    matrix[[1, 2, 3], [1, 2, 3]] = [2.0, 0.5, 3.0]
    matrix[0, [1, 2, 3]] = [0.1, -0.4, 1.5]
    view = DesignRows(np.asfortranarray(x), tuple(f"x{j}" for j in range(6)), positions=positions, matrix=matrix)

    ours = fit_logistic(view, y[positions])
    direct = fit_logistic(rows_of(x[positions] @ matrix), y[positions])

    np.testing.assert_allclose(view.take(), x[positions] @ matrix)
    np.testing.assert_allclose(ours.params, direct.params, atol=1e-10)
    np.testing.assert_allclose(ours.covariance, direct.covariance, rtol=1e-9, atol=1e-14)
    assert ours.iterations == direct.iterations


def test_extreme_linear_predictors_stay_finite():
    """exp(±η) never overflows: rows far on either side add nothing, and no warning is raised."""
    x, y = made_up(1_000, seed=6)
    x[:, 1] *= 60  # linear predictors in the hundreds
    fit = fit_logistic(rows_of(x), y)

    assert fit.converged and np.all(np.isfinite(fit.params)) and np.isfinite(fit.loglike)


def test_a_fit_that_runs_out_of_steps_says_so():
    x, y = made_up(1_000, seed=7)
    fit = fit_logistic(rows_of(x), y, max_iter=2)

    assert not fit.converged and fit.iterations == 2
    assert "no convergence in 2 Newton steps" in fit.message
    assert np.all(np.isnan(fit.covariance))


def test_complete_separation_is_reported_as_infinite_estimates():
    """The steps settle once every probability is 0 or 1; statsmodels' perfect-prediction test
    then tells the estimates are infinite, not converged."""
    x = np.column_stack([np.ones(40), np.linspace(-1, 1, 40)])
    y = (x[:, 1] > 0).astype(float)
    fit = fit_logistic(rows_of(x), y)

    assert not fit.converged
    assert "predicted perfectly (complete separation)" in fit.message
    assert np.all(np.isnan(fit.covariance))


def test_collinear_columns_are_reported_not_fitted():
    x, y = made_up(500, seed=8)
    fit = fit_logistic(rows_of(np.column_stack([x, 2 * x[:, 1]])), y)

    assert not fit.converged and fit.iterations == 0
    assert "stopped after 0 Newton steps" in fit.message and "collinear" in fit.message


def test_tolerance_is_statsmodels_default():
    assert NEWTON_TOL == 1e-8


def test_mismatched_lengths_are_refused():
    x, y = made_up(100)
    with pytest.raises(ValueError, match="one value per row"):
        fit_logistic(rows_of(x), y[:-1])


def test_a_start_near_the_optimum_takes_fewer_steps_to_the_same_estimate():
    x, y = made_up(3_000, seed=9)
    cold = fit_logistic(rows_of(x), y)
    warm = fit_logistic(rows_of(x), y.astype(np.int8), start=cold.params + 0.05)

    assert warm.converged and warm.iterations < cold.iterations
    np.testing.assert_allclose(warm.params, cold.params, atol=1e-10)
    with pytest.raises(ValueError, match="one coefficient per column"):
        fit_logistic(rows_of(x), y, start=np.zeros(2))
