"""Coefficients per readable unit, odds ratios, and sentences that carry their numbers."""

from __future__ import annotations

import math

import pandas as pd

from . import config
from .approach import Approach, Family, OutcomeKind
from .model.families import FamilyFit

UNIT_NAMES = {
    config.DURATION: "seconds",
    config.VIEWS: "views",
    config.LIKES: "likes",
    config.SHARES: "shares",
    config.DOWNLOADS: "downloads",
    config.COMMENTS: "comments",
}
OUTCOME_NAMES = {config.DURATION: "video duration (seconds)"}
DURATION_UNIT = 10.0
# A predictor entered as log(1 + x) is read per doubling of (1 + x): a step of ln 2.
DOUBLING = math.log(2.0)


def readable_unit(column: str, scale: float) -> float:
    """The step in which a continuous predictor's odds ratio is reported.

    10 seconds for duration; for counts, the power of ten at or just below one
    standard deviation (e.g. sd 290,000 views -> per 100,000 views), so the odds ratio
    describes a change that actually occurs in the data.
    """
    if column == config.DURATION:
        return DURATION_UNIT
    return float(10 ** math.floor(math.log10(scale))) if scale > 0 else 1.0


def coefficient_table(inference, scales: pd.Series, alpha: float = 0.05, *, log1p=()) -> pd.DataFrame:
    """Coefficients of the fitted Logit, rescaled to readable units.

    The model is fitted on standardized continuous predictors; a coefficient ``b`` per
    standard deviation ``s`` becomes ``b * unit / s`` per ``unit``. The transform is
    linear, so standard errors and confidence limits scale the same way and z and p
    are unchanged.

    A predictor in ``log1p`` entered the model as log(1 + x), and ``s`` is the standard
    deviation of log(1 + x): its unit is a doubling of (1 + x), a step of ln 2 in
    log(1 + x), so its odds ratio is ``exp(b * ln 2 / s)`` "per doubling of (1 +
    count)" (``unit_size`` = ln 2, ``log1p`` = True).
    """
    params = inference.params
    ci = inference.conf_int(alpha=alpha)
    rows = []
    for name in params.index:
        if name in log1p:
            unit = DOUBLING
            factor = unit / float(scales[name])
            unit_label = f"per doubling of (1 + {UNIT_NAMES[name]})"
        elif name in scales.index:
            unit = readable_unit(name, float(scales[name]))
            factor = unit / float(scales[name])
            unit_label = f"per {unit:,.0f} {UNIT_NAMES[name]}"
        else:
            unit, factor = 1.0, 1.0
            unit_label = "intercept (log-odds at the mean)" if name == "const" else _category_label(name)
        coef = float(params[name]) * factor
        low, high = float(ci.loc[name, 0]) * factor, float(ci.loc[name, 1]) * factor
        rows.append(
            {
                "name": name,
                "unit": unit_label,
                "unit_size": unit,
                "coef": coef,
                "se": float(inference.bse[name]) * factor,
                "z": float(inference.tvalues[name]),
                "p_value": float(inference.pvalues[name]),
                "ci_low": low,
                "ci_high": high,
                "odds_ratio": math.exp(coef),
                "or_ci_low": math.exp(low),
                "or_ci_high": math.exp(high),
                "coef_per_sd": float(params[name]),
                "log1p": name in log1p,
            }
        )
    return pd.DataFrame(rows)


EFFECT_NAMES = {
    Family.ORDINAL_LOGIT: "odds ratio (a more severe status)",
    Family.POISSON: "rate ratio",
    Family.NEGATIVE_BINOMIAL: "rate ratio",
    Family.LOG_OLS: "ratio of geometric means",
    Family.OLS: "difference in the outcome",
}
# Short names for sentences.
EFFECT_SHORT = {
    "odds ratio (a more severe status)": "odds ratio",
    "rate ratio": "rate ratio",
    "ratio of geometric means": "ratio",
    "difference in the outcome": "difference",
}
INTERCEPT_UNITS = {
    Family.POISSON: "intercept (log of the expected count at the means)",
    Family.NEGATIVE_BINOMIAL: "intercept (log of the expected count at the means)",
    Family.LOG_OLS: "intercept (log of the outcome at the means)",
    Family.OLS: "intercept (the outcome at the means)",
}


def family_coefficients(fit: FamilyFit) -> pd.DataFrame:
    """The coefficient table of a non-binary model, its effects named for the family.

    The columns of :func:`coefficient_table`, with ``effect, effect_ci_low,
    effect_ci_high`` in place of the odds-ratio columns: ``exp(coef)`` for the
    log-link and log-scale families, the coefficient itself for OLS on the original scale.
    """
    table = coefficient_table(fit.inference, fit.scales, log1p=fit.spec.log1p)
    table = table.rename(columns={"odds_ratio": "effect", "or_ci_low": "effect_ci_low", "or_ci_high": "effect_ci_high"})
    family = fit.approach.family
    if family is Family.OLS:
        table["effect"], table["effect_ci_low"], table["effect_ci_high"] = table["coef"], table["ci_low"], table["ci_high"]
    if family in INTERCEPT_UNITS:
        table.loc[table["name"] == "const", "unit"] = INTERCEPT_UNITS[family]
    return table


def family_findings(table: pd.DataFrame, family: Family, outcome_phrase: str, alpha: float = 0.05) -> list[dict]:
    """One plain sentence per predictor of a non-binary model, strongest evidence first, with its numbers."""
    exponentiated = family is not Family.OLS
    short = EFFECT_SHORT[EFFECT_NAMES[family]]
    findings = []
    terms = table[table["name"] != "const"].sort_values("p_value")
    for row in terms.itertuples(index=False):
        ci = (
            f"95% CI {_family_number(row.effect_ci_low, exponentiated)} to "
            f"{_family_number(row.effect_ci_high, exponentiated)}, {format_p(row.p_value)}"
        )
        change = "each " + str(row.unit).removeprefix("per ") if row.name in UNIT_NAMES else f"being {row.unit}"
        if exponentiated:
            direction = "multiplies" if row.effect >= 1 else "divides"
            factor = row.effect if row.effect >= 1 else 1 / row.effect
            effect = f"{direction} {outcome_phrase} by {format_ratio(factor)} ({short} {format_ratio(row.effect)})"
        else:
            effect = f"changes {outcome_phrase} by {row.effect:+,.2f}"
        findings.append(
            {
                "name": row.name,
                "sentence": f"Holding the other characteristics fixed, {change} {effect} ({ci}).",
                "effect": float(row.effect),
                "effect_ci_low": float(row.effect_ci_low),
                "effect_ci_high": float(row.effect_ci_high),
                "p_value": float(row.p_value),
                "significant": bool(row.p_value < alpha),
            }
        )
    return findings


def _family_number(value: float, ratio: bool) -> str:
    if not math.isfinite(value):
        return "–"
    return format_ratio(value) if ratio else f"{value:+,.2f}"


def outcome_phrase(approach: Approach) -> str:
    """How sentences name the modelled quantity (the odds of the positive class, the expected count, ...)."""
    target = approach.target
    if approach.kind is OutcomeKind.BINARY:
        if target == config.VERIFIED:
            return "coming from a verified account"
        return f"{target.replace('_', ' ')} being '{approach.positive_class}'"
    name = OUTCOME_NAMES.get(target, target.replace("_", " "))
    if approach.kind is OutcomeKind.ORDINAL:
        return "the odds of a more severe author ban status"
    if approach.family is Family.LOG_OLS:
        return f"the typical (geometric-mean) {name}"
    return f"the expected {name}"


def _category_label(dummy: str) -> str:
    for column, levels in config.CATEGORIES.items():
        prefix = f"{column}_"
        if dummy.startswith(prefix):
            return f"'{dummy[len(prefix):]}' vs '{levels[0]}'"
    return dummy


def format_p(p: float) -> str:
    """p-values as readers expect them: ``p < 0.001`` or ``p = 0.023``."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def format_ratio(x: float) -> str:
    """Odds ratios with enough digits to be distinguishable from 1."""
    return f"{x:.2f}" if 0.1 <= x < 10 else f"{x:.3g}"


def key_findings(table: pd.DataFrame, outcome_phrase: str, alpha: float = 0.05) -> list[dict]:
    """One plain sentence per predictor, strongest evidence first.

    Each finding keeps the numbers it quotes (``name``, ``odds_ratio``, ``or_ci_low``,
    ``or_ci_high``, ``p_value``) so every report can trace them to ``metrics.json``.
    A predictor entered as log(1 + x) (the table's ``log1p`` column) is read per
    doubling of (1 + x).
    """
    findings = []
    terms = table[table["name"] != "const"].sort_values("p_value")
    for row in terms.itertuples(index=False):
        ratio, low, high = row.odds_ratio, row.or_ci_low, row.or_ci_high
        ci = f"95% CI {format_ratio(low)}–{format_ratio(high)}, {format_p(row.p_value)}"
        if row.name in UNIT_NAMES:
            if getattr(row, "log1p", False):
                change = f"each doubling of (1 + {UNIT_NAMES[row.name]})"
            else:
                change = f"each additional {row.unit_size:,.0f} {UNIT_NAMES[row.name]}"
            if ratio >= 1:
                effect = f"multiplies the odds of {outcome_phrase} by {format_ratio(ratio)}"
            else:
                effect = f"lowers the odds of {outcome_phrase} by {100 * (1 - ratio):.0f}% (odds ratio {format_ratio(ratio)})"
            sentence = f"Holding the other characteristics fixed, {change} {effect} ({ci})."
        else:
            column, level = _split_dummy(row.name)
            reference = config.CATEGORIES[column][0]
            noun = column.replace("_", " ")
            sentence = (
                f"Holding the other characteristics fixed, videos whose {noun} is '{level}' have "
                f"{format_ratio(ratio)} times the odds of {outcome_phrase} of those whose {noun} "
                f"is '{reference}' ({ci})."
            )
        significant = row.p_value < alpha
        if not significant:
            sentence += " The data are consistent with no association."
        findings.append(
            {
                "name": row.name,
                "label": _label(row.name),
                "sentence": sentence,
                "odds_ratio": ratio,
                "or_ci_low": low,
                "or_ci_high": high,
                "p_value": row.p_value,
                "significant": bool(significant),
            }
        )
    return findings


def _label(name: str) -> str:
    """A reader's name for a model term: ``claim status ('opinion' vs 'claim')``."""
    if name in UNIT_NAMES:
        return name.replace("video_", "").replace("_", " ")
    column, level = _split_dummy(name)
    return f"{column.replace('_', ' ')} ('{level}' vs '{config.CATEGORIES[column][0]}')"


def _split_dummy(name: str) -> tuple[str, str]:
    for column in config.CATEGORIES:
        if name.startswith(f"{column}_"):
            return column, name[len(column) + 1 :]
    raise ValueError(f"{name!r} is not an encoded category")



def plain_insights(m: dict) -> list[str]:
    """Three or four plain sentences for managers, each carrying the number behind it.

    Reads only the metrics record, so every number it quotes is in ``metrics.json``.
    """
    positive, target = m["positive_class"], m["target"]
    outcome = "come from a verified account" if target == config.VERIFIED else f"have {target} '{positive}'"
    insights = []
    by_category = {(r["column"], r["level"]): r for r in m["eda"]["by_category"]}
    strongest = next((f for f in m["findings"] if f["significant"]), None)
    if strongest is not None and strongest["name"] not in UNIT_NAMES:
        column, level = _split_dummy(strongest["name"])
        reference = config.CATEGORIES[column][0]
        share_key = f"share_{positive}"
        level_row, reference_row = by_category.get((column, level)), by_category.get((column, reference))
        rates = ""
        if level_row and reference_row and share_key in level_row:
            rates = (
                f"{100 * level_row[share_key]:.1f}% of videos whose {column.replace('_', ' ')} is '{level}' "
                f"{outcome}, against {100 * reference_row[share_key]:.1f}% of '{reference}' videos; "
            )
        insights.append(
            f"{rates[:1].upper() + rates[1:] if rates else ''}taking the other characteristics into account, "
            f"'{level}' videos have {format_ratio(strongest['odds_ratio'])} times the odds of '{reference}' "
            f"videos to {outcome} (95% CI {format_ratio(strongest['or_ci_low'])}–{format_ratio(strongest['or_ci_high'])})."
        )
    models = m["cv"]["models"]
    default = models[m["cv"]["default_model"]]["roc_auc"]["mean"]
    claim_only = models.get("claim status alone (baseline)")
    reference = models.get("gradient boosting (reference)")
    if claim_only is not None:
        sentence = (
            f"Engagement adds little: knowing only whether a video is a claim or an opinion ranks videos "
            f"almost as well (cross-validated ROC-AUC {claim_only['roc_auc']['mean']:.3f}) as the full model "
            f"({default:.3f})"
        )
        if reference is not None:
            sentence += f", and a flexible gradient-boosting model does no better ({reference['roc_auc']['mean']:.3f})"
        insights.append(sentence + "; 0.5 is a coin toss and 1.0 is perfect.")
    per_1000 = m["threshold"]["per_1000_videos"]
    insights.append(
        f"Used as a filter, the model would flag {per_1000['flagged']:.0f} of every 1,000 videos, of which only "
        f"{per_1000['flagged_positive']:.0f} actually {outcome} (precision {100 * m['test']['precision']:.1f}%, "
        f"95% CI {100 * m['test_ci']['precision']['ci_low']:.1f}–{100 * m['test_ci']['precision']['ci_high']:.1f}%), "
        f"while catching {100 * m['test']['recall']:.0f}% of them."
    )
    insights.append(
        f"The often-quoted precision of about {m['leakage_audit']['course']['precision']:.2f} comes from testing on "
        f"copies of training videos and an artificial 50/50 mix; at the real mix ({100 * m['test']['base_rate']:.1f}% "
        f"{positive}) the honest figure is {m['test']['precision']:.2f}."
    )
    return insights
