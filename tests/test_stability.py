"""Holm's adjustment and bootstrap stability (model/stability.py), against statsmodels and hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit
from statsmodels.stats.multitest import multipletests

from tiktok_claims.model.stability import _refit, bootstrap_stability, holm


def test_holm_equals_statsmodels_on_random_p_values():
    # statsmodels collects garbage on every call: a few dozen comparisons keep the test quick.
    rng = np.random.default_rng(0)
    for size in (1, 2, 8, 30):
        for _ in range(8):
            p = rng.random(size) ** 3
            np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1])
    assert holm([]).size == 0


def test_holm_by_hand():
    # Sorted 0.01, 0.02, 0.04 with m = 3: 0.03, max(0.03, 0.04) = 0.04, max(0.04, 0.04) = 0.04.
    np.testing.assert_allclose(holm([0.04, 0.01, 0.02]), [0.04, 0.03, 0.04])


@pytest.fixture(scope="module")
def design():
    rng = np.random.default_rng(1)
    n = 2000
    frame = pd.DataFrame({"const": 1.0, "strong": rng.normal(size=n), "null": rng.normal(size=n)})
    y = (rng.random(n) < expit(-0.3 + 1.2 * frame["strong"])).astype(float)
    return frame, pd.Series(y)


def test_a_weighted_refit_equals_statsmodels_on_the_replicated_rows(design):
    frame, y = design
    weights = np.random.default_rng(2).integers(0, 3, len(y)).astype(float)
    beta, se = _refit(frame.to_numpy(), y.to_numpy(), weights, penalized=False, start=np.zeros(3))
    keep = np.repeat(np.arange(len(y)), weights.astype(int))
    reference = sm.Logit(y.to_numpy()[keep], frame.to_numpy()[keep]).fit(disp=False)
    np.testing.assert_allclose(beta, reference.params, atol=1e-7)
    np.testing.assert_allclose(se, reference.bse, rtol=1e-6)


def test_a_strong_term_is_stable_and_a_null_term_is_not(design):
    frame, y = design
    estimates = sm.Logit(y, frame).fit(disp=False).params
    table = bootstrap_stability(frame, y, estimates, penalized=False, refits=100, seed=3).set_index("name")
    assert list(table.index) == ["strong", "null"]
    assert table.loc["strong", "same_sign"] == 1.0 and table.loc["strong", "significant"] == 1.0
    assert table.loc["null", "significant"] < 0.3
    assert (table["refits"] == 100).all()


def test_stability_is_reproducible_for_a_seed_and_varies_with_it(design):
    frame, y = design
    estimates = sm.Logit(y, frame).fit(disp=False).params
    first = bootstrap_stability(frame, y, estimates, penalized=False, refits=40, seed=5)
    again = bootstrap_stability(frame, y, estimates, penalized=False, refits=40, seed=5)
    other = bootstrap_stability(frame, y, estimates, penalized=False, refits=40, seed=6)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


def test_no_refits_gives_missing_shares(design):
    frame, y = design
    estimates = sm.Logit(y, frame).fit(disp=False).params
    table = bootstrap_stability(frame, y, estimates, penalized=False, refits=0, seed=1)
    assert table["same_sign"].isna().all() and (table["refits"] == 0).all()
