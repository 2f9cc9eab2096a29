"""The statistics behind the logistic checklist, each a function of the data or a fitted model.

Box-Tidwell linearity, binned empirical logits, influence (Cook's distance, leverage,
refit without the influential rows), Hosmer-Lemeshow and events per variable.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy.stats import chi2
from statsmodels.discrete.discrete_model import Logit
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationWarning,
)

from ..errors import AnalysisError
from ..model.features import FeatureSpec, as_entered
from ..model.separation import detect_separation
from .check import ALPHA

# Cook's distance above COOKS_MULTIPLIER / n marks a row as influential.
COOKS_MULTIPLIER = 4.0
# The refit leaves out the influential rows, but never more than this share of the
# smaller class's rows (relative to the events, so that the refit never removes enough
# of them to decide the result by itself).
REFIT_MAX_EVENT_SHARE = 0.02
HL_GROUPS = 10
EMPIRICAL_LOGIT_BINS = 10
# Box-Tidwell curvature is measured between these percentiles of each predictor.
CURVATURE_RANGE = (1.0, 99.0)
NEWTON_MAX_ITER = 100
# Warnings that make a statsmodels fit unusable for a refit.
FIT_WARNINGS = (ConvergenceWarning, HessianInversionWarning, PerfectSeparationWarning, RuntimeWarning)


def box_tidwell(rows: pd.DataFrame, spec: FeatureSpec, design: pd.DataFrame, y: pd.Series) -> pd.DataFrame:
    """Box-Tidwell test of linearity in the log-odds for every continuous predictor.

    One Logit with the model's predictors on their raw scale plus ``(x + s)·ln(x + s)``
    for each continuous predictor ``x`` (``s = 1 - min(x)`` when ``x`` has zeros or
    negative values, else 0), all terms at once. A term's Wald test asks whether the
    log-odds bend with ``x``; Bonferroni adjusts across predictors. ``x`` is the
    predictor as it enters the model: ``log1p(count)`` for the columns in
    ``spec.log1p`` (``transform`` says which), so the test asks whether the remedy
    straightened the log-odds.

    Each column is centred and scaled before the fit: with an intercept in the model
    this changes no Wald z of any term, and it keeps Newton's method stable on counts
    of a million. ``coef`` and ``se`` are reported per raw unit of ``(x + s)·ln(x + s)``.
    ``curvature`` is the magnitude: the largest gap, in log-odds, between the fitted
    curve and the straight line joining its ends between the 1st and 99th percentiles
    of ``x``.

    Returns
    -------
    DataFrame
        ``predictor, transform, shift, coef, se, z, p_value, p_adjusted, curvature``
        (``transform`` is ``"log1p"``, ``"log"`` or ``"none"``); empty when there are no
        continuous predictors.
    """
    columns = ["predictor", "transform", "shift", "coef", "se", "z", "p_value", "p_adjusted", "curvature"]
    continuous = list(spec.continuous)
    if not continuous:
        return pd.DataFrame(columns=columns)
    raw = spec.entered(rows.loc[design.index])
    shifts = {c: (1.0 - float(raw[c].min())) if raw[c].min() <= 0 else 0.0 for c in continuous}
    terms = pd.DataFrame({f"{c}_xlnx": _xlnx(raw[c] + shifts[c]) for c in continuous}, index=design.index)
    others = design.drop(columns=["const", *continuous])
    full = pd.concat([raw, others, terms], axis=1)
    spread = full.std(ddof=0)
    constant = spread[spread == 0].index.tolist()
    if constant:
        raise AnalysisError(f"Box-Tidwell: {', '.join(constant)} take a single value in the rows fitted.")
    standardized = (full - full.mean()) / spread
    standardized.insert(0, "const", 1.0)
    result, usable = _fit_logit(y, standardized)
    rows = []
    for c in continuous:
        term = f"{c}_xlnx"
        scale = float(spread[term])
        coef = float(result.params[term]) / scale if usable else math.nan
        se = float(result.bse[term]) / scale if usable else math.nan
        p_value = float(result.pvalues[term]) if usable else math.nan
        rows.append(
            {
                "predictor": c,
                "transform": spec.transform_of(c),
                "shift": shifts[c],
                "coef": coef,
                "se": se,
                "z": float(result.tvalues[term]) if usable else math.nan,
                "p_value": p_value,
                "p_adjusted": float(np.minimum(1.0, p_value * len(continuous))),
                "curvature": abs(coef) * _chord_gap(raw[c].to_numpy() + shifts[c]),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _xlnx(x: pd.Series) -> pd.Series:
    return x * np.log(x)


def _chord_gap(x: np.ndarray) -> float:
    """Largest gap between x·ln(x) and its chord over the CURVATURE_RANGE percentiles of x."""
    low, high = np.percentile(x, CURVATURE_RANGE)
    if high <= low:
        return 0.0
    grid = np.linspace(low, high, 201)
    curve = grid * np.log(grid)
    chord = curve[0] + (curve[-1] - curve[0]) * (grid - low) / (high - low)
    return float(np.max(chord - curve))


def empirical_logits(
    rows: pd.DataFrame, y: pd.Series, continuous, p_hat: np.ndarray, bins: int = EMPIRICAL_LOGIT_BINS, log1p=(), log=()
) -> pd.DataFrame:
    """Observed log-odds per decile of each continuous predictor, beside the model's.

    ``logit = ln((events + 0.5) / (n - events + 0.5))`` (the 0.5 keeps empty classes
    finite); ``model_logit`` is the log-odds of the mean fitted probability in the bin.
    Tied values (e.g. many zero counts) merge deciles, so a predictor can have fewer bins.
    ``x_low, x_high, x_mean`` are in the predictor's own units; ``x_entered_mean`` is the
    bin's mean of the predictor as it enters the model (``log1p(x)`` for the columns in
    ``log1p``, whose deciles are the same), against which a linear model's log-odds are
    a straight line.

    Returns
    -------
    DataFrame
        ``predictor, bin, n, events, x_low, x_high, x_mean, x_entered_mean, logit, model_logit``.
    """
    frames = []
    for column in continuous:
        x = rows.loc[y.index, column].astype(float)
        codes = pd.qcut(x, bins, labels=False, duplicates="drop")
        entered = as_entered(rows.loc[y.index], [column], log1p, log)[column]
        grouped = pd.DataFrame(
            {"x": x, "entered": entered, "y": y, "p": np.asarray(p_hat, dtype=float), "bin": codes}
        ).groupby("bin")
        table = grouped.agg(
            n=("y", "size"), events=("y", "sum"), x_low=("x", "min"), x_high=("x", "max"),
            x_mean=("x", "mean"), x_entered_mean=("entered", "mean"), p_mean=("p", "mean"),
        ).reset_index()
        table["logit"] = np.log((table["events"] + 0.5) / (table["n"] - table["events"] + 0.5))
        table["model_logit"] = np.log(table["p_mean"] / (1 - table["p_mean"]))
        frames.append(table.drop(columns="p_mean").assign(predictor=column))
    columns = ["predictor", "bin", "n", "events", "x_low", "x_high", "x_mean", "x_entered_mean", "logit", "model_logit"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def influence_table(design: pd.DataFrame, y: pd.Series, inference) -> pd.DataFrame:
    """Cook's distance, leverage and standardized Pearson residual of every row.

    From statsmodels' ``GLM(Binomial).get_influence()`` on the inference model's
    design, started at its estimates (the same maximum-likelihood fit):
    ``std_resid = (y - p) / sqrt(p (1 - p) (1 - h))`` and
    ``cooks_d = std_resid² h / (k (1 - h))`` with ``k`` parameters.

    Returns
    -------
    DataFrame
        ``row, y, p_hat, cooks_d, leverage, std_resid``; ``row`` is the
        frame's index label (the source line).
    """
    glm = GLM(y.to_numpy(dtype=float), design.to_numpy(), family=families.Binomial())
    with warnings.catch_warnings():
        # Under near separation some fitted probabilities are 0 or 1 to machine
        # precision: statsmodels flags perfect prediction and divides zero by zero, and
        # those rows' residuals and distances come out as 0, their limits.
        for category in _statsmodels_fit_warnings():
            warnings.simplefilter("ignore", category=category)
        result = glm.fit(start_params=np.asarray(inference.params, dtype=float))
        # The expected information (weights p(1-p)) equals the observed one for the
        # logit link and stays finite when a fitted probability is exactly 0 or 1.
        influence = result.get_influence(observed=False)
        cooks_d = np.asarray(influence.cooks_distance[0])
        leverage = np.asarray(influence.hat_matrix_diag)
        std_resid = np.asarray(influence.resid_studentized)
    return pd.DataFrame(
        {
            "row": design.index.to_numpy(),
            "y": y.to_numpy(),
            "p_hat": np.asarray(result.fittedvalues),
            "cooks_d": cooks_d,
            "leverage": leverage,
            "std_resid": std_resid,
        }
    )


def refit_without_influential(
    design: pd.DataFrame, y: pd.Series, inference, cooks_d: np.ndarray
) -> tuple[pd.DataFrame, str]:
    """Refit the Logit without the rows whose Cook's distance exceeds 4/n.

    At most ``REFIT_MAX_EVENT_SHARE`` of the smaller class's row count (the rows with
    the largest distance) are left out. Each coefficient's shift is measured in its original standard errors; a sign
    change counts only for coefficients significant at ``ALPHA`` in the original fit.

    Returns
    -------
    (DataFrame, str)
        ``name, coef, se, coef_refit, shift_se, sign_change`` (empty when no row
        exceeds the threshold or the refit failed) and a sentence on what was done.
    """
    columns = ["name", "coef", "se", "coef_refit", "shift_se", "sign_change"]
    n = len(design)
    limit = COOKS_MULTIPLIER / n
    above = int(np.sum(cooks_d > limit))
    if above == 0:
        return pd.DataFrame(columns=columns), f"No row has Cook's distance above 4/n = {limit:.2g}."
    smaller_class = int(min(y.sum(), n - y.sum()))
    leave_out = min(above, max(1, math.floor(REFIT_MAX_EVENT_SHARE * smaller_class)))
    order = np.argsort(-cooks_d, kind="stable")
    keep = np.ones(n, dtype=bool)
    keep[order[:leave_out]] = False
    left_out = (
        f"{leave_out} rows" if leave_out == above else f"the {leave_out} most influential of those {above} rows"
    )
    events = int(y.to_numpy()[~keep].sum())
    left_out += f" ({events} of them events)"
    result, usable = _fit_logit(y[keep], design[keep], start=np.asarray(inference.params, dtype=float))
    if not usable:
        separated = detect_separation(design[keep], y[keep])
        if separated.infinite:
            several = len(separated.infinite) > 1
            note = (
                f"Leaving out {left_out} separates the classes: the estimate"
                f"{'s' if several else ''} of {', '.join(separated.infinite)} "
                f"{'become' if several else 'becomes'} infinite, so {'they rest' if several else 'it rests'} "
                "on those rows."
            )
        else:
            note = f"The refit without {left_out} did not converge."
        return pd.DataFrame(columns=columns), note
    coef, se = inference.params, inference.bse
    shift = (result.params - coef) / se
    significant = inference.pvalues < ALPHA
    table = pd.DataFrame(
        {
            "name": coef.index,
            "coef": coef.to_numpy(),
            "se": se.to_numpy(),
            "coef_refit": result.params.to_numpy(),
            "shift_se": shift.to_numpy(),
            "sign_change": (significant & (np.sign(result.params) != np.sign(coef))).to_numpy(),
        }
    )
    return table, f"{above} rows have Cook's distance above 4/n = {limit:.2g}; the refit leaves out {left_out}."


def hosmer_lemeshow(
    y: np.ndarray, p_hat: np.ndarray, groups: int = HL_GROUPS
) -> tuple[pd.DataFrame, float, int, float]:
    """Hosmer-Lemeshow test over groups cut at the deciles of the predicted probability.

    ``chi² = Σ (O - E)² / (E (1 - E / n))`` over groups, with ``groups - 2`` degrees of
    freedom. Groups are ``pandas.qcut`` intervals (right-closed); tied probabilities
    can merge groups, and the degrees of freedom follow the groups actually formed.

    Returns
    -------
    (DataFrame, float, int, float)
        ``group, n, p_mean, observed, expected``; the statistic; degrees of freedom;
        p-value (NaN, with 0 degrees of freedom, when fewer than 3 groups form: a
        model that predicts only one or two probabilities leaves nothing to test).
    """
    y = np.asarray(y, dtype=float)
    p_hat = np.asarray(p_hat, dtype=float)
    codes = pd.qcut(p_hat, groups, labels=False, duplicates="drop")
    table = (
        pd.DataFrame({"group": codes, "y": y, "p": p_hat})
        .groupby("group")
        .agg(n=("y", "size"), p_mean=("p", "mean"), observed=("y", "sum"), expected=("p", "sum"))
        .reset_index()
    )
    formed = len(table)
    expected = table["expected"].to_numpy()
    statistic = float(np.sum((table["observed"] - expected) ** 2 / (expected * (1 - expected / table["n"]))))
    if formed < 3:  # a model that predicts one or two probabilities (one binary predictor): no degrees of freedom
        return table, statistic, 0, math.nan
    df = formed - 2
    return table, statistic, df, float(chi2.sf(statistic, df))


def events_per_variable(y: pd.Series, parameters: int) -> float:
    """Events per variable: the smaller class's count over the parameters besides the intercept."""
    if parameters < 1:
        raise ValueError(f"events per variable needs at least one parameter besides the intercept; got {parameters}.")
    counts = np.bincount(np.asarray(y, dtype="int64"), minlength=2)
    return float(counts.min()) / parameters


def _statsmodels_fit_warnings() -> tuple[type[Warning], ...]:
    return (ConvergenceWarning, HessianInversionWarning, PerfectSeparationWarning, RuntimeWarning)


def _fit_logit(y: pd.Series, x: pd.DataFrame, start: np.ndarray | None = None):
    """Newton Logit fit; ``usable`` is False when it failed, did not converge or warned."""
    with warnings.catch_warnings(record=True) as caught:
        for category in _statsmodels_fit_warnings():
            warnings.simplefilter("always", category=category)
        try:
            result = Logit(y.astype(float), x).fit(
                method="newton", maxiter=NEWTON_MAX_ITER, disp=False, start_params=start
            )
        except np.linalg.LinAlgError:
            return None, False
    warned = any(issubclass(w.category, _statsmodels_fit_warnings()) for w in caught)
    usable = bool(result.mle_retvals["converged"]) and not warned and bool(np.all(np.isfinite(result.bse)))
    return result, usable
