"""Logistic regression by Newton-Raphson on sufficient statistics, reading the design in row blocks.

Each Newton step needs the log-likelihood, its gradient ``Xᵀ s(y - μ)`` and the Fisher
information ``Xᵀ diag(s μ(1 - μ)) X`` (``p × p``), with ``s`` the sample weights. They are
sums over rows, so :func:`fit_logistic` accumulates them block by block
(:meth:`~tiktok_claims.model.design.DesignRows.blocks`): memory stays the design plus one
block, and one step costs about ``2np²`` floating-point operations.

Newton's method as statsmodels runs it (``Logit.fit(method="newton")``): from zero (or a
given start), step ``β ← β + I(β)⁻¹ g(β)`` until the largest change of a coefficient is at
most ``tol`` (1e-8), at most ``max_iter`` steps. One safeguard statsmodels lacks: a step that lowers
the log-likelihood (or makes it non-finite) is halved until it does not, as R's
``glm.fit`` does. The fit at the last step is the maximum of the (weighted)
log-likelihood: the unweighted one is statsmodels' ``Logit``; with class weights
``n / (2 n_class)`` it is scikit-learn's ``LogisticRegression(C=inf,
class_weight="balanced")`` (no penalty: scikit-learn's objective then has none, and the
intercept is never penalized).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, partial

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from threadpoolctl import ThreadpoolController

from .design import DesignRows

NEWTON_TOL = 1e-8
NEWTON_MAX_ITER = 100
# Step halvings tried before a step is declared a failure (2**-30 of a Newton step).
MAX_HALVINGS = 30
# A step may lower the log-likelihood by this share of it: the rounding of a sum over many rows.
LOGLIKE_SLACK = 1e-12
# Smallest squared Cholesky pivot of the information scaled to a unit diagonal (a
# correlation-like matrix) before it counts as singular: collinear columns.
SINGULAR_PIVOT = 1e-12
# statsmodels' test for perfect prediction: every fitted probability within this of its 0/1 outcome.
PERFECT_PREDICTION = 1e-4
SINGULAR = (
    "the information matrix is singular: the columns are collinear, or the estimates run off to infinity "
    "(separation)"
)


@dataclass(frozen=True)
class NewtonFit:
    """The result of :func:`fit_logistic`.

    Attributes
    ----------
    params : ndarray
        Coefficients, one per design column.
    covariance : ndarray
        Inverse of ``information``: the covariance of ``params`` (NaN when not converged).
    information : ndarray
        Fisher information ``Xᵀ diag(s μ(1 - μ)) X`` at ``params``.
    score : ndarray
        Gradient of the log-likelihood at ``params`` (near zero at the maximum).
    loglike : float
        (Weighted) log-likelihood at ``params``.
    iterations : int
        Newton steps taken.
    converged : bool
        Whether the last step changed no coefficient by more than the tolerance.
    message : str
        Why the fit stopped, in words.
    """

    params: np.ndarray
    covariance: np.ndarray
    information: np.ndarray
    score: np.ndarray
    loglike: float
    iterations: int
    converged: bool
    message: str


@dataclass(frozen=True)
class _Point:
    loglike: float
    score: np.ndarray
    information: np.ndarray
    largest_residual: float  # max |y - μ| over the rows (weights aside)


def fit_logistic(
    rows: DesignRows,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    class_weights: tuple[float, float] | None = None,
    tol: float = NEWTON_TOL,
    max_iter: int = NEWTON_MAX_ITER,
    start: np.ndarray | None = None,
) -> NewtonFit:
    """Maximize the (weighted) logistic log-likelihood of ``y`` on ``rows`` by Newton's method.

    Parameters
    ----------
    rows : DesignRows
        The design (its constant included, if wanted).
    y : ndarray of shape (len(rows),)
        The 0/1 outcome, in the order of ``rows`` (any numeric dtype; int8 saves memory).
    weights : ndarray of shape (len(rows),), optional
        Non-negative sample weights; ``None``: every row counts once.
    class_weights : (float, float), optional
        Instead of ``weights``: the weight of every row with ``y == 0`` and of every row
        with ``y == 1`` (e.g. scikit-learn's ``class_weight="balanced"``), applied a block
        at a time: no vector of weights is held.
    tol : float
        Converged when a step changes no coefficient by more than this.
    max_iter : int
        The most Newton steps.
    start : ndarray, optional
        Coefficients to start from; ``None``: zero, as statsmodels starts (and then the
        steps, and their number, are statsmodels').

    Returns
    -------
    NewtonFit
        With ``converged=False`` and the reason in ``message`` when the steps did not
        settle within ``max_iter``, a step could not raise the likelihood, or the
        information matrix is singular (collinear columns, or estimates running off
        to infinity under separation).

    Examples
    --------
    >>> import numpy as np
    >>> from tiktok_claims.model.design import DesignRows
    >>> x = np.column_stack([np.ones(6), [0.0, 1, 2, 3, 4, 5]])
    >>> fit = fit_logistic(DesignRows(x, ("const", "x")), np.array([0, 1, 0, 0, 1, 1]))
    >>> fit.converged, fit.iterations
    (True, 5)
    """
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise ValueError(f"y must be numeric 0/1 values; got dtype {y.dtype}.")
    if weights is not None and class_weights is not None:
        raise ValueError("give weights or class_weights, not both.")
    weights = None if weights is None else np.asarray(weights, dtype=np.float64)
    if len(y) != len(rows) or (weights is not None and len(weights) != len(rows)):
        raise ValueError(
            f"y and weights need one value per row ({len(rows):,}); got {len(y):,} and "
            f"{'none' if weights is None else f'{len(weights):,}'}."
        )
    if start is not None and np.shape(start) != (rows.width,):
        raise ValueError(f"start needs one coefficient per column ({rows.width}); got shape {np.shape(start)}.")
    # The products are p × p with p about 10: too small to share between threads, and on
    # a busy machine BLAS threads waiting for each other cost more than they save.
    with _thread_pools().limit(limits=1, user_api="blas"):
        evaluate = partial(_evaluate, rows, y, weights if class_weights is None else tuple(map(float, class_weights)))
        return _newton(evaluate, tol, max_iter, np.zeros(rows.width) if start is None else start)


def _newton(evaluate, tol: float, max_iter: int, params: np.ndarray) -> NewtonFit:
    point = evaluate(params)
    for iteration in range(1, max_iter + 1):
        try:
            step = _solve(point.information, point.score)
        except LinAlgError:
            return _stopped(params, point, iteration - 1, SINGULAR)
        for _ in range(MAX_HALVINGS + 1):
            candidate = params + step
            trial = evaluate(candidate)
            if np.isfinite(trial.loglike) and trial.loglike >= point.loglike - LOGLIKE_SLACK * abs(point.loglike):
                break
            step = step / 2
        else:
            return _stopped(params, point, iteration - 1, "no step along the Newton direction raises the likelihood")
        params, point = candidate, trial
        if np.max(np.abs(step)) <= tol:
            if point.largest_residual < PERFECT_PREDICTION:
                return _stopped(params, point, iteration, "every row is predicted perfectly (complete separation): "
                                "the estimates are infinite")
            try:
                covariance = _solve(point.information, np.eye(len(params)))
            except LinAlgError:
                return _stopped(params, point, iteration, SINGULAR)
            return NewtonFit(
                params=params,
                covariance=covariance,
                information=point.information,
                score=point.score,
                loglike=point.loglike,
                iterations=iteration,
                converged=True,
                message=f"converged: the last step changed no coefficient by more than {tol:g}",
            )
    return _stopped(params, point, max_iter, f"no convergence in {max_iter} Newton steps")


def _solve(information: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``information⁻¹ rhs`` by Cholesky, refusing a numerically singular matrix (``LinAlgError``).

    The matrix is first scaled to a unit diagonal, so that the test of its smallest
    pivot does not depend on the columns' units.
    """
    diagonal = np.diag(information)
    if not np.all(np.isfinite(information)) or np.any(diagonal <= 0):
        raise LinAlgError("the information matrix has a zero or non-finite diagonal")
    root = np.sqrt(diagonal)
    factor = cho_factor(information / np.outer(root, root))
    if np.min(np.abs(np.diag(factor[0]))) ** 2 < SINGULAR_PIVOT:
        raise LinAlgError("the information matrix is numerically singular")
    scaled = rhs / (root if rhs.ndim == 1 else root[:, None])
    solution = cho_solve(factor, scaled)
    return solution / (root if rhs.ndim == 1 else root[:, None])


def _stopped(params: np.ndarray, point: _Point, iterations: int, why: str) -> NewtonFit:
    return NewtonFit(
        params=params,
        covariance=np.full((len(params), len(params)), np.nan),
        information=point.information,
        score=point.score,
        loglike=point.loglike,
        iterations=iterations,
        converged=False,
        message=f"stopped after {iterations} Newton steps: {why}",
    )


def _evaluate(
    rows: DesignRows, y: np.ndarray, weights: np.ndarray | tuple[float, float] | None, params: np.ndarray
) -> _Point:
    """Log-likelihood, gradient and Fisher information at ``params``, summed block by block.

    ``weights``: one per row, or one per class (``y == 0``, ``y == 1``).

    The blocks are read as stored and the view's map ``M`` applied to the sums: with
    ``X̃ = XM``, ``X̃β = X(Mβ)``, ``X̃ᵀr = Mᵀ(Xᵀr)`` and ``X̃ᵀWX̃ = Mᵀ(XᵀWX)M``.
    """
    linear = params if rows.matrix is None else rows.matrix @ params
    p = rows.width
    loglike, score, information, largest_residual = 0.0, np.zeros(p), np.zeros((p, p)), 0.0
    for block_rows, x in rows.blocks():
        eta = x @ linear
        outcome = y[block_rows].astype(np.float64, copy=False)
        # With e = exp(-|η|) and σ(|η|) = 1 / (1 + e): μ = σ(η) = 1/2 ± (σ(|η|) - 1/2),
        # μ(1 - μ) = e σ(|η|)², and log P(y | η) = log σ(qη) (q = 2y - 1) = -log1p(e) - max(-qη, 0):
        # exact for any η, never overflowing, and a few times cheaper than scipy's expit and log_expit.
        e = np.exp(-np.abs(eta))
        inverse = 1.0 / (1.0 + e)
        mu = 0.5 + np.copysign(inverse - 0.5, eta)
        variance = e * inverse * inverse
        terms = np.log1p(e)
        terms += np.maximum(eta * (1.0 - 2.0 * outcome), 0.0)
        residual = outcome - mu
        largest_residual = max(largest_residual, float(np.max(np.abs(residual))))
        if weights is not None:
            w = weights[block_rows] if isinstance(weights, np.ndarray) else np.where(outcome == 1.0, weights[1], weights[0])
            residual *= w
            variance *= w
            loglike -= float(terms @ w)
        else:
            loglike -= float(terms.sum())
        columns = x.T  # contiguous rows for a column-major block: the products run along them
        score += columns @ residual
        information += (columns * variance) @ x
    if rows.matrix is not None:
        score, information = rows.matrix.T @ score, rows.matrix.T @ information @ rows.matrix
    return _Point(loglike, score, information, largest_residual)


@cache
def _thread_pools() -> ThreadpoolController:
    """This process's BLAS libraries, found once: ``threadpool_limits`` looks for them on every
    call (about 1.6 ms, more than a small fit). numpy's BLAS, the one the fits use, is loaded
    with numpy, before the first call."""
    return ThreadpoolController()
