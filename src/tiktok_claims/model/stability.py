"""How stable each association is: bootstrap refits of the inference model.

A finding that holds only for this sample of videos is not worth reporting. Each
bootstrap refit draws every used row with replacement (as multinomial frequency weights,
so no rows are copied), refits the same model (maximum likelihood by Newton's method, or
Firth's penalized likelihood when the main fit used it), and records for each term
whether its sign matches the full-data estimate and whether it is significant after
Holm's adjustment across the model's terms (Wald tests, from the refit's information).

The maximum-likelihood refits run side by side, a batch at a time: one matrix product
gives every refit's linear predictor, and the information matrices of all of them come
from one product of their IRLS weights with the design's pairwise column products
(``x_a x_b`` for ``a <= b``, computed once), summed over blocks of rows that stay in
cache. Each refit takes the Newton steps it would take alone, and the draws are those of
one draw per refit, so the shares are those of fitting the refits one at a time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from .firth import firth

NEWTON_MAX_ITER = 50
NEWTON_TOLERANCE = 1e-10
# A stream of its own, so that the refits never mirror other draws from the same seed.
STABILITY_STREAM = 11
# Maximum-likelihood refits fitted side by side: their (refits × rows) temporaries stay
# a few megabytes on tens of thousands of rows.
BATCH_CELLS = 1_000_000
# Refits × rows per block of an evaluation: a few hundred kilobytes, kept in cache.
BLOCK_CELLS = 32_768
# The design's pairwise column products are kept whole up to this size (a hundred
# thousand rows of ten columns), else made block by block.
PAIR_PRODUCT_BYTES = 64 * 2**20


def bootstrap_stability(
    design: pd.DataFrame,
    y,
    estimates: pd.Series,
    *,
    penalized: bool,
    refits: int,
    seed: int,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Share of bootstrap refits in which each term keeps its sign and its significance.

    Parameters
    ----------
    design : DataFrame
        The inference model's design, with its ``const`` column.
    y : array-like of 0/1
    estimates : Series
        The full-data coefficients, by design column.
    penalized : bool
        Refit with Firth's penalized likelihood instead of maximum likelihood.
    refits : int
        Bootstrap refits.
    seed : int
    alpha : float
        The significance level of the Holm-adjusted Wald tests.

    Returns
    -------
    DataFrame
        ``name, same_sign, significant, refits``: for every term but the constant, the
        share of usable refits with the full-data sign, the share in which its
        Holm-adjusted p-value is below ``alpha``, and how many refits were usable (a
        maximum-likelihood refit that does not converge, as under separation in a
        resample, is left out).
    """
    x = design.to_numpy(dtype=float)
    outcome = np.asarray(y, dtype=float)
    names = list(design.columns)
    slopes = [j for j, name in enumerate(names) if name != "const"]
    start = estimates.reindex(names).to_numpy(dtype=float)
    reference = np.sign(start[slopes])
    n = len(outcome)
    rng = np.random.default_rng([seed, STABILITY_STREAM])
    probabilities = np.full(n, 1 / n)
    same_sign = np.zeros(len(slopes))
    significant = np.zeros(len(slopes))
    usable = 0
    batch = max(1, BATCH_CELLS // max(n, 1)) if not penalized else 1
    pairs = None if penalized else _column_pairs(x)
    # Products of a few columns: BLAS threads would wait for each other more than they help.
    with threadpool_limits(limits=1, user_api="blas"):
        for first in range(0, refits, batch):
            # A batch of draws is the same draws, in the same order, as one draw per refit.
            weights = rng.multinomial(n, probabilities, size=min(batch, refits - first)).astype(float)
            if penalized:
                beta, se, converged = _firth_refits(x, outcome, weights, start)
            else:
                beta, se, converged = _newton_refits(x, outcome, weights, start, pairs)
            beta, se = beta[converged][:, slopes], se[converged][:, slopes]
            p_values = 2 * stats.norm.sf(np.abs(beta / se))
            for row in range(len(beta)):
                significant += holm(p_values[row]) < alpha
            same_sign += (np.sign(beta) == reference).sum(axis=0)
            usable += len(beta)
    shares = (lambda counts: counts / usable) if usable else (lambda counts: np.full(len(slopes), np.nan))
    return pd.DataFrame(
        {
            "name": [names[j] for j in slopes],
            "same_sign": shares(same_sign),
            "significant": shares(significant),
            "refits": usable,
        }
    )


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of p-values (family-wise error across the given tests).

    Sorted ascending, the ``i``-th smallest p-value (from 0) becomes
    ``max over j <= i of min(1, (m - j) p_(j))``, returned in the input order (as
    statsmodels' ``multipletests(method="holm")``, without its per-call overhead).
    """
    p_values = np.asarray(p_values, dtype=float)
    m = len(p_values)
    if m == 0:
        return p_values
    order = np.argsort(p_values, kind="stable")
    stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p_values[order]))
    adjusted = np.empty(m)
    adjusted[order] = stepped
    return adjusted


def _firth_refits(x: np.ndarray, y: np.ndarray, weights: np.ndarray, start: np.ndarray):
    """Firth refits, one per row of ``weights``: as :func:`_newton_refits` returns them."""
    beta, se = np.full((len(weights), x.shape[1]), np.nan), np.full((len(weights), x.shape[1]), np.nan)
    converged = np.zeros(len(weights), dtype=bool)
    for k, w in enumerate(weights):
        fit = firth(x, y, w, start=start)
        if fit.converged:
            beta[k], se[k], converged[k] = fit.beta, fit.se, True
    return beta, se, converged


def _column_pairs(x: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """The products ``x_a x_b`` of every pair of columns ``a <= b`` (rows × pairs), and ``a`` and ``b``.

    The information ``Xᵀ diag(v) X`` of any row weighting ``v`` is ``v @ products``,
    read back into the symmetric ``p × p`` matrix. The products are ``None`` when they
    would take more than ``PAIR_PRODUCT_BYTES``: each block of rows then makes its own.
    """
    first, second = np.triu_indices(x.shape[1])
    if x.shape[0] * len(first) * 8 > PAIR_PRODUCT_BYTES:
        return None, first, second
    return x[:, first] * x[:, second], first, second


def _newton_refits(x: np.ndarray, y: np.ndarray, weights: np.ndarray, start: np.ndarray, pairs=None):
    """Weighted maximum-likelihood refits by Newton's method, one per row of ``weights``, side by side.

    Each refit runs as alone: from ``start``, ``β ← β + I(β)⁻¹ Xᵀ w(y - μ)`` until no
    coefficient changes by ``NEWTON_TOLERANCE`` or more (at most ``NEWTON_MAX_ITER``
    steps); its standard errors are those of the information at the last ``β``. A refit
    whose information cannot be solved, or which does not settle, is not converged.

    Returns
    -------
    tuple of ndarray
        Coefficients and standard errors (refits × columns; NaN where not converged) and
        whether each refit converged.
    """
    pairs = _column_pairs(x) if pairs is None else pairs
    refits, p = len(weights), x.shape[1]
    beta = np.tile(np.asarray(start, dtype=float), (refits, 1))
    se = np.full((refits, p), np.nan)
    converged = np.zeros(refits, dtype=bool)
    # The refits still iterating, or settled (last step below the tolerance) and waiting
    # for the information at their last coefficients; ``weights`` keeps their rows only.
    live = np.arange(refits)
    settled = np.zeros(refits, dtype=bool)
    for steps in range(NEWTON_MAX_ITER + 1):
        if len(live) == 0:
            break
        done = settled[live]
        going = ~done if steps < NEWTON_MAX_ITER else np.zeros(len(live), dtype=bool)
        information, gradient = _information_and_gradient(x, y, weights, beta[live], going, pairs)
        if done.any():
            se[live[done]] = np.sqrt(np.diagonal(np.linalg.inv(information[done]), axis1=1, axis2=2))
            converged[live[done]] = True
        step, solved = _solve(information[going], gradient[going])
        keep = going.copy()
        keep[going] = solved
        if not keep.all():  # gathered once when refits drop out, not per block of rows
            live, weights = live[keep], weights[keep]
        beta[live] += step[solved]
        settled[live] = np.max(np.abs(step[solved]), axis=1) < NEWTON_TOLERANCE
    beta[~converged] = np.nan
    return beta, se, converged


def _information_and_gradient(x, y, weights, beta, going, pairs):
    """The information ``Xᵀ diag(w μ(1 - μ)) X`` of each refit, and the gradient ``Xᵀ w(y - μ)`` of those ``going``.

    A row of ``beta`` and of ``weights`` per refit. Summed over blocks of rows small
    enough that the refits' ``μ`` and IRLS weights stay in cache between the passes over
    them.
    """
    products, first, second = pairs
    refits, p = beta.shape
    upper = np.zeros((refits, len(first)))
    gradient = np.zeros((refits, p))
    every = bool(going.all())
    block = max(1, BLOCK_CELLS // max(refits, 1))
    for begin in range(0, len(y), block):
        rows = slice(begin, begin + block)
        mu = beta @ x[rows].T
        np.negative(mu, out=mu)
        with np.errstate(over="ignore"):  # exp(-η) = inf for η < -709: μ = 1 / (1 + inf) = 0, its limit
            np.exp(mu, out=mu)
        mu += 1.0
        np.reciprocal(mu, out=mu)
        w = weights[:, rows]
        variance = np.subtract(1.0, mu)
        variance *= mu
        variance *= w
        upper += variance @ (products[rows] if products is not None else x[rows][:, first] * x[rows][:, second])
        if every:
            residual = np.subtract(y[rows], mu, out=mu)
            residual *= w
            gradient += residual @ x[rows]
        elif going.any():
            residual = y[rows] - mu[going]
            residual *= w[going]
            gradient[going] += residual @ x[rows]
    information = np.empty((refits, p, p))
    information[:, first, second] = upper
    information[:, second, first] = upper
    return information, gradient


def _solve(matrices: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``matrix⁻¹ vector`` for each pair, and which could be solved (a singular matrix cannot)."""
    try:
        return np.linalg.solve(matrices, vectors[..., None])[..., 0], np.ones(len(vectors), dtype=bool)
    except np.linalg.LinAlgError:
        steps, solved = np.zeros_like(vectors), np.ones(len(vectors), dtype=bool)
        for k in range(len(vectors)):
            try:
                steps[k] = np.linalg.solve(matrices[k], vectors[k])
            except np.linalg.LinAlgError:
                solved[k] = False
        return steps, solved
