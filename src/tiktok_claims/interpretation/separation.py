"""Separation in words: the rule that (nearly) splits the classes, and why the estimator was chosen.

Under near separation per-unit odds ratios are astronomically large and mean nothing; what
a reader can use is the rule itself ("videos with at least 10,000 views are almost all
claims") and the reason the estimates come from Firth's penalized likelihood, stated
truthfully (the maximum-likelihood estimates are infinite only when they are).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import config
from ..model.separation import NEAR_SEPARATION_SHARE
from .effects import UNIT_NAMES, split_dummy, term_label
from .wording import capitalized, percent


def separating_rule(values: pd.Series, y: pd.Series, predictor: str, positive: str, negative: str) -> dict | None:
    """The single split on ``predictor`` that best sorts the classes, with its numbers; ``None`` if it sorts nothing.

    A continuous predictor: the threshold ``t`` for which "at least ``t`` -> one class,
    below -> the other" misclassifies the fewest rows (ties: the lowest such threshold).
    A level of a category (``column_level``): its rows against those of the other levels.

    Returns
    -------
    dict or None
        ``predictor, threshold, name, high_class, high_rows, high_share, low_class, low_rows,
        low_share, misclassified_share, clause, sentence``: ``high_share`` is the share of
        ``high_class`` among the rows at or above the threshold (in the level), and
        ``low_share`` that of ``low_class`` below it (in the other levels); ``name`` says
        which characteristic and split. ``None`` when the best split leaves one side empty
        or misclassifies no fewer rows than the smaller class holds (it would say nothing
        the class shares do not).
    """
    outcome = np.asarray(y, dtype=int)
    if predictor in UNIT_NAMES:
        x = values.to_numpy(dtype=float)
        order = np.argsort(x, kind="stable")
        xs, ys = x[order], outcome[order]
        # Candidate thresholds: each distinct value (rows at or above it are "high").
        starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
        positives_below = np.r_[0, np.cumsum(ys)][starts]
        below = starts
        above_positive = ys.sum() - positives_below
        above = len(xs) - below
        # Errors when high -> positive: positives below + negatives above; the reverse otherwise.
        errors_high_positive = positives_below + (above - above_positive)
        errors_high_negative = (below - positives_below) + above_positive
        best_pos, best_neg = int(np.argmin(errors_high_positive)), int(np.argmin(errors_high_negative))
        high_positive = errors_high_positive[best_pos] <= errors_high_negative[best_neg]
        best = best_pos if high_positive else best_neg
        threshold = float(xs[starts[best]])
        high = x >= threshold
        label = f"at least {threshold:,.0f} {UNIT_NAMES[predictor]}"
        other = f"fewer {UNIT_NAMES[predictor]}"
        name = f"{term_label(predictor)}, split at {threshold:,.0f} {UNIT_NAMES[predictor]}"
    else:
        column, level = split_dummy(predictor)
        noun = column.replace("_", " ")
        text = values.astype(str)
        high = (text == level).to_numpy()
        high_positive = outcome[high].mean() >= outcome[~high].mean() if high.any() and (~high).any() else True
        threshold = None
        label = f"{noun} '{level}'"
        others = list(dict.fromkeys(text[~high]))
        other = f"{noun} '{others[0]}'" if len(others) == 1 else f"any other {noun}"
        name = f"{noun}, '{level}' against the other levels"
    high_class, low_class = (positive, negative) if high_positive else (negative, positive)
    high_rows, low_rows = int(high.sum()), int((~high).sum())
    if not high_rows or not low_rows:
        return None
    high_share = float(np.mean(outcome[high] == (1 if high_positive else 0)))
    low_share = float(np.mean(outcome[~high] == (0 if high_positive else 1)))
    wrong = high_rows * (1 - high_share) + low_rows * (1 - low_share)
    if wrong >= min(outcome.sum(), len(outcome) - outcome.sum()):
        return None
    return {
        "predictor": predictor,
        "threshold": threshold,
        "name": name,
        "high_class": high_class,
        "high_rows": high_rows,
        "high_share": high_share,
        "low_class": low_class,
        "low_rows": low_rows,
        "low_share": low_share,
        "misclassified_share": float(wrong / len(outcome)),
        "clause": (
            f"videos with {label} are '{high_class}' in {percent(high_share)} of cases ({high_rows:,} videos), "
            f"those with {other} are '{low_class}' in {percent(low_share)} ({low_rows:,} videos)"
        ),
        "sentence": (
            f"Videos with {label} are '{high_class}' in {percent(high_share)} of cases ({high_rows:,} videos); "
            f"those with {other} are '{low_class}' in {percent(low_share)} ({low_rows:,} videos)."
        ),
    }


def single_class_groups(values: pd.Series, y: pd.Series, column: str, positive: str, negative: str) -> list[dict]:
    """The levels of category ``column`` whose videos all hold one class (in the category's order): ``column, level, rows, only``."""
    outcome, text = np.asarray(y, dtype=int), values.astype(str).to_numpy()
    groups = []
    for level in config.CATEGORIES[column]:
        cell = outcome[text == level]
        if len(cell) and cell.min() == cell.max():
            groups.append({"column": column, "level": level, "rows": int(len(cell)), "only": positive if cell[0] else negative})
    return groups


def describe_separation(kind: str, rules: list[dict], groups: list[dict], misclassified_share: float) -> dict | None:
    """What separates the classes, in words true by the separation check's own standard.

    ``rules`` are the best one-characteristic rules (:func:`separating_rule`), one per
    predictor or level; ``groups`` the levels of one class only (:func:`single_class_groups`);
    ``misclassified_share`` the share of rows the separation check's linear rule gets wrong.

    Returns ``None`` when the classes do not separate (``kind`` ``"none"``), else a record
    with ``kind``, ``clause`` and ``sentence``:

    * ``"single"``: the rule of the characteristic that sorts the classes best on its own,
      when it misclassifies fewer than ``NEAR_SEPARATION_SHARE`` of the rows, the share the
      check calls near separation (the rule's own fields as well);
    * ``"groups"``: otherwise, every level whose videos all hold one class (``groups``),
      the groups that make the estimates infinite;
    * ``"combination"``: otherwise; only a rule combining the characteristics separates, and
      ``best`` (the best one-characteristic rule, or ``None``) says how far any one falls short.
    """
    if kind == "none":
        return None
    best = min(rules, key=lambda rule: rule["misclassified_share"], default=None)
    if best is not None and best["misclassified_share"] < NEAR_SEPARATION_SHARE:
        return {"kind": "single", **best}
    if groups:
        by_class: dict[str, list[str]] = {}
        for group in groups:
            by_class.setdefault(group["only"], []).append(
                f"all {group['rows']:,} videos whose {group['column'].replace('_', ' ')} is '{group['level']}'"
            )
        clause = ", and ".join(f"{' and '.join(cells)} are '{only}'" for only, cells in by_class.items())
        return {"kind": "groups", "predictor": None, "groups": groups, "clause": clause, "sentence": capitalized(clause) + "."}
    combined = {
        "complete": "a linear rule combining the characteristics classifies every video correctly",
        "quasi-complete": "a linear rule combining the characteristics puts every video on its class's side or on its boundary",
    }.get(kind, f"a linear rule combining the characteristics misclassifies only {percent(misclassified_share)} of the videos")
    alone = (
        f"the best rule on one characteristic alone ({best['name']}) misclassifies {percent(best['misclassified_share'])}"
        if best is not None else "no rule on one characteristic alone sorts the videos better than the class shares do"
    )
    clause = f"{combined}, while {alone}"
    return {"kind": "combination", "predictor": None, "best": best, "clause": clause, "sentence": capitalized(clause) + "."}


def estimation_reason(
    kind: str,
    *,
    penalized: bool,
    rows: int,
    leading: str | None = None,
    misclassified_share: float | None = None,
    infinite: tuple[str, ...] = (),
    firth_shift: float | None = None,
    classifier_penalized: bool = False,
    wald_fallback: tuple[str, ...] = (),
) -> str:
    """Why the inference model's estimator was chosen, true for the separation actually found."""
    rows_text = f"all {rows:,} used rows (training and test parts)"
    if classifier_penalized:
        classifier = (
            " The classifier, fitted on the training part alone, uses Firth's penalized likelihood"
            + (" as well." if penalized else ": the classes separate on those fewer rows.")
        )
    else:
        classifier = " The classifier is fitted on the training part alone by maximum likelihood."
    if not penalized:
        return (
            f"No separation was found, so the maximum-likelihood estimates exist and are finite: an unweighted "
            f"statsmodels Logit on {rows_text} gives the coefficients, standard errors and p-values.{classifier}"
        )
    firth = (
        "Firth's penalized likelihood gives the coefficients instead, with profile penalized-likelihood intervals "
        f"and penalized likelihood-ratio p-values (as R's logistf), on {rows_text}."
    )
    if kind == "complete":
        why = "A linear rule classifies every row correctly (complete separation), so maximum-likelihood estimates are infinite."
    elif kind == "quasi-complete":
        why = (
            f"The classes separate except for rows on a boundary (quasi-complete separation), so the "
            f"maximum-likelihood estimates of {', '.join(infinite)} are infinite."
        )
    else:
        shift = (
            f"; here Firth changes the slopes by at most {firth_shift:.1%} relative to maximum likelihood"
            if firth_shift is not None
            else "; the ordinary fit did not converge cleanly here"
        )
        why = (
            f"The classes nearly separate: a linear rule led by {leading} misclassifies only "
            f"{misclassified_share:.1%} of the rows. The maximum-likelihood estimates exist and are finite, but rest "
            f"on those few rows and are biased away from zero; Firth's correction reduces that bias{shift}."
        )
    fallback = (
        f" The profile of {', '.join(wald_fallback)} could not be traced (the penalized likelihood is flat or has "
        "another mode there), so Wald limits and p-values are shown for "
        f"{'them' if len(wald_fallback) > 1 else 'it'}."
        if wald_fallback else ""
    )
    return f"{why} {firth}{fallback}{classifier}"
