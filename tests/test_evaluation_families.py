"""Test metrics of the non-binary models (``evaluation/families.py``), recomputed by hand
from an independent reference fit (statsmodels on a design built here with numpy) or from
the predictions themselves (numpy, pandas and scipy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.stats import mannwhitneyu
from statsmodels.miscmodels.ordinal_model import OrderedModel

from tiktok_claims import config
from tiktok_claims.approach import ORDERED_LEVELS, Family
from tiktok_claims.evaluation.families import (
    CALIBRATION_GROUPS,
    by_decile,
    evaluate_family,
)
from tiktok_claims.model.families import fit_family


def poisson_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return 2 * np.sum(term - (y - mu))


def test_count_model_test_metrics_equal_hand_computations(family_parts, design_by_hand):
    parts = family_parts(config.VIEWS)
    approach, train, test, spec = parts.approach, parts.train, parts.test, parts.spec
    evaluation = evaluate_family(fit_family(train, spec, approach), train, test)
    x = sm.add_constant(design_by_hand(train, train, spec))
    y = train[config.VIEWS].astype(float)
    if approach.family is Family.NEGATIVE_BINOMIAL:
        params = sm.NegativeBinomial(y, x).fit(disp=False, maxiter=1000, method="bfgs").params.drop("alpha")
    else:
        params = sm.GLM(y, x, family=sm.families.Poisson()).fit().params
    mu = np.exp(sm.add_constant(design_by_hand(train, test, spec))[params.index].to_numpy() @ params.to_numpy())
    observed = test[config.VIEWS].to_numpy(dtype=float)
    np.testing.assert_allclose(evaluation.predictions["predicted"], mu, rtol=1e-3)

    d2 = 1 - poisson_deviance(observed, mu) / poisson_deviance(observed, np.full_like(observed, observed.mean()))
    assert evaluation.test["d2_poisson_deviance"] == pytest.approx(d2, rel=1e-3)
    assert evaluation.test["mae"] == pytest.approx(np.mean(np.abs(observed - mu)), rel=1e-3)
    assert evaluation.test["mae_mean_baseline"] == pytest.approx(np.mean(np.abs(observed - y.mean())))
    # From the predictions themselves: the baseline is the training mean, never the test mean.
    predicted = evaluation.predictions["predicted"].to_numpy()
    baseline = np.full_like(observed, y.mean())
    assert evaluation.test["mean_poisson_deviance"] == pytest.approx(poisson_deviance(observed, predicted) / len(observed), rel=1e-9)
    assert evaluation.test["mean_poisson_deviance_mean_baseline"] == pytest.approx(
        poisson_deviance(observed, baseline) / len(observed), rel=1e-9
    )
    assert evaluation.test["spearman"] == pytest.approx(pd.Series(observed).corr(pd.Series(predicted), method="spearman"), rel=1e-9)
    assert evaluation.test["mean_predicted_over_observed"] == pytest.approx(predicted.mean() / observed.mean(), rel=1e-12)
    assert (evaluation.test["largest_prediction"], evaluation.test["largest_observed"]) == (predicted.max(), observed.max())


def test_ordinal_model_counts_its_confusion_from_the_reference_probabilities(family_parts, design_by_hand):
    parts = family_parts(config.BAN)
    approach, train, test, spec = parts.approach, parts.train, parts.test, parts.spec
    evaluation = evaluate_family(fit_family(train, spec, approach), train, test)
    levels = list(ORDERED_LEVELS[config.BAN])
    codes = pd.Categorical(train[config.BAN], categories=levels, ordered=True).codes
    reference = OrderedModel(codes, design_by_hand(train, train, spec), distr="logit").fit(method="bfgs", disp=False, maxiter=1000)
    # The confusion table and accuracy from the reference's own predicted probabilities.
    probabilities = reference.model.predict(reference.params, exog=design_by_hand(train, test, spec).to_numpy())
    predicted = np.asarray(levels)[probabilities.argmax(axis=1)]
    assert evaluation.test["accuracy"] == pytest.approx(np.mean(predicted == test[config.BAN].to_numpy()))
    table = evaluation.test_table.set_index("observed")
    for observed_level in levels:
        for predicted_level in levels:
            expected = int(np.sum((test[config.BAN].to_numpy() == observed_level) & (predicted == predicted_level)))
            assert table.loc[observed_level, predicted_level] == expected
    assert table.to_numpy().sum() == len(test)
    majority = pd.Series(codes).value_counts().idxmax()
    assert evaluation.test["accuracy_majority_baseline"] == pytest.approx(np.mean(test[config.BAN] == levels[majority]))


def test_ordinal_probability_metrics_equal_hand_computations(family_parts):
    parts = family_parts(config.BAN)
    approach, train, test, spec = parts.approach, parts.train, parts.test, parts.spec
    evaluation = evaluate_family(fit_family(train, spec, approach), train, test)
    levels = list(ORDERED_LEVELS[config.BAN])
    p = evaluation.predictions[[f"p_{level}" for level in levels]].to_numpy()
    observed = pd.Categorical(test[config.BAN], categories=levels, ordered=True).codes
    prior = train[config.BAN].value_counts(normalize=True).reindex(levels).to_numpy()

    assert np.allclose(p.sum(axis=1), 1)
    assert evaluation.test["log_loss"] == pytest.approx(-np.mean(np.log(p[np.arange(len(p)), observed])), rel=1e-9)
    assert evaluation.test["log_loss_prior_baseline"] == pytest.approx(-np.mean(np.log(prior[observed])), rel=1e-9)
    assert evaluation.test["mean_abs_level_error"] == pytest.approx(np.mean(np.abs(p @ np.arange(3) - observed)), rel=1e-12)
    for k, level in enumerate(levels[1:], start=1):
        at_least, score = observed >= k, p[:, k:].sum(axis=1)
        u = mannwhitneyu(score[at_least], score[~at_least]).statistic
        key = f"roc_auc_at_least_{level.replace(' ', '_')}"
        assert evaluation.test[key] == pytest.approx(u / (at_least.sum() * (~at_least).sum()), rel=1e-9)
    assert list(evaluation.predictions["observed"]) == list(test[config.BAN])


def test_ols_test_metrics_equal_hand_computations(family_parts, design_by_hand):
    parts = family_parts(config.DURATION)
    approach, train, test, spec = parts.approach, parts.train, parts.test, parts.spec
    assert approach.family is Family.OLS  # durations are uniform: not skewed, so not on the log scale
    evaluation = evaluate_family(fit_family(train, spec, approach), train, test)
    x = sm.add_constant(design_by_hand(train, train, spec)).to_numpy()
    y = train[config.DURATION].to_numpy(dtype=float)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    predicted = sm.add_constant(design_by_hand(train, test, spec)).to_numpy() @ beta
    observed = test[config.DURATION].to_numpy(dtype=float)
    residual, baseline = observed - predicted, observed - y.mean()

    np.testing.assert_allclose(evaluation.predictions["predicted"], predicted, rtol=1e-9)
    assert evaluation.test["r2"] == pytest.approx(1 - residual @ residual / np.sum((observed - observed.mean()) ** 2), rel=1e-9)
    assert evaluation.test["rmse"] == pytest.approx(np.sqrt(np.mean(residual**2)), rel=1e-9)
    assert evaluation.test["rmse_mean_baseline"] == pytest.approx(np.sqrt(np.mean(baseline**2)), rel=1e-12)
    assert evaluation.test["mae"] == pytest.approx(np.mean(np.abs(residual)), rel=1e-9)
    assert evaluation.test["mae_mean_baseline"] == pytest.approx(np.mean(np.abs(baseline)), rel=1e-12)


@pytest.mark.parametrize("n", [10, 95, 1003])
def test_deciles_split_the_sorted_predictions_into_near_equal_ordered_groups(n):
    rng = np.random.default_rng(n)
    predicted = rng.lognormal(size=n)
    observed = predicted * rng.uniform(0.5, 1.5, size=n)

    table = by_decile(observed, predicted)

    assert len(table) == CALIBRATION_GROUPS == 10
    assert table["n"].sum() == n and table["n"].max() - table["n"].min() <= 1
    assert (table["predicted_high"].to_numpy()[:-1] <= table["predicted_low"].to_numpy()[1:]).all()
    # Group by group, from the sorted predictions by hand.
    order = np.sort(predicted)
    bounds = np.concatenate([[0], np.cumsum(table["n"])])
    for (_, row), low, high in zip(table.iterrows(), bounds[:-1], bounds[1:]):
        assert row["mean_predicted"] == pytest.approx(order[low:high].mean(), rel=1e-12)
        assert (row["predicted_low"], row["predicted_high"]) == (order[low], order[high - 1])
    assert (table["n"] * table["mean_observed"]).sum() == pytest.approx(observed.sum(), rel=1e-12)
