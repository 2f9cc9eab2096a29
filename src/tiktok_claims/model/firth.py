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
import warnings
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.class_weight import compute_sample_weight

MAX_ITER = 100
TOLERANCE = 1e-8
MAX_STEP = 100.0
MAX_HALVINGS = 30
# The modified score at the estimate must be this close to zero in every coordinate
# (R's logistf: gconv = 1e-5).
SCORE_TOLERANCE = 1e-5
METHOD = (
    "Firth penalized likelihood (Jeffreys prior); profile penalized-likelihood intervals and penalized "
    "likelihood-ratio p-values, as R's logistf"
)
# Profile limits: steps out from the estimate (doubling, in Wald standard errors) and the
# precision of the root.
# Quasi-Newton steps at most when polishing a fit left on a flat ridge.
POLISH_STEPS = 2000
PROFILE_EXPANSIONS = 40
PROFILE_SECANT_STEPS = 20
PROFILE_TOLERANCE = 1e-6
# Constrained fits along a profile stop earlier: an error e in the coefficients moves the
# penalized log-likelihood by about e², far below what moves a limit.
PROFILE_FIT_TOLERANCE = 1e-6
# A constrained fit may not beat the maximum by more than this (penalized log-likelihood units).
PROFILE_SLACK = 1e-6


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


def _terms(x: np.ndarray, y: np.ndarray, w: np.ndarray, beta: np.ndarray, *, with_score: bool = True):
    """Penalized log-likelihood, modified score, information and log-likelihood at ``beta``.

    Without ``with_score`` the score (whose leverages cost the most) is left as zeros:
    enough to judge a trial step.
    """
    eta = x @ beta
    p = expit(eta)
    weight = w * p * (1 - p)
    information = x.T @ (x * weight[:, None])
    sign, logdet = np.linalg.slogdet(information)
    if sign <= 0:
        return -math.inf, np.zeros_like(beta), information, -math.inf
    # y·log σ(η) + (1 - y)·log σ(-η) = log σ(±η), the sign that of the observed class.
    log_likelihood = float(np.sum(w * log_expit(np.where(y > 0.5, eta, -eta))))
    score = np.zeros_like(beta)
    if with_score:
        leverage = weight * np.einsum("ij,ij->i", x @ np.linalg.inv(information), x)
        score = x.T @ (w * (y - p) + leverage * (0.5 - p))
    return log_likelihood + 0.5 * logdet, score, information, log_likelihood


def firth(
    x, y, weights=None, *, max_iter: int = MAX_ITER, fixed: dict[int, float] | None = None, start=None,
    tolerance: float = TOLERANCE,
) -> FirthResult:
    """Fit Firth's logistic regression by Newton steps on the modified score.

    Each step is capped at ``MAX_STEP`` and halved until the penalized log-likelihood
    rises. ``x`` must hold its own constant column. ``fixed`` holds coefficients at
    given values (column index -> value) and maximizes over the others, with the
    penalty of the full model (as R's ``logistf`` profiles); ``start`` is the starting
    point (zeros by default). Rows of zero weight are dropped first (bootstrap refits).
    Iterations stop when no coefficient moves more than ``tolerance``.

    Examples
    --------
    >>> x = np.array([[1, 0.0], [1, 1.0], [1, 2.0], [1, 3.0]])  # completely separated
    >>> bool(np.all(np.isfinite(firth(x, np.array([0, 0, 1, 1])).beta)))
    True
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    if weights is not None and np.any(w == 0):
        kept = w > 0
        x, y, w = x[kept], y[kept], w[kept]
    beta = np.zeros(x.shape[1]) if start is None else np.array(start, dtype=float)
    free = np.ones(x.shape[1], dtype=bool)
    for index, value in (fixed or {}).items():
        beta[index], free[index] = value, False
    objective, score, information, log_likelihood = _terms(x, y, w, beta)
    if not math.isfinite(objective) and start is not None:
        # The start saturates the fitted probabilities (the information is singular there,
        # as when a profile fixes one coefficient far from its estimate): start from zero.
        beta[free] = 0.0
        objective, score, information, log_likelihood = _terms(x, y, w, beta)
    iterations = 0
    for iterations in range(1, max_iter + 1):
        step = np.zeros_like(beta)
        block = information[np.ix_(free, free)]
        try:
            step[free] = np.linalg.solve(block, score[free])
        except np.linalg.LinAlgError:  # numerically singular far out on a profile: the least-squares step
            step[free] = np.linalg.lstsq(block, score[free], rcond=None)[0]
        largest = np.max(np.abs(step))
        if largest > MAX_STEP:
            step *= MAX_STEP / largest
        for _ in range(MAX_HALVINGS):
            trial = _terms(x, y, w, beta + step, with_score=False)[0]
            if trial >= objective:
                break
            step = step / 2
        else:
            break
        beta = beta + step
        objective, score, information, log_likelihood = _terms(x, y, w, beta)
        if np.max(np.abs(step)) < tolerance:
            break
    if np.max(np.abs(score[free]), initial=0.0) >= SCORE_TOLERANCE:
        beta, (objective, score, information, log_likelihood) = _polish(x, y, w, beta, free)
    return FirthResult(
        beta=beta,
        information=information,
        penalized_log_likelihood=float(objective),
        log_likelihood=float(log_likelihood),
        converged=bool(math.isfinite(objective) and np.max(np.abs(score[free]), initial=0.0) < SCORE_TOLERANCE),
        iterations=iterations,
    )


def _polish(x: np.ndarray, y: np.ndarray, w: np.ndarray, beta: np.ndarray, free: np.ndarray):
    """Finish a fit that the scoring steps left short of the maximum (a flat ridge near separation).

    Quasi-Newton (BFGS) on the penalized log-likelihood, whose gradient is exactly the
    modified score; returns the coefficients and :func:`_terms` there.
    """

    def negative(z):
        trial = beta.copy()
        trial[free] = z
        value, score, _, _ = _terms(x, y, w, trial)
        if not math.isfinite(value):
            return 1e300, np.zeros(int(free.sum()))
        return -value, -score[free]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # line searches that probe saturated points
        found = optimize.minimize(
            negative, beta[free], jac=True, method="BFGS", options={"gtol": SCORE_TOLERANCE / 10, "maxiter": POLISH_STEPS}
        )
    polished = beta.copy()
    polished[free] = found.x
    return polished, _terms(x, y, w, polished)


def profile_interval(x, y, result: FirthResult, index: int, alpha: float = 0.05) -> tuple[float, float]:
    """Profile penalized-likelihood confidence limits of coefficient ``index`` (R's ``logistf`` default).

    The limits are the values ``b`` where ``2 (pl(β̂) - max pl(β | β_index = b))`` equals
    the chi-squared quantile with one degree of freedom. The signed root of that
    deviance is nearly linear in ``b``, so each limit is found by the secant method on
    it, from the Wald limit; should that fail, by stepping out in Wald standard errors
    until the profile drops below the cut, then Brent's method. A limit that no step
    reaches (the penalized likelihood stays above the cut) is infinite. Raises
    ``ValueError`` when a constrained fit does not converge or rises above the maximum.
    """
    z = math.sqrt(stats.chi2.ppf(1 - alpha, 1))
    best = result.penalized_log_likelihood
    estimate, se = float(result.beta[index]), float(result.se[index])
    warm = {"beta": result.beta}

    def root(value: float) -> float:
        """|signed root of the profile deviance| at ``value``, minus the target ``z``."""
        fit = firth(x, y, fixed={index: value}, start=warm["beta"], tolerance=PROFILE_FIT_TOLERANCE)
        deviance = 2 * (best - fit.penalized_log_likelihood)
        if not fit.converged or deviance < -PROFILE_SLACK:
            raise ValueError(f"the profile of coefficient {index} cannot be traced at {value:.6g}")
        warm["beta"] = fit.beta
        return math.sqrt(max(deviance, 0.0)) - z

    limits = []
    for direction in (-1.0, 1.0):
        warm["beta"] = result.beta
        limits.append(_secant_limit(root, estimate, direction, z, se) or _bracketed_limit(root, estimate, direction, se))
    return limits[0], limits[1]


def _secant_limit(root, estimate: float, direction: float, z: float, se: float) -> float | None:
    """The limit by the secant method from the Wald limit, or ``None`` if it does not settle on its side."""
    first = estimate + direction * z * se
    gap = root(first)
    second = estimate + direction * z * se * z / max(gap + z, 1e-12)
    try:
        with warnings.catch_warnings():
            # scipy warns when the secant steps stall (a flat stretch of the profile): use the bracketing search.
            warnings.simplefilter("error", RuntimeWarning)
            found = optimize.root_scalar(
                root, x0=first, x1=second, method="secant", xtol=PROFILE_TOLERANCE, maxiter=PROFILE_SECANT_STEPS
            )
    except (ArithmeticError, ValueError, RuntimeWarning):
        return None
    on_side = (found.root - estimate) * direction > 0
    return float(found.root) if found.converged and on_side and abs(root(found.root)) < 1e-4 else None


def _bracketed_limit(root, estimate: float, direction: float, se: float) -> float:
    """The limit by stepping out from the estimate until the profile crosses the cut, then Brent's method."""
    inner, width = estimate, se
    for _ in range(PROFILE_EXPANSIONS):
        outer = estimate + direction * width
        if root(outer) > 0:
            return float(optimize.brentq(root, min(inner, outer), max(inner, outer), xtol=PROFILE_TOLERANCE))
        inner, width = outer, width * 2
    return direction * math.inf


def likelihood_ratio_pvalue(x, y, result: FirthResult, index: int) -> float:
    """Penalized likelihood-ratio test of coefficient ``index`` = 0 (R's ``logistf`` p-value)."""
    restricted = firth(x, y, fixed={index: 0.0}, start=result.beta, tolerance=PROFILE_FIT_TOLERANCE)
    statistic = max(2 * (result.penalized_log_likelihood - restricted.penalized_log_likelihood), 0.0)
    return float(stats.chi2.sf(statistic, 1))


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


def _profile_or_none(x, y, result: FirthResult, index: int, alpha: float):
    """(LR p-value, profile limits) of one coefficient, or ``None`` when its profile cannot be trusted.

    Untrustworthy: a constrained fit that does not converge, a profile that rises above
    the maximum (the penalized likelihood has another, higher mode), or limits that do
    not bracket the estimate.
    """
    try:
        restricted = firth(x, y, fixed={index: 0.0}, start=result.beta, tolerance=PROFILE_FIT_TOLERANCE)
        low, high = profile_interval(x, y, result, index, alpha)
    except (np.linalg.LinAlgError, ValueError, ArithmeticError):
        return None
    deviance = 2 * (result.penalized_log_likelihood - restricted.penalized_log_likelihood)
    estimate = result.beta[index]
    if not restricted.converged or deviance < -PROFILE_SLACK or not low < estimate < high:
        return None
    return float(stats.chi2.sf(max(deviance, 0.0), 1)), (low, high)


class FirthInference:
    """Firth's fit of the (unweighted) inference model, read like statsmodels' ``LogitResults``.

    As R's ``logistf`` reports by default, ``pvalues`` are penalized likelihood-ratio
    tests and :meth:`conf_int` gives profile penalized-likelihood limits (Wald
    limits and z from ``bse`` would be too narrow near separation); ``tvalues`` stay
    the Wald z. ``llf`` and ``llnull`` are the ordinary (unpenalized) log-likelihoods
    at the penalized estimate and of the intercept-only maximum-likelihood model, so the
    McFadden pseudo-R² keeps its meaning. ``llr`` is the penalized likelihood-ratio
    statistic against the intercept-only Firth model.
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
        self.alpha = alpha
        wald = 2 * stats.norm.sf(np.abs(self.tvalues.to_numpy()))
        margin = stats.norm.ppf(1 - alpha / 2) * self.bse.to_numpy()
        p_values, limits, fallback = [], [], []
        for j, name in enumerate(names):
            profiled = _profile_or_none(x, outcome, result, j, alpha)
            if profiled is None:
                fallback.append(name)
                p_values.append(wald[j])
                limits.append((result.beta[j] - margin[j], result.beta[j] + margin[j]))
            else:
                p_values.append(profiled[0])
                limits.append(profiled[1])
        self.pvalues = pd.Series(p_values, index=names)
        self._limits = pd.DataFrame(limits, index=names, columns=[0, 1])
        self.wald_fallback = tuple(fallback)
        """Terms whose profile could not be traced (a flat or multimodal penalized likelihood): Wald p and limits."""
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
        """Profile penalized-likelihood limits (Wald for :attr:`wald_fallback`), computed at the fit's ``alpha``."""
        if alpha != self.alpha:
            raise ValueError(f"profile limits were computed for alpha = {self.alpha}; got alpha = {alpha}.")
        return self._limits

    def predict(self, design) -> np.ndarray:
        return expit(np.asarray(design, dtype=float) @ self.params.to_numpy())
