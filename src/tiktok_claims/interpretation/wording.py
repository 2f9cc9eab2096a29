"""The wording rules: how every document writes a p-value, a ratio, an interval or a change.

One set of rules, used by every sentence the package builds:

* p-values: ``p < 0.001`` or ``p = 0.023``;
* ratios (odds, rate, geometric-mean ratios): two decimals between 0.1 and 10, three
  significant digits outside; an interval gets as many digits as it needs so that an
  interval that excludes 1 never prints as touching it;
* changes: a percentage only where it reads naturally (a ratio between 0.5 and 2 that
  rounds to at least 1%), otherwise a multiplication ("× 6.00", "× 0.31");
* a ratio beyond :data:`RATIO_BOUND` (or below its inverse) per readable unit is not a
  finding anyone can use: it is never printed as one.
"""

from __future__ import annotations

import math

# Per-unit odds or rate ratios beyond this bound (or below its inverse) are not printed
# as findings: under (near) separation they are astronomically large and mean nothing.
RATIO_BOUND = 1000.0
# Percent changes read naturally only for ratios in this range.
PERCENT_RANGE = (0.5, 2.0)
MAX_DIGITS = 10


def format_p(p: float) -> str:
    """p-values as readers expect them: ``p < 0.001`` or ``p = 0.023``."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def format_ratio(x: float, digits: int | None = None) -> str:
    """A ratio with enough digits to be distinguishable from 1 (``digits`` decimals if given)."""
    if not math.isfinite(x):
        return "∞" if x > 0 else "–"
    if digits is not None:
        return f"{x:.{digits}f}" if 0.1 <= x < 10 else f"{x:.{digits + 1}g}"
    return f"{x:.2f}" if 0.1 <= x < 10 else f"{x:.3g}"


def format_interval(low: float, high: float, separator: str = "–") -> str:
    """``low–high`` of a ratio's interval, never printed so that it appears to cross 1 when it does not."""
    for digits in range(2, MAX_DIGITS + 1):
        texts = (format_ratio(low, digits), format_ratio(high, digits))
        if _same_side(low, texts[0]) and _same_side(high, texts[1]):
            return separator.join(texts)
    return separator.join((format_ratio(low, MAX_DIGITS), format_ratio(high, MAX_DIGITS)))


def _same_side(value: float, text: str) -> bool:
    """Whether ``text`` (a rounded ``value``) lies on the same side of 1 as ``value``."""
    if not math.isfinite(value):
        return True
    shown = float(text)
    return (value > 1) == (shown > 1) and (value < 1) == (shown < 1)


def change_phrase(ratio: float, what: str) -> str:
    """How a ratio changes ``what``: ``"raises the odds … by 13%"`` or ``"multiplies the odds … by 6.00"``."""
    low, high = PERCENT_RANGE
    percent = round(100 * abs(ratio - 1))
    if low <= ratio <= high and percent >= 1:
        return f"{'raises' if ratio > 1 else 'lowers'} {what} by {percent}%"
    return f"multiplies {what} by {format_ratio(ratio)}"


def within_bound(*ratios: float) -> bool:
    """Whether every ratio lies within ``[1 / RATIO_BOUND, RATIO_BOUND]``."""
    return all(math.isfinite(r) and 1 / RATIO_BOUND <= r <= RATIO_BOUND for r in ratios)


def percentage_points(change: float) -> str:
    """A change in probability, in percentage points: ``+12.3 points``."""
    return f"{100 * change:+.1f} percentage points"


def capitalized(text: str) -> str:
    """``text`` with its first letter upper-cased (the rest untouched)."""
    return text[:1].upper() + text[1:]


def per_1000(value: float) -> str:
    """A rate per 1,000 as a reader says it: ``44`` or ``0.4``."""
    return f"{value:,.0f}" if value >= 10 or value == 0 else f"{value:.1f}"


def percent(share: float, digits: int = 1) -> str:
    """A share as a percentage that reads 0% or 100% only when it is exactly that.

    ``0.9996`` is ``99.96%``, not ``100.0%``: digits are added until the rounding no
    longer hides that some cases fall on the other side.
    """
    text = f"{share:.{digits}%}"
    while 0 < share < 1 and float(text.rstrip("%")) in (0, 100) and digits < 6:
        digits += 1
        text = f"{share:.{digits}%}"
    return text


def pairs_of_100(auc: float) -> str:
    """A ranking's ROC-AUC as a reader can picture it: in how many of 100 pairs of a random positive
    and a random negative it ranks the positive higher (``66 of 100``; 50 is a coin toss).

    Rounding never prints a perfect or a hopeless ranking that is not one: 0.998 is
    ``more than 99 of 100``, not ``100 of 100``.
    """
    pairs = round(100 * auc)
    if pairs >= 100 and auc < 1:
        return "more than 99 of 100"
    if pairs <= 0 and auc > 0:
        return "fewer than 1 of 100"
    return f"{pairs} of 100"


def indefinite(phrase: str) -> str:
    """``phrase`` with its indefinite article: ``an author ban status``, ``a claim status``."""
    return f"{'an' if phrase[:1].lower() in 'aeiou' else 'a'} {phrase}"
