"""The logistic regression's checklist: each assumption with its number, verdict and remedy.

:func:`check_logistic` runs every check on a fitted inference model (outcome,
independence, multicollinearity, linearity, influence, events per variable, separation,
goodness of fit, pseudo-R², likelihood-ratio test) and returns them with the tidy tables
a report plots. The statistics behind the checks are in
:mod:`tiktok_claims.diagnostics.statistics`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import config
from ..eda import duplicates
from ..errors import AnalysisError
from ..model.features import FeatureSpec
from ..model.separation import NEAR_SEPARATION_SHARE, Separation, detect_separation
from .check import ALPHA, Check, vif_check
from .statistics import (
    COOKS_MULTIPLIER,
    REFIT_MAX_EVENT_SHARE,
    box_tidwell,
    empirical_logits,
    events_per_variable,
    hosmer_lemeshow,
    influence_table,
    refit_without_influential,
)

EVENTS_CHECK = "Events per variable"
EPV_FAIL = 10.0
EPV_WARN = 20.0
TOP_INFLUENTIAL = 10
# McFadden (1979): values of 0.2 to 0.4 represent an excellent fit.
PSEUDO_R2_WARN = 0.1
# Far above McFadden's "excellent" range, a pseudo-R² speaks of separation, not fit.
PSEUDO_R2_SEPARATION = 0.6


@dataclass(frozen=True)
class LogisticChecks:
    """The checklist of one fitted logistic regression and the tables behind it.

    Attributes
    ----------
    checks : list of Check
        In reading order: outcome, independence, multicollinearity, linearity,
        influence, events per variable, separation, Hosmer-Lemeshow, McFadden
        pseudo-R², likelihood-ratio test.
    vif : DataFrame
        ``feature, vif`` of the final design.
    box_tidwell : DataFrame
        ``predictor, shift, coef, se, z, p_value, p_adjusted, curvature`` per continuous
        predictor.
    empirical_logit : DataFrame
        ``predictor, bin, n, events, x_low, x_high, x_mean, logit, model_logit``.
    influence : DataFrame
        ``row, video_id, y, p_hat, cooks_d, leverage, std_resid`` for every row the model was fitted on.
    influential : DataFrame
        The ``TOP_INFLUENTIAL`` rows of ``influence`` with the largest Cook's distance.
    refit_shift : DataFrame
        ``name, coef, se, coef_refit, shift_se, sign_change`` after leaving out the
        influential rows (empty when none exceeds the threshold or the refit failed).
    hosmer_lemeshow : DataFrame
        ``group, n, p_mean, observed, expected`` per decile of predicted probability.
    separation : Separation
    """

    checks: list[Check]
    vif: pd.DataFrame = field(repr=False)
    box_tidwell: pd.DataFrame = field(repr=False)
    empirical_logit: pd.DataFrame = field(repr=False)
    influence: pd.DataFrame = field(repr=False)
    influential: pd.DataFrame = field(repr=False)
    refit_shift: pd.DataFrame = field(repr=False)
    hosmer_lemeshow: pd.DataFrame = field(repr=False)
    separation: Separation = field(repr=False)
    raw_box_tidwell: pd.DataFrame | None = field(repr=False, default=None)
    """With the log1p remedy applied: Box-Tidwell on the counts as they are (was the remedy needed?)."""

    def records(self) -> list[dict]:
        """The checklist as JSON-safe dicts (for ``metrics.json``)."""
        return [check.to_record() for check in self.checks]


def check_logistic(
    rows: pd.DataFrame, y: pd.Series, spec: FeatureSpec, inference, separation: Separation | None = None
) -> LogisticChecks:
    """Run the logistic-regression checklist on a fitted inference model.

    Parameters
    ----------
    rows : DataFrame
        The rows the inference model was fitted on (every used row), with every column
        of the schema.
    y : Series
        The 0/1 target of ``rows`` (1 = positive class).
    spec : FeatureSpec
        The predictors the model uses.
    inference : statsmodels LogitResults
        The unweighted Logit fitted on the standardized design with a constant
        (``Inference.result``); its design matrix is reused for every check.
        Under separation it is the Firth fit (:class:`tiktok_claims.model.firth.FirthInference`).
    separation : Separation, optional
        The result of :func:`detect_separation` on the same design, when the caller
        has it already (``Inference.separation``); computed here otherwise.

    Returns
    -------
    LogisticChecks

    Examples
    --------
    >>> spec = select_features(train, "verified_status")  # doctest: +SKIP
    >>> inference = fit_inference(frame, y, spec)  # doctest: +SKIP
    >>> checks = check_logistic(frame, y, spec, inference.result)  # doctest: +SKIP
    >>> [(c.name, c.verdict) for c in checks.checks]  # doctest: +SKIP
    """
    design = _design_of(inference, rows.index)
    y = y.loc[design.index].astype("int64")
    if not np.array_equal(y.to_numpy(), np.asarray(inference.model.endog, dtype="int64")):
        raise AnalysisError("y does not match the outcome the inference model was fitted on.")

    vif = spec.vif(rows)
    box_tidwell_table = box_tidwell(rows, spec, design, y)
    # With the log1p remedy applied, the same test on the counts as they are says whether it was needed.
    logged = set(spec.log1p) & set(spec.continuous)
    raw_box_tidwell = box_tidwell(rows, dataclasses.replace(spec, log1p=()), design, y) if logged else None
    influence = influence_table(design, y, inference)
    influence.insert(1, config.VIDEO_ID, rows.loc[design.index, config.VIDEO_ID].to_numpy())
    influential = influence.nlargest(TOP_INFLUENTIAL, "cooks_d").reset_index(drop=True)
    refit_shift, refit_note = refit_without_influential(design, y, inference, influence["cooks_d"].to_numpy())
    p_hat = np.asarray(inference.predict(design), dtype=float)
    hl_table, hl_statistic, hl_df, hl_p = hosmer_lemeshow(y.to_numpy(), p_hat)
    separation = detect_separation(design, y) if separation is None else separation

    checks = [
        _outcome_check(rows[spec.target], y),
        _independence_check(rows),
        vif_check(vif, spec),
        _linearity_check(box_tidwell_table, raw_box_tidwell),
        _influence_check(influence, refit_shift, refit_note),
        _epv_check(y, design),
        _separation_check(separation),
        _hosmer_lemeshow_check(hl_table, hl_statistic, hl_df, hl_p),
        _pseudo_r2_check(inference),
        _likelihood_ratio_check(inference),
    ]
    return LogisticChecks(
        checks=checks,
        vif=vif,
        box_tidwell=box_tidwell_table,
        empirical_logit=empirical_logits(rows, y, spec.continuous, p_hat, log1p=spec.log1p, log=spec.log),
        influence=influence,
        influential=influential,
        refit_shift=refit_shift,
        hosmer_lemeshow=hl_table,
        separation=separation,
        raw_box_tidwell=raw_box_tidwell,
    )


def _design_of(inference, index: pd.Index) -> pd.DataFrame:
    design = pd.DataFrame(
        np.asarray(inference.model.exog, dtype=float),
        index=inference.model.data.row_labels,
        columns=list(inference.model.exog_names),
    )
    if "const" not in design.columns:
        raise AnalysisError("the inference model has no 'const' column; fit it on a design with a constant.")
    if not design.index.equals(index):
        raise AnalysisError(
            f"the inference model was fitted on {len(design)} rows that are not the {len(index)} rows given."
        )
    return design


def _outcome_check(values: pd.Series, y: pd.Series) -> Check:
    levels = sorted(values.dropna().astype(str).unique())
    counts = np.bincount(y.to_numpy(), minlength=2)
    binary = len(levels) == 2 and counts.min() > 0
    return Check(
        name="Outcome is binary",
        statistic=float(len(levels)),
        p_value=None,
        threshold="distinct outcome values: exactly 2, both present in the rows fitted",
        verdict="pass" if binary else "fail",
        consequence=(
            f"'{values.name}' takes {len(levels)} values ({', '.join(repr(v) for v in levels)}) with "
            f"{counts[1]:,} positive and {counts[0]:,} negative rows, so a binomial model "
            + ("applies." if binary else "does not apply.")
        ),
        remedy="None needed." if binary else "Choose a model for the outcome's type (multinomial, ordinal, count or linear).",
        details=pd.DataFrame({"level": ["0", "1"], "count": counts}),
    )


def _independence_check(rows: pd.DataFrame) -> Check:
    table = duplicates(rows)
    total = int(table["count"].sum())
    found = "; ".join(f"{row.check}: {row.count:,}" for row in table.itertuples(index=False))
    return Check(
        name="Independence of observations",
        statistic=float(total),
        p_value=None,
        threshold="duplicate rows, video ids and transcripts in the rows fitted: warn if any",
        verdict="warn" if total else "pass",
        consequence=(
            f"Rows fitted: {found}; repeated authors cannot be checked because the data have no "
            "author id, so several videos from one account count as independent evidence and the "
            "standard errors may be too small."
        ),
        remedy=(
            "Remove exact duplicates and, with an author id, use cluster-robust standard errors by author."
            if total
            else "With an author id, use cluster-robust standard errors by author."
        ),
        details=table,
    )


def _linearity_check(table: pd.DataFrame, raw_table: pd.DataFrame | None = None) -> Check:
    """Box-Tidwell; with the log1p remedy applied, ``raw_table`` is the same test on the raw counts."""
    threshold = f"smallest Bonferroni-adjusted Box-Tidwell p (over {len(table)} predictors): warn < {ALPHA:g}"
    remedy = "Refit with log1p-transformed counts (--transform log1p) or splines and compare the fits."
    if (table["transform"] == "log1p").any():
        remedy = "The counts already enter as log1p(count); model the remaining bend with splines and compare the fits."
    unneeded = ""
    if raw_table is not None and not raw_table.empty and raw_table["p_adjusted"].notna().all():
        raw_p = float(raw_table["p_adjusted"].min())
        if raw_p >= ALPHA:
            unneeded = (
                f" On the raw counts linearity already held (smallest adjusted p = {raw_p:.3g}), so the log1p "
                "transform was not needed: compare the fits before keeping it."
            )
    if table.empty:
        return Check("Linearity of the log-odds (Box-Tidwell)", None, None, threshold, "pass",
                     "The model has no continuous predictor, so there is no linearity to check.", "None needed.", table)
    if table["p_value"].isna().any():
        return Check(
            "Linearity of the log-odds (Box-Tidwell)", None, None, threshold, "warn",
            "The Box-Tidwell model could not be fitted (its information matrix became singular or Newton's method "
            "did not converge, as when the classes nearly separate), so linearity was not tested; see the binned "
            "empirical logits.",
            remedy, table,
        )
    flagged = table[table["p_adjusted"] < ALPHA]
    smallest = float(table["p_adjusted"].min())
    if flagged.empty:
        consequence = (
            f"No continuous predictor bends the log-odds detectably (largest curvature "
            f"{table['curvature'].max():.2f} log-odds), so one odds ratio per unit describes each."
        )
    else:
        bends = ", ".join(
            f"{f'log1p({r.predictor})' if r.transform == 'log1p' else r.predictor} ({r.curvature:.2f})"
            for r in flagged.itertuples(index=False)
        )
        consequence = (
            f"The log-odds bend with {bends} (curvature: largest gap from a straight line, in log-odds, "
            "between the 1st and 99th percentiles), so a single odds ratio per unit averages over a curved effect."
        )
    return Check(
        name="Linearity of the log-odds (Box-Tidwell)",
        statistic=float(table["z"].abs().max()),
        p_value=smallest,
        threshold=threshold + "; statistic: largest |z| of the x·ln(x) terms",
        verdict="warn" if not flagged.empty else "pass",
        consequence=consequence + unneeded,
        remedy=remedy if not flagged.empty else ("Refit without --transform log1p." if unneeded else "None needed."),
        details=table,
    )


def _influence_check(influence: pd.DataFrame, refit_shift: pd.DataFrame, note: str) -> Check:
    n = len(influence)
    limit = COOKS_MULTIPLIER / n
    above = int((influence["cooks_d"] > limit).sum())
    largest = float(influence["cooks_d"].max())
    threshold = (
        f"Cook's distance > 4/n = {limit:.2g} marks a row; refit without them (at most "
        f"{REFIT_MAX_EVENT_SHARE:.0%} of the smaller class's rows): warn if a coefficient moves > 1 SE or a "
        "significant one changes sign"
    )
    if refit_shift.empty:
        verdict = "warn" if above else "pass"
        moved = note
    else:
        worst = refit_shift.loc[refit_shift["shift_se"].abs().idxmax()]
        flips = refit_shift.loc[refit_shift["sign_change"], "name"].tolist()
        verdict = "warn" if abs(worst["shift_se"]) > 1 or flips else "pass"
        moved = (
            f"{note} The largest move is {worst['shift_se']:+.2f} standard errors ({worst['name']})"
            + (f"; {', '.join(flips)} change sign." if flips else ".")
        )
    return Check(
        name="Influential observations",
        statistic=largest,
        p_value=None,
        threshold=threshold + "; statistic: largest Cook's distance",
        verdict=verdict,
        consequence=moved,
        remedy=(
            "Inspect the listed videos for data errors and report the results with and without them."
            if verdict == "warn" else "None needed."
        ),
        details=refit_shift,
    )


def _epv_check(y: pd.Series, design: pd.DataFrame) -> Check:
    parameters = design.shape[1] - 1
    epv = events_per_variable(y, parameters)
    counts = np.bincount(y.to_numpy(), minlength=2)
    verdict = "fail" if epv < EPV_FAIL else "warn" if epv < EPV_WARN else "pass"
    return Check(
        name=EVENTS_CHECK,
        statistic=epv,
        p_value=None,
        threshold=f"smaller class count / parameters besides the intercept: fail < {EPV_FAIL:g}, warn < {EPV_WARN:g}",
        verdict=verdict,
        consequence=(
            f"The smaller class has {counts.min():,} rows for {parameters} parameters "
            f"({epv:.1f} per parameter), "
            + ("enough for stable estimates." if verdict == "pass"
               else "too few for stable estimates: coefficients are biased away from zero and intervals too narrow.")
        ),
        remedy="None needed." if verdict == "pass" else "Use fewer predictors or a penalized (Firth) fit.",
        details=pd.DataFrame({"level": ["0", "1"], "count": counts}),
    )


def _separation_check(separation: Separation) -> Check:
    share = separation.misclassified_share
    threshold = (
        "linear programs on the design: fail if complete, warn if quasi-complete or if a linear rule "
        f"misclassifies < {NEAR_SEPARATION_SHARE:.0%} of rows; statistic: share misclassified by that rule"
    )
    infinite = ", ".join(separation.infinite)
    consequences = {
        "complete": "A linear rule classifies every row correctly, so the maximum-likelihood "
        "estimates are infinite and the Logit's coefficients, standard errors and p-values are meaningless.",
        "quasi-complete": f"A direction in the predictors separates the classes except for rows on its boundary, "
        f"so the estimates of {infinite} are infinite and their standard errors meaningless.",
        "near": f"A linear rule led by {separation.leading_predictor} puts only {separation.misclassified:,} "
        f"of {separation.n:,} rows ({share:.1%}) on the wrong side, so the estimates rest on those rows: "
        "coefficients are very large and standard errors and Wald p-values unreliable.",
        "none": f"The classes overlap ({separation.misclassified:,} rows, {share:.0%}, lie on the wrong side "
        "of a class-balanced linear rule), so the maximum-likelihood estimates exist and are finite.",
    }
    return Check(
        name="Separation",
        statistic=share,
        p_value=None,
        threshold=threshold,
        verdict={"complete": "fail", "quasi-complete": "warn", "near": "warn", "none": "pass"}[separation.kind],
        consequence=consequences[separation.kind],
        remedy=(
            "Report the Firth penalized fit beside (or instead of) the maximum-likelihood one, and ask whether "
            "a predictor is a near-copy of the outcome."
            if separation.use_penalized else "None needed."
        ),
        details=separation.direction.rename_axis("name").reset_index(),
    )


def _hosmer_lemeshow_check(table: pd.DataFrame, statistic: float, df: int, p_value: float) -> Check:
    if df < 1:
        return Check(
            name="Goodness of fit (Hosmer-Lemeshow)",
            statistic=statistic,
            p_value=None,
            threshold="chi-squared over at least 3 groups of predicted probability",
            verdict="pass",
            consequence=(
                f"The inference model predicts only {len(table)} distinct probabilities, too few groups for the test; "
                f"in them it expects {', '.join(f'{e:,.1f}' for e in table['expected'])} events where "
                f"{', '.join(f'{o:,.0f}' for o in table['observed'])} occurred."
            ),
            remedy="None needed.",
            details=table,
        )
    poor = p_value < ALPHA
    return Check(
        name="Goodness of fit (Hosmer-Lemeshow)",
        statistic=statistic,
        p_value=p_value,
        threshold=f"chi-squared over {len(table)} groups of predicted probability ({df} df): warn if p < {ALPHA:g}",
        verdict="warn" if poor else "pass",
        consequence=(
            "For the inference model (unweighted, fitted on every used row), observed and expected event counts "
            f"in each of {len(table)} groups of its predicted probability differ "
            + ("more than chance allows, so its probabilities are off in some range "
               "(with many rows, even small misfit is detected)."
               if poor else "no more than chance allows, so its probabilities match observed rates.")
            + " This says nothing about the deployed classifier's scores, whose calibration is measured on the "
            "test part."
        ),
        remedy=(
            "Compare observed and expected counts per group, then try transformed or interacting predictors."
            if poor else "None needed."
        ),
        details=table,
    )


def _pseudo_r2_check(inference) -> Check:
    value = float(inference.prsquared)
    weak = value < PSEUDO_R2_WARN
    return Check(
        name="McFadden pseudo-R²",
        statistic=value,
        p_value=None,
        threshold=f"1 - llf / llnull: warn < {PSEUDO_R2_WARN:g} (0.2 to 0.4 is an excellent fit)",
        verdict="warn" if weak else "pass",
        consequence=(
            f"The predictors reduce the null model's log-likelihood by {value:.1%}: "
            + ("associations can still be real, but predictions for single videos are weak."
               if weak else "they carry substantial information about the outcome.")
            + (" A value this high is a sign that the classes (nearly) separate rather than of an excellent fit."
               if value > PSEUDO_R2_SEPARATION else "")
        ),
        remedy="Report odds ratios as associations, not as a usable classifier." if weak else "None needed.",
    )


def _likelihood_ratio_check(inference) -> Check:
    p_value = float(inference.llr_pvalue)
    significant = p_value < ALPHA
    return Check(
        name="Likelihood-ratio test vs null",
        statistic=float(inference.llr),
        p_value=p_value,
        threshold=f"2 (llf - llnull) on {int(inference.df_model)} df: warn if p >= {ALPHA:g}",
        verdict="pass" if significant else "warn",
        consequence=(
            "The predictors together explain the outcome better than its base rate alone."
            if significant
            else "The predictors together do not explain the outcome better than its base rate alone."
        ),
        remedy="None needed." if significant else "Do not interpret single coefficients; revisit the predictors.",
    )
