"""The separating rule in words (interpretation/separation.py), against a brute-force search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tiktok_claims import config
from tiktok_claims.interpretation.separation import estimation_reason, separating_rule


def _brute_force(x: np.ndarray, y: np.ndarray) -> tuple[float, bool, int]:
    """The threshold (and direction) misclassifying the fewest rows, trying every distinct value."""
    best = None
    for t in np.unique(x):
        for high_positive in (True, False):
            predicted = (x >= t) if high_positive else (x < t)
            errors = int(np.sum(predicted != (y == 1)))
            if best is None or errors < best[2] or (errors == best[2] and t < best[0] and high_positive >= best[1]):
                best = (float(t), high_positive, errors)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_the_threshold_is_the_best_single_split(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 50, 300).astype(float)
    y = ((x + rng.normal(0, 8, 300)) > (20 if seed % 2 else 35)).astype(int)
    if seed >= 4:
        y = 1 - y  # low values positive
    rule = separating_rule(pd.Series(x), pd.Series(y), config.VIEWS, "claim", "opinion")
    threshold, high_positive, errors = _brute_force(x, y)
    assert rule["misclassified_share"] == pytest.approx(errors / len(y))
    high = x >= rule["threshold"]
    assert rule["high_class"] == ("claim" if np.mean(y[high]) >= 0.5 else "opinion")
    assert rule["high_rows"] == int(high.sum()) and rule["low_rows"] == int((~high).sum())
    assert rule["high_share"] == pytest.approx(np.mean(y[high] == (1 if rule["high_class"] == "claim" else 0)))
    assert f"at least {rule['threshold']:,.0f} views" in rule["sentence"]


def test_a_dummy_rule_names_its_level():
    values = pd.Series(["banned"] * 40 + ["active"] * 60)
    y = pd.Series([1] * 38 + [0] * 2 + [1] * 3 + [0] * 57)
    rule = separating_rule(values, y, f"{config.BAN}_banned", "claim", "opinion")
    assert rule["high_class"] == "claim" and rule["high_share"] == pytest.approx(38 / 40)
    assert rule["low_share"] == pytest.approx(57 / 60)
    assert "author ban status 'banned'" in rule["sentence"]


def test_the_estimation_reason_is_true_for_each_kind():
    assert "infinite" not in estimation_reason("near", penalized=True, rows=100, leading="v", misclassified_share=0.01, firth_shift=0.05)
    assert "exist and are finite" in estimation_reason("near", penalized=True, rows=100, leading="v", misclassified_share=0.01, firth_shift=0.05)
    assert "5.0%" in estimation_reason("near", penalized=True, rows=100, leading="v", misclassified_share=0.01, firth_shift=0.05)
    assert "infinite" in estimation_reason("complete", penalized=True, rows=100)
    assert "of a, b are infinite" in estimation_reason("quasi-complete", penalized=True, rows=100, infinite=("a", "b"))
    assert "No separation" in estimation_reason("none", penalized=False, rows=100)
    assert "Wald limits" in estimation_reason("near", penalized=True, rows=100, leading="v", misclassified_share=0.01, wald_fallback=("x",))
