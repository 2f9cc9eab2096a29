"""Firth's penalized logistic regression: the fallback when the classes (nearly) separate.

Under complete or quasi-complete separation the maximum-likelihood estimates of a
logistic regression are infinite; under near separation they exist but rest on a
handful of rows, so coefficients are huge and Wald standard errors meaningless.
Firth (1993) adds ``½ ln det I(β)`` (Jeffreys' prior) to the log-likelihood, which keeps
every estimate finite and removes the first-order small-sample bias (Heinze and
Schemper, 2002; R's ``logistf``).

With prior weights ``w`` (class weights), the penalized log-likelihood is
``Σ wᵢ ℓᵢ(β) + ½ ln det(Xᵀ diag(w p (1 - p)) X)`` and its score is
``Xᵀ(w (y - p) + h (½ - p))``, ``h`` the diagonal of the weighted hat matrix; with
``w = 1`` this is Firth's estimator exactly.

This module gives the estimator three faces: :func:`firth` (arrays in, estimates out),
:class:`FirthLogisticRegression` (a scikit-learn classifier, for the prediction
pipeline) and :class:`FirthInference` (the parts of statsmodels' ``LogitResults`` that
the rest of the package reads: ``params``, ``bse``, ``pvalues``, ``conf_int``, ``llf``,
``predict``, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.class_weight import compute_sample_weight

MAX_ITER = 100
TOLERANCE = 1e-8
MAX_STEP = 5.0
MAX_HALVINGS = 30
# The modified score at the estimate must be this close to zero in every coordinate
# (R's logistf: gconv = 1e-5).
SCORE_TOLERANCE = 1e-5
METHOD = "Firth penalized likelihood (Jeffreys prior); Wald standard errors from the penalized information"


@dataclass(frozen=True)
class FirthResult:
    """Estimates of one Firth fit; ``information`` is the Fisher information at ``beta``."""

    beta: np.ndarray
    information: np.ndarray
    penalized_log_likelihood: float
    log_likelihood: float
    converged: bool
    iterations: int

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(np.linalg.inv(self.information)))


def _terms(x: np.ndarray, y: np.ndarray, w: np.ndarray, beta: np.ndarray):
    """Penalized log-likelihood, modified score, information and log-likelihood at ``beta``."""
    eta = x @ beta
    p = expit(eta)
    information = x.T @ (x * (w * p * (1 - p))[:, None])
    sign, logdet = np.linalg.slogdet(information)
    if sign <= 0:
        return -math.inf, np.zeros_like(beta), information, -math.inf
    leverage = w * p * (1 - p) * np.einsum("ij,ij->i", x @ np.linalg.inv(information), x)
    log_likelihood = float(np.sum(w * (y * log_expit(eta) + (1 - y) * log_expit(-eta))))
    score = x.T @ (w * (y - p) + leverage * (0.5 - p))
    return log_likelihood + 0.5 * logdet, score, information, log_likelihood


def firth(x, y, weights=None, *, max_iter: int = MAX_ITER) -> FirthResult:
    """Fit Firth's logistic regression by Newton steps on the modified score.

    Each step is capped at ``MAX_STEP`` and halved until the penalized log-likelihood
    rises. ``x`` must hold its own constant column.

    Examples
    --------
    >>> x = np.array([[1, 0.0], [1, 1.0], [1, 2.0], [1, 3.0]])  # completely separated
    >>> bool(np.all(np.isfinite(firth(x, np.array([0, 0, 1, 1])).beta)))
    True
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    beta = np.zeros(x.shape[1])
    objective, score, information, log_likelihood = _terms(x, y, w, beta)
    iterations = 0
    for iterations in range(1, max_iter + 1):
        step = np.linalg.solve(information, score)
        largest = np.max(np.abs(step))
        if largest > MAX_STEP:
            step *= MAX_STEP / largest
        for _ in range(MAX_HALVINGS):
            candidate = _terms(x, y, w, beta + step)
            if candidate[0] >= objective:
                break
            step = step / 2
        else:
            break
        beta = beta + step
        objective, score, information, log_likelihood = candidate
        if np.max(np.abs(step)) < TOLERANCE:
            break
    return FirthResult(
        beta=beta,
        information=information,
        penalized_log_likelihood=float(objective),
        log_likelihood=float(log_likelihood),
        converged=bool(np.max(np.abs(score)) < SCORE_TOLERANCE),
        iterations=iterations,
    )


class FirthLogisticRegression(ClassifierMixin, BaseEstimator):
    """Binary logistic regression by Firth's penalized likelihood, as a scikit-learn classifier.

    Parameters
    ----------
    class_weight : "balanced", dict or None
        As in :class:`sklearn.linear_model.LogisticRegression`: prior weights of the
        rows of each class in the likelihood.
    max_iter : int
        Newton iterations at most.
    """

    def __init__(self, class_weight=None, max_iter: int = MAX_ITER):
        self.class_weight = class_weight
        self.max_iter = max_iter

    def fit(self, X, y, sample_weight=None):
        x = np.asarray(X, dtype=float)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(f"FirthLogisticRegression needs two classes; got {len(self.classes_)}.")
        weights = compute_sample_weight(self.class_weight, y) if self.class_weight is not None else np.ones(len(y))
        if sample_weight is not None:
            weights = weights * np.asarray(sample_weight, dtype=float)
        result = firth(np.column_stack([np.ones(len(x)), x]), y == self.classes_[1], weights, max_iter=self.max_iter)
        self.intercept_ = result.beta[:1].copy()
        self.coef_ = result.beta[1:][None, :].copy()
        self.n_iter_ = np.array([result.iterations])
        self.converged_ = result.converged
        self.n_features_in_ = x.shape[1]
        return self

    def decision_function(self, X) -> np.ndarray:
        return np.asarray(X, dtype=float) @ self.coef_.ravel() + self.intercept_[0]

    def predict_proba(self, X) -> np.ndarray:
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self.decision_function(X) > 0).astype(int)]


class FirthInference:
    """Firth's fit of the (unweighted) inference model, read like statsmodels' ``LogitResults``.

    ``llf`` and ``llnull`` are the ordinary (unpenalized) log-likelihoods at the
    penalized estimate and of the intercept-only maximum-likelihood model, so the
    McFadden pseudo-R² keeps its meaning. ``llr`` is the penalized likelihood-ratio
    statistic against the intercept-only Firth model (as R's ``logistf`` reports).
    """

    method = METHOD

    def __init__(self, design: pd.DataFrame, y: pd.Series, alpha: float = 0.05):
        x = design.to_numpy(dtype=float)
        outcome = np.asarray(y, dtype=float)
        result = firth(x, outcome)
        constant = [list(design.columns).index("const")]
        null = firth(x[:, constant], outcome)
        names = list(design.columns)
        self.result = result
        self.params = pd.Series(result.beta, index=names)
        self.bse = pd.Series(result.se, index=names)
        self.tvalues = self.params / self.bse
        self.pvalues = pd.Series(2 * stats.norm.sf(np.abs(self.tvalues)), index=names)
        self.alpha = alpha
        self.llf = result.log_likelihood
        rate = outcome.mean()
        self.llnull = float(len(outcome) * (rate * math.log(rate) + (1 - rate) * math.log(1 - rate)))
        self.prsquared = 1 - self.llf / self.llnull
        self.llr = float(2 * (result.penalized_log_likelihood - null.penalized_log_likelihood))
        self.df_model = x.shape[1] - 1
        self.llr_pvalue = float(stats.chi2.sf(self.llr, self.df_model))
        self.mle_retvals = {"converged": result.converged, "iterations": result.iterations}
        self.model = SimpleNamespace(
            exog=x, endog=outcome, exog_names=names, data=SimpleNamespace(row_labels=design.index)
        )

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        margin = stats.norm.ppf(1 - alpha / 2) * self.bse
        return pd.DataFrame({0: self.params - margin, 1: self.params + margin})

    def predict(self, design) -> np.ndarray:
        return expit(np.asarray(design, dtype=float) @ self.params.to_numpy())
