"""One assumption check: its number, the rule that judged it, and what follows.

Every diagnostic of every model family returns :class:`Check` objects; reports render
them as one checklist (statistic, p-value, threshold, verdict, consequence, remedy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from .. import config
from ..model.features import FeatureSpec

VERDICTS = ("pass", "warn", "fail")
ALPHA = 0.05
VIF_WARN = config.VIF_LIMIT
VIF_FAIL = 10.0


@dataclass(frozen=True)
class Check:
    """One assumption check: its number, the rule that judged it, and what follows.

    Attributes
    ----------
    name : str
        Short, stable label (e.g. ``"Multicollinearity (VIF)"``).
    statistic : float or None
        The number the verdict rests on; ``threshold`` says what it is.
    p_value : float or None
        The p-value, for checks that are tests.
    threshold : str
        The statistic's name and the rule, e.g. ``"max VIF: warn > 5, fail > 10"``.
    verdict : {"pass", "warn", "fail"}
    consequence : str
        What the finding means for the analysis, in one plain sentence.
    remedy : str
        What to do about it, in one sentence.
    details : DataFrame or None
        The tidy table behind the statistic (not part of :meth:`to_record`).
    """

    name: str
    statistic: float | None
    p_value: float | None
    threshold: str
    verdict: str
    consequence: str
    remedy: str
    details: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}; got {self.verdict!r}.")

    def to_record(self) -> dict:
        """JSON-safe dict of everything but ``details`` (non-finite numbers become ``None``)."""
        return {
            "name": self.name,
            "statistic": _finite_or_none(self.statistic),
            "p_value": _finite_or_none(self.p_value),
            "threshold": self.threshold,
            "verdict": self.verdict,
            "consequence": self.consequence,
            "remedy": self.remedy,
        }


def _finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def vif_check(vif: pd.DataFrame, spec: FeatureSpec) -> Check:
    """The multicollinearity check; a formula's main effects are judged among themselves (``vif_main_effects``)."""
    judged = vif
    products = ""
    if "vif_main_effects" in vif.columns:
        judged = vif.dropna(subset=["vif_main_effects"]).drop(columns="vif").rename(columns={"vif_main_effects": "vif"})
        full = vif.loc[vif["vif"].idxmax()]
        products = (
            f" (among the formula's main effects; its interaction and curvature columns correlate with their parts "
            f"by construction, which inflates VIFs, up to {full['vif']:.2f} for {full['feature']}, without making "
            "any test less valid)"
        )
    worst = judged.loc[judged["vif"].idxmax()]
    value = float(worst["vif"])
    verdict = "fail" if value > VIF_FAIL else "warn" if value > VIF_WARN else "pass"
    dropped = [c for c, why in spec.dropped.items() if why.startswith("VIF")]
    already = f"The VIF rule already dropped {', '.join(dropped)}. " if dropped else ""
    return Check(
        name="Multicollinearity (VIF)",
        statistic=value,
        p_value=None,
        threshold=f"largest VIF of the final design: warn > {VIF_WARN:g}, fail > {VIF_FAIL:g}",
        verdict=verdict,
        consequence=(
            f"The largest VIF is {value:.2f} ({worst['feature']}){products}: correlation among the predictors "
            f"widens that coefficient's standard error {math.sqrt(value):.2f}-fold, without biasing predictions."
        ),
        remedy=already + (
            "None needed." if verdict == "pass"
            else "Drop or combine the most correlated predictors (such as rates per view) and refit."
        ),
        details=vif,
    )
