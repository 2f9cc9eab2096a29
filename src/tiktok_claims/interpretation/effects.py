"""Coefficients as effects a reader can use: per readable unit, adjusted for multiplicity, on the probability scale.

Every coefficient table of the package (logistic and the other families) has the
columns of :func:`coefficient_table`: the estimate per readable unit with its interval,
the p-value and its Holm adjustment across the model's terms (the constant excluded),
and the effect as a ratio (odds ratio, rate ratio, ratio of geometric means) or, for OLS
on the original scale, a difference.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import expit

from .. import config
from ..approach import Family
from ..model.families import FamilyFit
from ..model.formula import SQUARE_SUFFIX
from ..model.stability import holm

UNIT_NAMES = {
    config.DURATION: "seconds",
    config.VIEWS: "views",
    config.LIKES: "likes",
    config.SHARES: "shares",
    config.DOWNLOADS: "downloads",
    config.COMMENTS: "comments",
}
DURATION_UNIT = 10.0
INTERACTION = ":"
# A predictor entered as log(1 + x) is read per doubling of (1 + x): a step of ln 2.
DOUBLING = math.log(2.0)
EFFECT_NAMES = {
    Family.LOGISTIC: "odds ratio",
    Family.ORDINAL_LOGIT: "odds ratio (a more severe status)",
    Family.POISSON: "rate ratio",
    Family.NEGATIVE_BINOMIAL: "rate ratio",
    Family.LOG_OLS: "ratio of geometric means",
    Family.OLS: "difference in the outcome",
}
# Short names for sentences.
EFFECT_SHORT = {
    "odds ratio": "odds ratio",
    "odds ratio (a more severe status)": "odds ratio",
    "rate ratio": "rate ratio",
    "ratio of geometric means": "ratio",
    "difference in the outcome": "difference",
}
INTERCEPT_UNITS = {
    Family.LOGISTIC: "intercept (log-odds at the mean)",
    Family.POISSON: "intercept (log of the expected count at the means)",
    Family.NEGATIVE_BINOMIAL: "intercept (log of the expected count at the means)",
    Family.LOG_OLS: "intercept (log of the outcome at the means)",
    Family.OLS: "intercept (the outcome at the means)",
}


def readable_unit(column: str, scale: float) -> float:
    """The step in which a continuous predictor's effect is reported.

    10 seconds for duration; for counts, the power of ten at or just below one
    standard deviation (e.g. sd 290,000 views -> per 100,000 views), so the effect
    describes a change that actually occurs in the data.
    """
    if column == config.DURATION:
        return DURATION_UNIT
    return float(10 ** math.floor(math.log10(scale))) if scale > 0 else 1.0


def coefficient_table(inference, scales: pd.Series, alpha: float = 0.05, *, log1p=(), log=()) -> pd.DataFrame:
    """Coefficients of a fitted model, rescaled to readable units, with Holm-adjusted p-values.

    The model is fitted on standardized continuous predictors; a coefficient ``b`` per
    standard deviation ``s`` becomes ``b * unit / s`` per ``unit``. The transform is
    linear, so standard errors and confidence limits scale the same way and z and p
    are unchanged. ``p_adjusted`` is Holm's adjustment across every term but the
    constant (the model's tests of its predictors, as a family).

    ``sd`` is ``s``, the standard deviation of a continuous predictor as entered (NaN
    for the constant and dummies). A predictor in ``log1p`` entered the model as
    log(1 + x), and ``s`` is the standard
    deviation of log(1 + x): its unit is a doubling of (1 + x), a step of ln 2 in
    log(1 + x), so its ratio is ``exp(b * ln 2 / s)`` "per doubling of (1 + count)"
    (``unit_size`` = ln 2, ``log1p`` = True). A predictor in ``log`` (a formula's
    ``np.log``) is read per doubling of x, also a step of ln 2.

    A formula's other terms (:func:`is_compound`: interactions, curvature terms) are
    read per their own design column's unit (:func:`compound_unit`).
    """
    params = inference.params
    ci = inference.conf_int(alpha=alpha)
    rows = []
    for name in params.index:
        sd = float(scales[name]) if name in scales.index else math.nan
        if is_compound(name):
            unit, unit_label = compound_unit(name, sd, log1p=log1p, log=log, terms=params.index)
            factor = unit / sd if name in scales.index else unit
        elif name in log1p or name in log:
            unit = DOUBLING
            factor = unit / sd
            unit_label = f"per doubling of (1 + {UNIT_NAMES[name]})" if name in log1p else f"per doubling of {UNIT_NAMES[name]}"
        elif name in scales.index:
            unit = readable_unit(name, sd)
            factor = unit / sd
            unit_label = f"per {unit:,.0f} {UNIT_NAMES[name]}"
        else:
            unit, factor = 1.0, 1.0
            unit_label = INTERCEPT_UNITS[Family.LOGISTIC] if name == "const" else _category_label(name)
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
                "odds_ratio": _exp(coef),
                "or_ci_low": _exp(low),
                "or_ci_high": _exp(high),
                "coef_per_sd": float(params[name]),
                "sd": sd,
                "log1p": name in log1p,
            }
        )
    table = pd.DataFrame(rows)
    terms = table["name"] != "const"
    table["p_adjusted"] = np.nan
    table.loc[terms, "p_adjusted"] = holm(table.loc[terms, "p_value"])
    return table


def is_compound(name: str) -> bool:
    """Whether a design column is a formula's interaction (``a:b``) or curvature term (``x^2``), not a main effect."""
    return INTERACTION in name or name.endswith(SQUARE_SUFFIX)


def compound_unit(name: str, sd: float, *, log1p=(), log=(), terms=()) -> tuple[float, str]:
    """The step in which an interaction's or a curvature term's effect is read, and its label.

    A term with one numeric part is read per that part's unit (a doubling for a logged
    column, else a power of ten at or below the design column's standard deviation
    ``sd``), for the rows in the term's levels: on top of the slope at the reference
    levels when the numeric part is also a term of the model (in ``terms``), else as
    the slope there; a term of 0/1 parts per its presence (the extra factor on the odds
    when every level holds); a product of numeric parts per its own unit.
    """
    pieces = name.split(INTERACTION)
    levels = [piece for piece in pieces if dummy_column(piece) is not None]
    numbers = [piece for piece in pieces if dummy_column(piece) is None]
    where = " and ".join(piece_label(piece) for piece in levels)
    if not numbers:
        return 1.0, f"where {where}, beyond their separate effects"
    if len(numbers) == 1:
        (number,) = numbers
        column = number.removesuffix(SQUARE_SUFFIX)
        if number.endswith(SQUARE_SUFFIX):
            unit = readable_unit("", sd)
            per = f"per {unit:,.0f} squared {UNIT_NAMES[column]}"
        elif column in log1p or column in log:
            unit = DOUBLING
            per = f"per doubling of (1 + {UNIT_NAMES[column]})" if column in log1p else f"per doubling of {UNIT_NAMES[column]}"
        else:
            unit = readable_unit(column, sd)
            per = f"per {unit:,.0f} {UNIT_NAMES[column]}"
        if not levels:
            return unit, per
        return unit, f"{per} where {where}" + (", on top of the slope at the reference" if number in terms else "")
    unit = readable_unit("", sd)
    return unit, f"per {unit:,.0f} of {' × '.join(piece_label(n) for n in numbers)}" + (f" where {where}" if where else "")


def piece_label(piece: str) -> str:
    """A reader's name for one part of a design column: ``views``, ``squared seconds``, ``claim status is 'opinion'``."""
    if dummy_column(piece) is not None:
        return _level_label(piece, " is ")
    if piece.endswith(SQUARE_SUFFIX):
        return f"squared {UNIT_NAMES[piece.removesuffix(SQUARE_SUFFIX)]}"
    return UNIT_NAMES[piece]


def _level_label(dummy: str, joint: str = " ") -> str:
    """``claim status 'opinion'`` (or with ``joint`` " is ": ``claim status is 'opinion'``) for a dummy's name."""
    column = dummy_column(dummy)
    return f"{column.replace('_', ' ')}{joint}'{dummy[len(column) + 1:]}'"


def formula_probability_changes(result, frame: pd.DataFrame, spec, table: pd.DataFrame) -> pd.Series:
    """:func:`probability_changes` of a formula's model, with every term that shares a column moved together.

    The step of each main effect is made in the data (one readable unit more of a
    continuous predictor, each row's level set to the dummy's level instead of the
    reference) and the whole design rebuilt from it, so the interactions that involve
    the predictor move with it; the change is averaged over the rows of ``frame``, the
    rows the inference model was fitted on. An interaction or curvature term has no
    step of its own (``NaN``): its effect is read beside its main effects.
    """
    design = spec.preprocessor().fit(frame[spec.columns])
    names = ["const", *design.get_feature_names_out()]
    beta = result.params.reindex(names).to_numpy()

    def probabilities(data: pd.DataFrame) -> np.ndarray:
        return expit(beta[0] + design.transform(data[spec.columns]) @ beta[1:])

    rows = table.set_index("name")
    changes = {}
    for name in names[1:]:
        if is_compound(name):
            changes[name] = math.nan
            continue
        column = dummy_column(name)
        if column is None:
            step = float(rows.loc[name, "unit_size"])
            moved = _moved(frame[name].astype(float), spec.transform_of(name), step)
            changes[name] = float(np.mean(probabilities(frame.assign(**{name: moved})) - probabilities(frame)))
            continue
        level, reference = name[len(column) + 1:], config.CATEGORIES[column][0]
        changes[name] = float(
            np.mean(probabilities(frame.assign(**{column: level})) - probabilities(frame.assign(**{column: reference})))
        )
    return pd.Series(changes, name="probability_change")


def _moved(x: pd.Series, transform: str, step: float) -> pd.Series:
    """``x`` one step further as it enters: ``step`` more, or doubled (1 + x) or x when logged (``step`` = ln 2)."""
    if transform == "log1p":
        return (1 + x) * math.exp(step) - 1
    if transform == "log":
        return x * math.exp(step)
    return x + step


def _exp(x: float) -> float:
    return math.exp(x) if x < 709 else math.inf


def probability_changes(result, design: pd.DataFrame, table: pd.DataFrame) -> pd.Series:
    """Average change in the predicted probability per term, on the rows of ``design``.

    For a continuous predictor: one readable unit more (``table``'s ``unit_size``: 10
    seconds, 100,000 views, a doubling of (1 + count), ...), everything else as observed.
    For a dummy: its level instead of the reference (the other dummies of that category
    set to 0). The probability scale stays bounded where odds ratios do not (near
    separation), so it can always be read.
    """
    x = design.to_numpy(dtype=float)
    beta = result.params.reindex(design.columns).to_numpy()
    base = x @ beta
    rows = table.set_index("name")
    changes = {}
    for j, name in enumerate(design.columns):
        if name == "const":
            continue
        column = dummy_column(name)
        if column is None:
            step = float(rows.loc[name, "unit_size"]) / float(rows.loc[name, "sd"])
            changes[name] = float(np.mean(expit(base + beta[j] * step) - expit(base)))
            continue
        siblings = [k for k, other in enumerate(design.columns) if dummy_column(other) == column]
        reference = base - x[:, siblings] @ beta[siblings]
        changes[name] = float(np.mean(expit(reference + beta[j]) - expit(reference)))
    return pd.Series(changes, name="probability_change")


def dummy_column(name: str) -> str | None:
    """The category a dummy's name belongs to (``claim_status`` of ``claim_status_opinion``), else ``None``."""
    if is_compound(name):
        return None
    return next((column for column in config.CATEGORIES if name.startswith(f"{column}_")), None)


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


def _category_label(dummy: str) -> str:
    column = dummy_column(dummy)
    if column is None:
        return dummy
    return f"'{dummy[len(column) + 1:]}' vs '{config.CATEGORIES[column][0]}'"


def term_label(name: str) -> str:
    """A reader's name for a model term: ``comment count`` or ``claim status ('opinion' vs 'claim')``.

    A formula's interaction joins its parts' names with `` × ``; a curvature term is
    ``duration squared``.
    """
    if INTERACTION in name:
        return " × ".join(_level_label(piece) if dummy_column(piece) else term_label(piece) for piece in name.split(INTERACTION))
    if name.endswith(SQUARE_SUFFIX):
        return f"{term_label(name.removesuffix(SQUARE_SUFFIX))} squared"
    if name == config.DURATION:
        return "duration"
    if name in UNIT_NAMES:
        return name.replace("video_", "").replace("_", " ")
    column, level = split_dummy(name)
    return f"{column.replace('_', ' ')} ('{level}' vs '{config.CATEGORIES[column][0]}')"


def split_dummy(name: str) -> tuple[str, str]:
    column = dummy_column(name)
    if column is None:
        raise ValueError(f"{name!r} is not an encoded category")
    return column, name[len(column) + 1 :]


def cut_coefficients(fit: FamilyFit) -> pd.DataFrame:
    """Effects per step of an ordinal outcome: one binary logit of "at least this level" per step.

    The columns of :func:`family_coefficients` plus ``cut`` (the level reached); the
    Holm adjustment runs over every (step, term) test together.
    """
    tables = []
    for level, result in fit.cuts.items():
        table = coefficient_table(result, fit.scales, log1p=fit.spec.log1p).assign(cut=level)
        tables.append(table)
    if not tables:
        return pd.DataFrame()
    table = pd.concat(tables, ignore_index=True)
    table = table.rename(columns={"odds_ratio": "effect", "or_ci_low": "effect_ci_low", "or_ci_high": "effect_ci_high"})
    terms = table["name"] != "const"
    table["p_adjusted"] = np.nan
    table.loc[terms, "p_adjusted"] = holm(table.loc[terms, "p_value"])
    return table
