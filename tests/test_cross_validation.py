"""Cross-validation against an independent computation: every model's whole pipeline
cloned, fitted and scored per fold, its metrics from scikit-learn.

``cross_validate`` fits each fold's preprocessing once and shares it between the
models whose preprocessing is the same; these tests check that this gives what
fitting every pipeline on its own gives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.base import clone
from sklearn.model_selection import RepeatedStratifiedKFold

from tiktok_claims import config
from tiktok_claims.data.load import dataset_from_frame
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.evaluation.cross_validation import (
    REFERENCE_MODEL,
    THRESHOLD_METRICS,
    _default_reason,
    _models,
    cross_validate,
    start_cross_validation,
    strategy_name,
)
from tiktok_claims.evaluation.metrics import ThresholdRule
from tiktok_claims.model.features import select_features
from tiktok_claims.model.split import encode_target, split

SEED = 7
FOLDS = 3


@pytest.fixture(scope="module")
def training_part():
    frame = dataset_from_frame(make_synthetic(3000, seed=SEED), source="synthetic").frame
    parts = split(frame, config.VERIFIED, SEED)
    train = frame.loc[parts.train]
    spec = select_features(train, config.VERIFIED)
    return train, encode_target(train[config.VERIFIED], "verified"), spec


@pytest.fixture(scope="module")
def cv(training_part):
    train, y_train, spec = training_part
    return cross_validate(train, y_train, spec, seed=SEED, folds=FOLDS)


def whole_pipeline_metrics(train, y_train, spec) -> pd.DataFrame:
    """Every model's whole pipeline, cloned and fitted per fold; metrics from scikit-learn."""
    x, y = train[spec.columns], y_train.to_numpy()
    rule = ThresholdRule()
    rows = []
    splitter = RepeatedStratifiedKFold(n_splits=FOLDS, n_repeats=1, random_state=SEED)
    for fold, (fit_idx, val_idx) in enumerate(splitter.split(x, y)):
        for name, template in _models(spec, SEED).items():
            if template is None:
                continue
            model = clone(template).fit(x.iloc[fit_idx], y[fit_idx])
            scores = model.predict_proba(x.iloc[val_idx])[:, 1]
            truth = y[val_idx]
            values = {
                "roc_auc": skm.roc_auc_score(truth, scores),
                "average_precision": skm.average_precision_score(truth, scores),
                "log_loss": skm.log_loss(truth, scores),
                "brier": skm.brier_score_loss(truth, scores),
            }
            if name != REFERENCE_MODEL:
                threshold = rule.choose(y[fit_idx], model.predict_proba(x.iloc[fit_idx])[:, 1]).threshold
                flagged = (scores >= threshold).astype(int)
                values.update(
                    precision=skm.precision_score(truth, flagged, zero_division=0),
                    recall=skm.recall_score(truth, flagged),
                    f1=skm.f1_score(truth, flagged),
                    threshold=threshold,
                )
            rows += [{"model": name, "fold": fold, "metric": k, "value": v} for k, v in values.items()]
    return pd.DataFrame(rows)


def test_shared_preprocessing_gives_the_metrics_of_whole_pipelines(training_part, cv):
    expected = whole_pipeline_metrics(*training_part).set_index(["model", "fold", "metric"])["value"]
    got = cv.fold_metrics.set_index(["model", "fold", "metric"])["value"]

    assert expected.index.get_level_values("model").nunique() == 6  # four strategies, claim status, reference
    for key, value in expected.items():
        if key[2] == "threshold":
            # A threshold is one of the fitting rows' scores: equal means the scores are equal.
            assert got[key] == value, key
        else:
            assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key


def test_every_balance_option_baseline_and_the_reference_model_is_on_every_fold(cv):
    models = set(cv.fold_metrics["model"])

    assert {strategy_name(b) for b in config.BALANCE_OPTIONS} <= models
    assert {"majority class (baseline)", "prior probability (baseline)", REFERENCE_MODEL} <= models
    assert cv.fold_metrics.groupby("model")["fold"].nunique().eq(FOLDS).all()


def test_reference_model_is_compared_on_ranking_metrics_only(cv):
    reference = cv.fold_metrics[cv.fold_metrics["model"] == REFERENCE_MODEL].set_index(["fold", "metric"])["value"]

    for fold in range(FOLDS):
        assert all(np.isnan(reference[(fold, m)]) for m in (*THRESHOLD_METRICS, "threshold"))
        assert 0.5 < reference[(fold, "roc_auc")] <= 1


def test_baselines_score_as_constants(training_part, cv):
    train, y_train, _ = training_part
    folds = cv.fold_metrics.set_index(["model", "fold", "metric"])["value"]
    splitter = RepeatedStratifiedKFold(n_splits=FOLDS, n_repeats=1, random_state=SEED)
    y = y_train.to_numpy()
    for fold, (fit_idx, val_idx) in enumerate(splitter.split(train, y)):
        prior = y[fit_idx].mean()
        truth = y[val_idx]
        assert folds[("majority class (baseline)", fold, "recall")] == 0
        assert np.isnan(folds[("majority class (baseline)", fold, "log_loss")])
        assert folds[("prior probability (baseline)", fold, "roc_auc")] == 0.5
        assert folds[("prior probability (baseline)", fold, "brier")] == pytest.approx(np.mean((prior - truth) ** 2))
        assert folds[("prior probability (baseline)", fold, "threshold")] == prior


def test_results_do_not_depend_on_the_number_of_workers(training_part, cv):
    from tiktok_claims.parallel import worker_pool

    train, y_train, spec = training_part
    with worker_pool(2) as pool:
        pending = start_cross_validation(train, y_train, spec, seed=SEED, folds=FOLDS, executor=pool)
        side_by_side = pending.result()

    pd.testing.assert_frame_equal(side_by_side.fold_metrics, cv.fold_metrics, check_exact=True)
    pd.testing.assert_frame_equal(side_by_side.summary, cv.summary, check_exact=True)
    assert side_by_side.default_reason == cv.default_reason


def _summary(means: dict[str, float]) -> pd.DataFrame:
    """A cross-validation summary with these ROC-AUC means per strategy (every interval ±0.01)."""
    return pd.DataFrame(
        [{"model": model, "metric": "roc_auc", "mean": mean, "ci_low": mean - 0.01, "ci_high": mean + 0.01}
         for model, mean in means.items()]
    )


def test_the_default_strategy_is_never_compared_with_itself():
    default = strategy_name(config.DEFAULT_BALANCE)
    others = [strategy_name(b) for b in config.BALANCE_OPTIONS if strategy_name(b) != default]
    # Tied exactly, with another strategy listed first: the default is the best, not "within 0.000" of it.
    tied = _default_reason(_summary({others[0]: 0.9961, default: 0.9961, others[1]: 0.90}), default)
    # Equal to the three decimals printed.
    close = _default_reason(_summary({others[0]: 0.99612, default: 0.99608}), default)

    for reason in (tied, close):
        assert "within 0.000" not in reason and "has the best cross-validated ROC-AUC" in reason, reason
        assert reason.startswith(default[:1].upper() + default[1:]), reason  # a sentence starts with a capital
    assert f"tied to three decimals with {others[0]})" in tied
    behind = _default_reason(_summary({others[0]: 0.700, default: 0.697}), default)
    assert "within 0.003 of the best logistic strategy" in behind
