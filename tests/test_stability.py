"""Holm's adjustment and bootstrap stability (model/stability.py), against statsmodels and hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.stats.multitest import multipletests

from tiktok_claims.model import stability
from tiktok_claims.model.firth import firth
from tiktok_claims.model.stability import _newton_refits, bootstrap_stability, holm


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
    beta, se, converged = _newton_refits(frame.to_numpy(), y.to_numpy(), weights[None], start=np.zeros(3))
    keep = np.repeat(np.arange(len(y)), weights.astype(int))
    reference = sm.Logit(y.to_numpy()[keep], frame.to_numpy()[keep]).fit(disp=False)
    assert converged.tolist() == [True]
    np.testing.assert_allclose(beta[0], reference.params, atol=1e-7)
    np.testing.assert_allclose(se[0], reference.bse, rtol=1e-6)


def test_refits_side_by_side_equal_statsmodels_frequency_weighted_fits(design):
    frame, y = design
    x = frame.to_numpy()
    n = len(y)
    weights = np.random.default_rng(4).multinomial(n, np.full(n, 1 / n), size=5).astype(float)
    start = sm.Logit(y, frame).fit(disp=False).params.to_numpy()
    beta, se, converged = _newton_refits(x, y.to_numpy(), weights, start)
    assert converged.all()
    for k in range(len(weights)):
        reference = GLM(y.to_numpy(), x, family=families.Binomial(), freq_weights=weights[k]).fit(tol=1e-12)
        np.testing.assert_allclose(beta[k], reference.params, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(se[k], reference.bse, rtol=1e-8)


def one_refit_at_a_time(design, y, estimates, *, penalized, refits, seed, alpha=0.05):
    """bootstrap_stability as a plain loop: one multinomial draw and one Newton (or Firth) fit per refit."""
    x, outcome, names = design.to_numpy(dtype=float), np.asarray(y, dtype=float), list(design.columns)
    slopes = [j for j, name in enumerate(names) if name != "const"]
    start = estimates.reindex(names).to_numpy()
    rng = np.random.default_rng([seed, stability.STABILITY_STREAM])
    same_sign, significant, usable = np.zeros(len(slopes)), np.zeros(len(slopes)), 0
    for _ in range(refits):
        weights = rng.multinomial(len(outcome), np.full(len(outcome), 1 / len(outcome))).astype(float)
        if penalized:
            fit = firth(x, outcome, weights, start=start)
            if not fit.converged:
                continue
            beta, se = fit.beta, fit.se
        else:
            beta, fitted = start.copy(), None
            for _ in range(stability.NEWTON_MAX_ITER):
                p = expit(x @ beta)
                try:
                    step = np.linalg.solve(x.T @ (x * (weights * p * (1 - p))[:, None]), x.T @ (weights * (outcome - p)))
                except np.linalg.LinAlgError:
                    break
                beta = beta + step
                if np.max(np.abs(step)) < stability.NEWTON_TOLERANCE:
                    p = expit(x @ beta)
                    fitted = np.sqrt(np.diag(np.linalg.inv(x.T @ (x * (weights * p * (1 - p))[:, None]))))
                    break
            if fitted is None:
                continue
            se = fitted
        p_values = 2 * stats.norm.sf(np.abs(beta[slopes] / se[slopes]))
        same_sign += np.sign(beta[slopes]) == np.sign(start[slopes])
        significant += holm(p_values) < alpha  # as statsmodels' multipletests (tested above), faster
        usable += 1
    return same_sign, significant, usable


@pytest.fixture(scope="module")
def rare_indicator():
    """A design with a rare indicator whose few rows are all positive in some resamples (separation)."""
    rng = np.random.default_rng(8)
    n = 400
    rare = np.zeros(n)
    rare[rng.choice(n, 4, replace=False)] = 1.0
    frame = pd.DataFrame({"const": 1.0, "x": rng.normal(size=n), "weak": rng.normal(size=n), "rare": rare})
    y = (rng.random(n) < expit(-0.5 + 0.8 * frame["x"] + 0.1 * frame["weak"])).astype(float)
    y[rare == 1] = [1.0, 1.0, 1.0, 0.0]
    return frame, pd.Series(y)


@pytest.mark.parametrize("data", ["design", "rare_indicator"])
@pytest.mark.parametrize("products_kept", [True, False])
def test_the_shares_are_those_of_one_refit_at_a_time(data, products_kept, request, monkeypatch):
    frame, y = request.getfixturevalue(data)
    estimates = sm.Logit(y, frame).fit(disp=False).params
    # Small batches, so that several batches and the refits dropping out of one are exercised.
    monkeypatch.setattr(stability, "BATCH_CELLS", 7 * len(y))
    if not products_kept:  # the pairwise column products made block by block, as for a large design
        monkeypatch.setattr(stability, "PAIR_PRODUCT_BYTES", 0)
    table = bootstrap_stability(frame, y, estimates, penalized=False, refits=60, seed=9)
    same_sign, significant, usable = one_refit_at_a_time(frame, y, estimates, penalized=False, refits=60, seed=9)

    if data == "rare_indicator":
        assert 0 < usable < 60  # some resamples separate: their refits do not converge and are left out
    assert (table["refits"] == usable).all()
    np.testing.assert_array_equal(table["same_sign"], same_sign / usable)
    np.testing.assert_array_equal(table["significant"], significant / usable)


def test_penalized_refits_are_those_of_one_firth_fit_at_a_time(rare_indicator):
    frame, y = rare_indicator
    estimates = pd.Series(firth(frame.to_numpy(), y.to_numpy()).beta, index=frame.columns)
    table = bootstrap_stability(frame, y, estimates, penalized=True, refits=8, seed=2)
    same_sign, significant, usable = one_refit_at_a_time(frame, y, estimates, penalized=True, refits=8, seed=2)

    assert (table["refits"] == usable).all() and usable > 0
    np.testing.assert_array_equal(table["same_sign"], same_sign / usable)
    np.testing.assert_array_equal(table["significant"], significant / usable)


def test_a_batch_of_draws_is_the_draws_one_at_a_time():
    n = 50
    batch = np.random.default_rng([3, stability.STABILITY_STREAM]).multinomial(n, np.full(n, 1 / n), size=4)
    rng = np.random.default_rng([3, stability.STABILITY_STREAM])
    np.testing.assert_array_equal(batch, [rng.multinomial(n, np.full(n, 1 / n)) for _ in range(4)])


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
