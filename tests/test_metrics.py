"""Test-set metrics against hand computations (numpy counts, Mann–Whitney U)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.stats import mannwhitneyu

from tiktok_claims import config
from tiktok_claims.evaluation.metrics import (
    BOOTSTRAP_STREAM,
    bootstrap_intervals,
    calibration,
    choose_threshold,
    evaluate,
    per_thousand,
    weighted_metrics,
)

LABELS = ("not verified", "verified")


@pytest.fixture(scope="session")
def scored_test(real_analysis):
    """Test rows' raw labels (True = verified) and scores, aligned by row."""
    test = real_analysis.dataset.frame.loc[real_analysis.split.test]
    scores = real_analysis.test_scores.loc[test.index].to_numpy()
    return (test[config.VERIFIED] == "verified").to_numpy(), scores


def hand_auc(truth: np.ndarray, score: np.ndarray) -> float:
    """Share of (positive, negative) pairs ranked correctly; ties count half."""
    pos, neg = score[truth == 1], score[truth == 0]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return (greater + 0.5 * ties) / (len(pos) * len(neg))


def hand_average_precision(truth: np.ndarray, score: np.ndarray) -> float:
    """Mean, over the positives, of the precision among rows scored at least as high."""
    truth = np.asarray(truth, dtype=bool)
    precisions = [truth[score >= s].mean() for s in score[truth]]
    return float(np.mean(precisions))


# ---------------------------------------------------------------- made-up example

# Threshold 0.5. Positives 0.9, 0.8, 0.6 are caught (TP 3); 0.4, 0.2 are missed (FN 2).
# Negatives 0.7 and 0.5 (exactly at the threshold) are flagged (FP 2); five are not (TN 5).
MADE_UP_TRUTH = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
MADE_UP_SCORE = np.array([0.9, 0.8, 0.6, 0.4, 0.2, 0.7, 0.5, 0.3, 0.1, 0.05, 0.45, 0.35])
TP, FN, FP, TN = 3, 2, 2, 5


def test_evaluate_matches_counts_on_a_made_up_example():
    result = evaluate(MADE_UP_TRUTH, MADE_UP_SCORE, labels=LABELS, threshold=0.5)
    m = result.metrics

    assert m["n"] == 12 and m["n_positive"] == 5 and m["predicted_positive"] == TP + FP
    assert m["precision"] == pytest.approx(TP / (TP + FP))
    assert m["recall"] == pytest.approx(TP / (TP + FN))
    assert m["f1"] == pytest.approx(2 * TP / (2 * TP + FP + FN))
    assert m["accuracy"] == pytest.approx((TP + TN) / 12)
    assert m["base_rate"] == pytest.approx(5 / 12)
    assert m["roc_auc"] == pytest.approx(hand_auc(MADE_UP_TRUTH, MADE_UP_SCORE))
    assert m["average_precision"] == pytest.approx(hand_average_precision(MADE_UP_TRUTH, MADE_UP_SCORE))
    assert result.confusion.to_numpy().tolist() == [[TN, FP], [FN, TP]]
    assert list(result.confusion.index) == ["actual not verified", "actual verified"]
    assert list(result.confusion.columns) == ["predicted not verified", "predicted verified"]


def test_per_class_rows_are_not_swapped():
    per_class = evaluate(MADE_UP_TRUTH, MADE_UP_SCORE, labels=LABELS, threshold=0.5).per_class.set_index("class")

    assert per_class.loc["verified", "precision"] == pytest.approx(TP / (TP + FP))
    assert per_class.loc["verified", "recall"] == pytest.approx(TP / (TP + FN))
    assert per_class.loc["not verified", "precision"] == pytest.approx(TN / (TN + FN))
    assert per_class.loc["not verified", "recall"] == pytest.approx(TN / (TN + FP))
    assert per_class["support"].tolist() == [TN + FP, TP + FN]


def test_choose_threshold_maximizes_f1_by_brute_force():
    rng = np.random.default_rng(5)
    truth = (rng.uniform(size=300) < 0.2).astype(int)
    score = np.round(rng.uniform(size=300) * 0.5 + 0.3 * truth, 2)  # rounding makes ties
    f1 = {t: 2 * ((score >= t) & (truth == 1)).sum() / ((score >= t).sum() + truth.sum()) for t in np.unique(score)}

    choice = choose_threshold(truth, score, rule="f1")

    assert choice.threshold in f1
    assert f1[choice.threshold] == pytest.approx(max(f1.values()))
    assert evaluate(truth, score, labels=LABELS, threshold=choice.threshold).metrics["f1"] == pytest.approx(max(f1.values()))


def test_recall_rule_takes_the_highest_threshold_reaching_the_target():
    truth = MADE_UP_TRUTH
    recall = {t: ((MADE_UP_SCORE >= t) & (truth == 1)).sum() / truth.sum() for t in MADE_UP_SCORE}
    expected = max(t for t, r in recall.items() if r >= 0.8)

    assert choose_threshold(truth, MADE_UP_SCORE, rule="recall", target_recall=0.8).threshold == expected


def tied_scores(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """0/1 truth (about 10% positive) and scores rounded so that many rows tie, across classes too."""
    rng = np.random.default_rng(seed)
    truth = (rng.uniform(size=rows) < 0.1).astype(int)
    score = np.round(rng.uniform(size=rows) * 0.6 + 0.3 * truth, 2)
    return truth, score


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_weighted_metrics_equal_sklearn_with_sample_weights(seed):
    from sklearn import metrics as skm

    truth, score = tied_scores(400, seed)
    rng = np.random.default_rng(seed + 100)
    weights = np.vstack([
        rng.multinomial(len(truth), np.full(len(truth), 1 / len(truth)), size=3),  # bootstrap counts
        rng.uniform(0.1, 3, size=(2, len(truth))),  # and arbitrary positive weights
    ]).astype(float)

    got = weighted_metrics(truth, score, weights, threshold=0.5)

    for row, w in zip(got.itertuples(), weights):
        flagged = (score >= 0.5).astype(int)
        assert row.roc_auc == pytest.approx(skm.roc_auc_score(truth, score, sample_weight=w), rel=1e-12)
        assert row.average_precision == pytest.approx(
            skm.average_precision_score(truth, score, sample_weight=w), rel=1e-12
        )
        assert row.precision == pytest.approx(skm.precision_score(truth, flagged, sample_weight=w), rel=1e-12)
        assert row.recall == pytest.approx(skm.recall_score(truth, flagged, sample_weight=w), rel=1e-12)
        assert row.f1 == pytest.approx(skm.f1_score(truth, flagged, sample_weight=w), rel=1e-12)
        assert row.log_loss == pytest.approx(skm.log_loss(truth, score, sample_weight=w), rel=1e-12)
        assert row.brier == pytest.approx(skm.brier_score_loss(truth, score, sample_weight=w), rel=1e-12)


def test_bootstrap_intervals_are_percentiles_of_sklearn_metrics_on_the_seeded_resamples():
    from sklearn import metrics as skm

    truth, score = tied_scores(300, 4)
    seed, resamples = 9, 200
    # The documented resamples: multinomial row counts from the seed's own stream.
    counts = np.random.default_rng([seed, BOOTSTRAP_STREAM]).multinomial(
        len(truth), np.full(len(truth), 1 / len(truth)), size=resamples
    )
    drawn = [np.repeat(np.arange(len(truth)), c) for c in counts]
    drawn = [rows for rows in drawn if 0 < truth[rows].sum() < len(rows)]
    auc = [skm.roc_auc_score(truth[rows], score[rows]) for rows in drawn]
    ap = [skm.average_precision_score(truth[rows], score[rows]) for rows in drawn]

    got = bootstrap_intervals(truth, score, threshold=0.5, n_resamples=resamples, seed=seed).set_index("metric")

    assert got.loc["roc_auc", "resamples"] == len(drawn)
    assert got.loc["roc_auc", "estimate"] == pytest.approx(skm.roc_auc_score(truth, score), rel=1e-12)
    assert got.loc["roc_auc", ["ci_low", "ci_high"]].tolist() == pytest.approx(np.quantile(auc, [0.025, 0.975]), rel=1e-12)
    assert got.loc["average_precision", ["ci_low", "ci_high"]].tolist() == pytest.approx(
        np.quantile(ap, [0.025, 0.975]), rel=1e-12
    )


def test_ranking_metrics_in_batches_equal_one_replicate_at_a_time(monkeypatch):
    from tiktok_claims.evaluation import metrics

    truth, score = tied_scores(300, 4)
    counts = np.random.default_rng(3).multinomial(len(truth), np.full(len(truth), 1 / len(truth)), size=70)
    assert len(counts) % metrics.RANKING_BATCH != 0  # full batches and a partial one
    batched = metrics._weighted_ranking_metrics(truth.astype(float), score, counts.astype(float))
    monkeypatch.setattr(metrics, "RANKING_BATCH", 1)
    alone = metrics._weighted_ranking_metrics(truth.astype(float), score, counts.astype(float))

    for key in ("roc_auc", "average_precision"):
        np.testing.assert_array_equal(batched[key], alone[key])


# ---------------------------------------------------------------- real analysis


def test_threshold_metrics_equal_hand_counts_with_verified_as_positive(real_analysis, scored_test):
    verified, scores = scored_test
    flagged = scores >= real_analysis.threshold.threshold
    tp = int(np.sum(verified & flagged))
    fp = int(np.sum(~verified & flagged))
    fn = int(np.sum(verified & ~flagged))
    tn = int(np.sum(~verified & ~flagged))
    m = real_analysis.evaluation.metrics

    assert tp > 0 and fp > 0
    assert m["precision"] == pytest.approx(tp / (tp + fp), rel=1e-12)
    assert m["recall"] == pytest.approx(tp / (tp + fn), rel=1e-12)
    assert m["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn), rel=1e-12)
    assert m["accuracy"] == pytest.approx((tp + tn) / len(scores), rel=1e-12)
    assert m["predicted_positive"] == tp + fp
    assert real_analysis.evaluation.confusion.loc["actual verified", "predicted verified"] == tp
    assert real_analysis.evaluation.confusion.loc["actual not verified", "predicted verified"] == fp
    assert real_analysis.evaluation.labels == LABELS


def test_roc_auc_equals_the_mann_whitney_statistic(real_analysis, scored_test):
    verified, scores = scored_test
    u = mannwhitneyu(scores[verified], scores[~verified]).statistic

    assert real_analysis.evaluation.metrics["roc_auc"] == pytest.approx(u / (verified.sum() * (~verified).sum()), rel=1e-12)


def test_average_precision_equals_a_hand_computation(real_analysis, scored_test):
    verified, scores = scored_test

    assert real_analysis.evaluation.metrics["average_precision"] == pytest.approx(
        hand_average_precision(verified, scores), rel=1e-9
    )


def test_test_part_is_untouched_and_keeps_the_natural_prevalence(real_analysis, scored_test):
    verified, _ = scored_test
    frame = real_analysis.dataset.frame
    m = real_analysis.evaluation.metrics
    prevalence = float((frame[config.VERIFIED] == "verified").mean())

    assert m["n"] == len(verified) == math.ceil(config.TEST_SIZE * len(frame))
    assert m["base_rate"] == pytest.approx(verified.mean(), rel=1e-12)
    assert m["n_positive"] == int(verified.sum())
    assert abs(m["base_rate"] - prevalence) < 0.005
    assert 0.05 < m["base_rate"] < 0.08
    assert set(real_analysis.test_scores.index) == set(real_analysis.split.test)
    assert not set(real_analysis.split.test) & set(real_analysis.split.train)


def test_threshold_maximizes_f1_on_training_scores(real_analysis):
    train = real_analysis.dataset.frame.loc[real_analysis.split.train]
    truth = (train[config.VERIFIED] == "verified").to_numpy()
    scores = real_analysis.classifier.predict_proba(train[list(real_analysis.features.columns)])
    positive_scores = np.sort(scores[truth])
    all_scores = np.sort(scores)
    candidates = np.unique(scores)
    tp = len(positive_scores) - np.searchsorted(positive_scores, candidates, side="left")
    flagged = len(all_scores) - np.searchsorted(all_scores, candidates, side="left")
    f1 = 2 * tp / (flagged + truth.sum())
    threshold = real_analysis.threshold.threshold

    assert threshold in set(scores)  # a training score, never a test score
    assert f1[np.searchsorted(candidates, threshold)] == pytest.approx(f1.max(), rel=1e-12)


def test_bootstrap_point_estimates_equal_the_test_metrics(real_analysis, scored_test):
    from sklearn.metrics import brier_score_loss, log_loss

    verified, scores = scored_test
    record = real_analysis.metrics()
    for key in ("roc_auc", "average_precision", "accuracy", "precision", "recall", "f1", "base_rate"):
        assert record["test_ci"][key]["estimate"] == pytest.approx(record["test"][key], rel=1e-9), key
        assert record["test_ci"][key]["ci_low"] <= record["test"][key] <= record["test_ci"][key]["ci_high"], key
    assert record["test_ci"]["log_loss"]["estimate"] == pytest.approx(log_loss(verified, scores), rel=1e-9)
    assert record["test_ci"]["brier"]["estimate"] == pytest.approx(brier_score_loss(verified, scores), rel=1e-9)
    assert record["calibration"]["brier"] == pytest.approx(np.mean((scores - verified) ** 2), rel=1e-9)
    assert record["calibration"]["observed_rate"] == pytest.approx(verified.mean(), rel=1e-12)


def test_per_thousand_videos_equals_hand_counts(real_analysis, scored_test):
    verified, scores = scored_test
    flagged = scores >= real_analysis.threshold.threshold
    n = len(scores)

    numbers = per_thousand(real_analysis.evaluation.metrics)

    assert numbers["flagged"] == pytest.approx(1000 * flagged.sum() / n)
    assert numbers["flagged_positive"] == pytest.approx(1000 * (flagged & verified).sum() / n)
    assert numbers["positives"] == pytest.approx(1000 * verified.sum() / n)


def test_calibration_of_confident_scores_warns_of_nothing():
    # Scores at the clipping bounds with a few wrong: the slope's IRLS passes through
    # linear predictors beyond 709, where exp overflows (a RuntimeWarning, an error here).
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 400)
    score = np.where(y == 1, 1 - 1e-13, 1e-13)
    score[:6] = 1 - score[:6]
    curve, summary = calibration(y, score)
    clipped = np.clip(score, 1e-12, 1 - 1e-12)
    separated = clipped[y == 0].max() <= clipped[y == 1].min()  # the flipped rows may all be of one class
    assert summary["separated"] is bool(separated)
    assert (summary["slope"] is None) if separated else np.isfinite(summary["slope"])
    assert np.isfinite(summary["intercept"])
    assert summary["brier"] == pytest.approx(np.mean((np.clip(score, 1e-12, 1 - 1e-12) - y) ** 2))


@pytest.mark.parametrize("tie", [False, True])
def test_scores_that_separate_the_classes_have_no_calibration_slope(tie):
    """Every positive scored at least as high as every negative: the slope's estimate is infinite
    (statsmodels' fit stops at some large number and warns, an error here); it is None, said so."""
    rng = np.random.default_rng(5)
    y = np.r_[np.zeros(200), np.ones(100)].astype(int)
    score = np.where(y == 1, rng.uniform(0.6, 0.99, len(y)), rng.uniform(0.01, 0.6, len(y)))
    if tie:
        score[0], score[-1] = 0.6, 0.6  # quasi-complete: a negative and a positive on the boundary

    _, summary = calibration(y, score)

    assert summary["slope"] is None and summary["separated"] is True
    logit = np.log(score / (1 - score))
    offset_only = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=logit).fit()
    assert summary["intercept"] == pytest.approx(offset_only.params[0], rel=1e-9)


def test_overlapping_scores_have_the_slope_of_an_independent_logit():
    rng = np.random.default_rng(6)
    score = rng.uniform(0.02, 0.98, 500)
    y = (rng.random(500) < score).astype(int)

    _, summary = calibration(y, score)

    logit = np.log(score / (1 - score))
    assert summary["separated"] is False
    assert summary["slope"] == pytest.approx(sm.Logit(y, sm.add_constant(logit)).fit(disp=False).params[1], rel=1e-6)
