"""Cross-validation against an independent computation: every model's whole pipeline
cloned, fitted and scored per fold, its metrics from scikit-learn.

``cross_validate`` fits each fold's preprocessing once and shares it between the
models whose preprocessing is the same, encodes the categories once for every fold, and
fits the unpenalized logistic classifiers by Newton's method; these tests check that
this gives what fitting every pipeline on its own gives (the designs bit for bit, the
fits to the solvers' tolerance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from joblib import hash as parameters_hash
from sklearn import metrics as skm
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold

from tiktok_claims import config
from tiktok_claims.data.load import dataset_from_frame
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.errors import AnalysisError
from tiktok_claims.evaluation.cross_validation import (
    REFERENCE_MODEL,
    THRESHOLD_METRICS,
    FoldPart,
    FoldRows,
    _default_reason,
    _encodings,
    _fitted_rest,
    _models,
    _newton_coefficients,
    _preprocessed,
    cross_validate,
    start_cross_validation,
    strategy_name,
)
from tiktok_claims.evaluation.metrics import ThresholdRule
from tiktok_claims.model.features import select_features
from tiktok_claims.model.firth import FirthLogisticRegression
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
        if key[2] in ("threshold", "log_loss", "brier"):
            # The logistic strategies' Newton fits and scikit-learn's solver meet at the same
            # optimum to the solvers' tolerance (1e-8); a threshold is one of the fitting rows' scores.
            assert got[key] == pytest.approx(value, rel=1e-7), key
        else:
            # Ranks and counts: the same rows in the same order, and the same rows flagged.
            assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key


@pytest.mark.parametrize("transform", [None, "log1p"])
def test_designs_encoded_once_equal_each_folds_preprocessing_bit_for_bit(training_part, transform):
    train, y_train, spec = training_part
    if transform is not None:
        spec = select_features(train, config.VERIFIED, transform=transform)
        assert spec.log1p
    x, y = train[spec.columns], y_train.to_numpy()
    keyed = {name: (m, parameters_hash(m.steps[0][1])) for name, m in _models(spec, SEED).items() if m is not None}
    encodings = _encodings(x, keyed, [spec])
    assert len(encodings) == 3  # the strategies' preprocessing, the claim-only baseline's, the reference's

    splitter = RepeatedStratifiedKFold(n_splits=FOLDS, n_repeats=1, random_state=SEED)
    for fit_idx, val_idx in splitter.split(x, y):
        part = FoldPart(FoldRows(None, encodings), fit_idx, val_idx)
        for name, (template, key) in keyed.items():
            got = _preprocessed(template.steps[0][1], key, part, y[fit_idx], {})
            preprocess = clone(template.steps[0][1])
            expected = (preprocess.fit_transform(x.iloc[fit_idx], y[fit_idx]), preprocess.transform(x.iloc[val_idx]))
            for design, reference in zip(got, expected):
                assert design.dtype == reference.dtype and design.flags.c_contiguous == reference.flags.c_contiguous
                np.testing.assert_array_equal(design, reference, err_msg=name)


def test_an_unknown_category_is_refused_as_the_encoders_refuse_it(training_part):
    train, y_train, spec = training_part
    x = train[spec.columns].copy()
    x.iloc[0, x.columns.get_loc(config.CLAIM)] = "rumour"
    with pytest.raises(ValueError, match="rumour"):
        clone(spec.preprocessor()).fit(x)
    with pytest.raises(AnalysisError, match="rumour"):  # the same design code as the fit's, the same refusal
        start_cross_validation(x.assign(**{config.VERIFIED: train[config.VERIFIED]}), y_train, spec, folds=FOLDS)


def test_newton_fits_equal_scikit_learns_solvers(training_part):
    train, y_train, spec = training_part
    x, y = train[spec.columns], y_train.to_numpy()
    fit_idx, _ = next(RepeatedStratifiedKFold(n_splits=FOLDS, n_repeats=1, random_state=SEED).split(x, y))
    models = _models(spec, SEED)
    design = clone(models[strategy_name("none")].steps[0][1]).fit_transform(x.iloc[fit_idx])
    starts: dict = {}
    for balance in config.BALANCE_OPTIONS:
        template = models[strategy_name(balance)]
        scores = _fitted_rest(template, design, y[fit_idx], starts, "design")
        coefficients = starts["design"][0]
        # scikit-learn's own fit of the same steps, to a tight tolerance, and by another solver.
        for solver, tolerance, rtol in (("newton-cholesky", 1e-12, 1e-8), ("lbfgs", 1e-10, 1e-6)):
            reference = clone(template[1:]).set_params(classifier__solver=solver, classifier__tol=tolerance)
            reference.set_params(classifier__max_iter=10_000).fit(design, y[fit_idx])
            classifier = reference.named_steps["classifier"]
            np.testing.assert_allclose(
                coefficients, np.r_[classifier.intercept_, classifier.coef_.ravel()], rtol=rtol, atol=rtol, err_msg=balance
            )
            np.testing.assert_allclose(scores(design), reference.predict_proba(design)[:, 1], rtol=0, atol=rtol, err_msg=balance)


def test_a_newton_fit_does_not_depend_on_its_start(training_part):
    train, y_train, spec = training_part
    x, y = train[spec.columns], y_train.to_numpy()
    design = clone(spec.preprocessor()).fit_transform(x)
    classifier = LogisticRegression(C=np.inf, solver="newton-cholesky", class_weight="balanced")
    from_zero = _newton_coefficients(classifier, design, y)
    unweighted = _newton_coefficients(clone(classifier).set_params(class_weight=None), design, y)
    from_unweighted = _newton_coefficients(classifier, design, y, previous=unweighted)

    assert from_zero[1] == from_unweighted[1] == 0.0 and unweighted[1] == pytest.approx(np.log(y.mean() / (1 - y.mean())))
    np.testing.assert_allclose(from_unweighted[0], from_zero[0], rtol=1e-10, atol=1e-12)


def test_classifiers_newton_does_not_fit_are_fitted_by_themselves():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] + rng.normal(size=200) > 0).astype(int)
    penalized = LogisticRegression(C=1.0, solver="newton-cholesky")
    for classifier in (penalized, FirthLogisticRegression(), LogisticRegression(C=np.inf)):  # the last: lbfgs
        assert _newton_coefficients(classifier, x, y) is None
    # Complete separation: no maximum-likelihood estimate, so Newton's method gives up.
    separated = (x[:, 0] > 0).astype(int)
    assert _newton_coefficients(LogisticRegression(C=np.inf, solver="newton-cholesky"), x, separated) is None


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


def test_paired_differences_are_the_fold_by_fold_differences_with_their_t_interval():
    from scipy import stats as scipy_stats

    from tiktok_claims.evaluation.cross_validation import paired_differences

    rng = np.random.default_rng(8)
    folds = np.arange(10)
    default = 0.70 + rng.normal(0, 0.03, 10)
    other = default + 0.01 + rng.normal(0, 0.002, 10)  # fold effects shared: a narrow difference
    rows = [
        {"model": name, "fold": int(fold), "metric": metric, "value": float(value)}
        for name, values in (("default", default), ("other", other))
        for fold, value in zip(folds, values)
        for metric in ("roc_auc", "f1")
    ]

    table = paired_differences(pd.DataFrame(rows), "default").set_index("model")

    difference = other - default
    half = scipy_stats.t.ppf(0.975, 9) * difference.std(ddof=1) / np.sqrt(10)
    assert list(table.index) == ["other"] and table.loc["other", "metric"] == "roc_auc"
    assert table.loc["other", "mean"] == pytest.approx(difference.mean(), rel=1e-12)
    assert table.loc["other", "ci_low"] == pytest.approx(difference.mean() - half, rel=1e-9)
    assert table.loc["other", "ci_high"] == pytest.approx(difference.mean() + half, rel=1e-9)
    assert table.loc["other", "ci_low"] > 0  # while the two models' own intervals overlap
