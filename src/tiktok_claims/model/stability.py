"""How stable each association is: bootstrap refits of the inference model.

A finding that holds only for this sample of videos is not worth reporting. Each
bootstrap refit draws every used row with replacement (as multinomial frequency weights,
so no rows are copied), refits the same model (maximum likelihood by Newton's method, or
Firth's penalized likelihood when the main fit used it), and records for each term
whether its sign matches the full-data estimate and whether it is significant after
Holm's adjustment across the model's terms (Wald tests, from the refit's information).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from .firth import firth

NEWTON_MAX_ITER = 50
NEWTON_TOLERANCE = 1e-10
# A stream of its own, so that the refits never mirror other draws from the same seed.
STABILITY_STREAM = 11


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
    reference = np.sign(estimates.reindex(names).to_numpy()[slopes])
    rng = np.random.default_rng([seed, STABILITY_STREAM])
    same_sign = np.zeros(len(slopes))
    significant = np.zeros(len(slopes))
    usable = 0
    for _ in range(refits):
        weights = rng.multinomial(len(outcome), np.full(len(outcome), 1 / len(outcome))).astype(float)
        fitted = _refit(x, outcome, weights, penalized, start=estimates.reindex(names).to_numpy())
        if fitted is None:
            continue
        beta, se = fitted
        p_values = 2 * stats.norm.sf(np.abs(beta[slopes] / se[slopes]))
        adjusted = holm(p_values)
        same_sign += np.sign(beta[slopes]) == reference
        significant += adjusted < alpha
        usable += 1
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


def _refit(x: np.ndarray, y: np.ndarray, weights: np.ndarray, penalized: bool, start: np.ndarray):
    """(coefficients, Wald standard errors) of one weighted refit, or ``None`` if it failed."""
    if penalized:
        result = firth(x, y, weights, start=start)
        return (result.beta, result.se) if result.converged else None
    beta = start.copy()
    for _ in range(NEWTON_MAX_ITER):
        p = expit(x @ beta)
        information = x.T @ (x * (weights * p * (1 - p))[:, None])
        try:
            step = np.linalg.solve(information, x.T @ (weights * (y - p)))
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if np.max(np.abs(step)) < NEWTON_TOLERANCE:
            p = expit(x @ beta)
            information = x.T @ (x * (weights * p * (1 - p))[:, None])
            return beta, np.sqrt(np.diag(np.linalg.inv(information)))
    return None
