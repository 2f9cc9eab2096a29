"""Separation in words: the rule that (nearly) splits the classes, and why the estimator was chosen.

Under near separation per-unit odds ratios are astronomically large and mean nothing; what
a reader can use is the rule itself ("videos with at least 10,000 views are almost all
claims") and the reason the estimates come from Firth's penalized likelihood, stated
truthfully (the maximum-likelihood estimates are infinite only when they are).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .effects import UNIT_NAMES, split_dummy


def separating_rule(values: pd.Series, y: pd.Series, predictor: str, positive: str, negative: str) -> dict | None:
    """The single split on ``predictor`` that best sorts the classes, with its numbers; ``None`` if it sorts nothing.

    A continuous predictor: the threshold ``t`` for which "at least ``t`` -> one class,
    below -> the other" misclassifies the fewest rows (ties: the lowest such threshold).
    A dummy: its level against the others of its category.

    Returns
    -------
    dict or None
        ``predictor, threshold, high_class, high_rows, high_share, low_class, low_rows,
        low_share, misclassified_share, clause, sentence``: ``high_share`` is the share of
        ``high_class`` among the rows at or above the threshold (in the level), and
        ``low_share`` that of ``low_class`` below it (in the other levels). ``None``
        when the best split leaves one side empty or misclassifies no fewer rows than
        the smaller class holds (it would say nothing the class shares do not). A dummy
        whose level holds one class only is described as that cell ("all 40 videos whose
        author ban status is 'under review' are 'not verified'").
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
    else:
        column, level = split_dummy(predictor)
        high = (values.astype(str) == level).to_numpy()
        cell = outcome[high]
        if len(cell) and (cell.min() == cell.max()):
            # A cell of one class only (quasi-complete separation): the rule is that cell.
            only = positive if cell[0] == 1 else negative
            noun = column.replace("_", " ")
            clause = f"all {len(cell):,} videos whose {noun} is '{level}' are '{only}'"
            return {
                "predictor": predictor, "threshold": None, "high_class": only, "high_rows": int(len(cell)),
                "high_share": 1.0, "low_class": None, "low_rows": int((~high).sum()), "low_share": None,
                "misclassified_share": None, "clause": clause, "sentence": clause[:1].upper() + clause[1:] + ".",
            }
        high_positive = outcome[high].mean() >= outcome[~high].mean() if high.any() and (~high).any() else True
        threshold = None
        label = f"{column.replace('_', ' ')} '{level}'"
        other = f"any other {column.replace('_', ' ')}"
    high_class, low_class = (positive, negative) if high_positive else (negative, positive)
    high_rows, low_rows = int(high.sum()), int((~high).sum())
    if not high_rows or not low_rows:
        return None
    high_share = float(np.mean(outcome[high] == (1 if high_positive else 0))) if high_rows else float("nan")
    low_share = float(np.mean(outcome[~high] == (0 if high_positive else 1))) if low_rows else float("nan")
    wrong = high_rows * (1 - high_share) + low_rows * (1 - low_share)
    if wrong >= min(outcome.sum(), len(outcome) - outcome.sum()):
        return None
    return {
        "predictor": predictor,
        "threshold": threshold,
        "high_class": high_class,
        "high_rows": high_rows,
        "high_share": high_share,
        "low_class": low_class,
        "low_rows": low_rows,
        "low_share": low_share,
        "misclassified_share": float(wrong / len(outcome)),
        "clause": (
            f"videos with {label} are '{high_class}' in {high_share:.1%} of cases ({high_rows:,} videos), "
            f"those with {other} are '{low_class}' in {low_share:.1%} ({low_rows:,} videos)"
        ),
        "sentence": (
            f"Videos with {label} are '{high_class}' in {high_share:.1%} of cases ({high_rows:,} videos); "
            f"those with {other} are '{low_class}' in {low_share:.1%} ({low_rows:,} videos)."
        ),
    }


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
