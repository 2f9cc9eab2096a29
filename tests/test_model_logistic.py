"""Pipelines and fits (``model/logistic.py``), checked against independent fits.

Independent references: a statsmodels Logit on the raw training columns divided by
their reporting unit (dummies from ``pandas.get_dummies``), a statsmodels GLM with
frequency weights for the class-weighted classifier, and hand-computed means.

The real-data analysis and its parts are the session fixtures ``real_analysis`` and
``real_parts`` (conftest.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from tiktok_claims import config
from tiktok_claims.errors import AnalysisError
from tiktok_claims.model import logistic as modeling

TARGET = config.VERIFIED
REFERENCE_DUMMIES = [f"{column}_{levels[0]}" for column, levels in config.CATEGORIES.items()]


def raw_unit_design(frame: pd.DataFrame, continuous, categorical, units: pd.Series) -> pd.DataFrame:
    """Raw continuous columns divided by their unit, dummies against the reference level, constant."""
    scaled = frame[list(continuous)].astype(float) / units[list(continuous)]
    dummies = pd.get_dummies(frame[list(categorical)], dtype=float)
    dummies = dummies.drop(columns=[c for c in REFERENCE_DUMMIES if c in dummies.columns])
    return sm.add_constant(pd.concat([scaled, dummies], axis=1), has_constant="add")


@pytest.fixture(scope="session")
def independent_logit(real_analysis, real_parts):
    """Unweighted Logit on the raw features of every used row, per readable unit (never standardized)."""
    units = real_analysis.coefficients.set_index("name")["unit_size"]
    design = raw_unit_design(real_parts["frame"], real_analysis.features.continuous, real_analysis.features.categorical, units)
    result = sm.Logit(real_parts["y"].astype(float), design).fit(method="newton", maxiter=100, disp=False)
    assert result.mle_retvals["converged"]
    return result, units


def standardized_by_hand(train: pd.DataFrame, continuous, categorical) -> pd.DataFrame:
    """Continuous columns standardized with the training means and population SDs, plus dummies."""
    values = train[list(continuous)].astype(float)
    z = (values - values.mean()) / values.std(ddof=0)
    dummies = pd.get_dummies(train[list(categorical)], dtype=float)
    dummies = dummies.drop(columns=[c for c in REFERENCE_DUMMIES if c in dummies.columns])
    return pd.concat([z, dummies], axis=1)


# ---------------------------------------------------------------- preprocessing


def test_scaler_is_fitted_on_the_training_rows_only(real_analysis, real_parts):
    continuous = list(real_analysis.features.continuous)
    scaler = real_analysis.classifier.pipeline.named_steps["preprocess"].named_transformers_["continuous"]
    train_values = real_parts["train"][continuous].to_numpy(dtype=float)
    all_values = real_parts["frame"][continuous].to_numpy(dtype=float)

    np.testing.assert_allclose(scaler.mean_, train_values.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scaler.scale_, train_values.std(axis=0), rtol=1e-12)
    assert not np.allclose(scaler.mean_, all_values.mean(axis=0), rtol=1e-6)
    # The inference model, fitted on every used row, reads its coefficients per SD of those rows.
    np.testing.assert_allclose(real_analysis.inference.scales[continuous], all_values.std(axis=0), rtol=1e-12)


# ---------------------------------------------------------------- inference (statsmodels)


@pytest.mark.parametrize("column", ["coef", "se", "ci_low", "ci_high", "odds_ratio", "p_value", "z"])
def test_coefficients_per_unit_equal_an_independent_raw_unit_logit(real_analysis, independent_logit, column):
    result, _ = independent_logit
    table = real_analysis.coefficients.set_index("name")
    ci = result.conf_int(alpha=0.05)
    reference = {
        "coef": result.params,
        "se": result.bse,
        "ci_low": ci[0],
        "ci_high": ci[1],
        "odds_ratio": np.exp(result.params),
        "p_value": result.pvalues,
        "z": result.tvalues,
    }[column]
    slopes = [name for name in result.params.index if name != "const"]

    assert sorted(slopes) == sorted(n for n in table.index if n != "const")
    np.testing.assert_allclose(table.loc[slopes, column], reference[slopes], rtol=1e-5)


def test_intercept_is_the_log_odds_at_the_means_of_every_used_row(real_analysis, real_parts, independent_logit):
    result, units = independent_logit
    continuous = list(real_analysis.features.continuous)
    means = real_parts["frame"][continuous].astype(float).mean()
    at_means = result.params["const"] + float((result.params[continuous] * means / units[continuous]).sum())

    assert real_analysis.coefficients.set_index("name").loc["const", "coef"] == pytest.approx(at_means, rel=1e-6)


def test_convergence_is_recorded(real_analysis):
    convergence = real_analysis.metrics()["convergence"]

    assert convergence["statsmodels_converged"] is True
    assert 0 < convergence["sklearn_newton_iterations"] < modeling.MAX_ITER
    assert convergence["sklearn_newton_iterations"] == int(np.max(real_analysis.classifier.pipeline.named_steps["classifier"].n_iter_))


# ---------------------------------------------------------------- prediction pipeline (sklearn)


def _per_unit(coef: pd.Series, train: pd.DataFrame, continuous, units: pd.Series) -> pd.Series:
    """Standardized-scale coefficients converted to per-unit ones with the training SDs."""
    converted = coef.copy()
    for name in continuous:
        converted[name] = coef[name] * units[name] / float(train[name].astype(float).std(ddof=0))
    return converted


def test_unweighted_sklearn_pipeline_equals_the_statsmodels_logit(real_analysis, real_parts):
    spec, train = real_analysis.features, real_parts["train"]
    units = real_analysis.coefficients.set_index("name")["unit_size"]
    design = raw_unit_design(train, spec.continuous, spec.categorical, units)
    result = sm.Logit(real_parts["y_train"].astype(float), design).fit(method="newton", maxiter=100, disp=False)
    fitted = modeling.fit_classifier(train, real_parts["y_train"], spec, "none", config.DEFAULT_SEED)
    classifier = fitted.pipeline.named_steps["classifier"]
    names = list(fitted.pipeline.named_steps["preprocess"].get_feature_names_out())
    coef = _per_unit(pd.Series(classifier.coef_.ravel(), index=names), train, spec.continuous, units)
    continuous = list(spec.continuous)
    means = train[continuous].astype(float).mean()
    intercept_at_means = result.params["const"] + float((result.params[continuous] * means / units[continuous]).sum())

    np.testing.assert_allclose(coef[names], result.params[names], atol=1e-4)
    assert classifier.intercept_[0] == pytest.approx(intercept_at_means, abs=1e-4)


def test_class_weighted_pipeline_equals_a_frequency_weighted_glm(real_analysis, real_parts):
    spec, train, y = real_analysis.features, real_parts["train"], real_parts["y_train"]
    assert real_analysis.balance == "class-weights"
    design = standardized_by_hand(train, spec.continuous, spec.categorical)
    n, n_positive = len(y), int(y.sum())
    weights = np.where(y == 1, n / (2 * n_positive), n / (2 * (n - n_positive)))
    glm = sm.GLM(
        y.astype(float), sm.add_constant(design), family=sm.families.Binomial(), freq_weights=weights
    ).fit()
    classifier = real_analysis.classifier.pipeline.named_steps["classifier"]
    names = list(real_analysis.classifier.feature_names)

    np.testing.assert_allclose(classifier.coef_.ravel(), glm.params[names], atol=1e-4)
    assert classifier.intercept_[0] == pytest.approx(glm.params["const"], abs=1e-4)
    # The weighted fit is a different model from the unweighted inference fit.
    assert abs(classifier.intercept_[0] - real_analysis.inference.result.params["const"]) > 0.5


def test_upsampling_shows_the_classifier_only_training_rows(real_analysis, real_parts, monkeypatch):
    import sklearn.linear_model

    class RecordingLogisticRegression(sklearn.linear_model.LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            self.seen_X_, self.seen_y_ = np.array(X, copy=True), np.array(y, copy=True)
            return super().fit(X, y, sample_weight=sample_weight)

    monkeypatch.setattr(modeling, "LogisticRegression", RecordingLogisticRegression)
    spec, train, test, y = real_analysis.features, real_parts["train"], real_parts["test"], real_parts["y_train"]

    fitted = modeling.fit_classifier(train, y, spec, "upsample", config.DEFAULT_SEED)

    classifier = fitted.pipeline.named_steps["classifier"]
    assert isinstance(classifier, RecordingLogisticRegression)
    majority = int(max(y.sum(), len(y) - y.sum()))
    assert len(classifier.seen_X_) == 2 * majority
    assert np.bincount(classifier.seen_y_).tolist() == [majority, majority]
    preprocess = fitted.pipeline.named_steps["preprocess"]
    train_rows = {row.tobytes() for row in preprocess.transform(train[spec.columns])}
    test_only_rows = {row.tobytes() for row in preprocess.transform(test[spec.columns])} - train_rows
    seen_rows = {row.tobytes() for row in classifier.seen_X_}
    assert test_only_rows, "the check needs test rows that differ from every training row"
    assert seen_rows <= train_rows
    assert seen_rows == train_rows
    assert not seen_rows & test_only_rows


def test_unknown_balance_is_refused(real_analysis):
    with pytest.raises(AnalysisError, match="balance must be one of"):
        modeling.build_pipeline(real_analysis.features, "oversample-everything", seed=0)


def test_calibrated_model_is_a_logistic_model_whose_artifact_scores_the_same(tmp_path):
    """Platt scaling learned on out-of-fold training scores folds into the linear predictor,
    so the saved artifact reproduces the calibrated scores exactly."""
    from tiktok_claims.analysis import analyze
    from tiktok_claims.artifact.store import load_model, save_model
    from tiktok_claims.data.synthetic import make_synthetic

    result = analyze(make_synthetic(3000, seed=5), calibrate=True, cv_folds=2, bootstrap=100, workers=1)
    test_rows = result.dataset.frame.loc[result.split.test]
    scores = result.classifier.predict_proba(test_rows[result.features.columns])
    uncalibrated = result.classifier.pipeline.predict_proba(test_rows[result.features.columns])[:, 1]
    save_model(result, tmp_path / "model.json")

    assert result.classifier.calibration is not None
    assert abs(scores.mean() - (test_rows["verified_status"] == "verified").mean()) < abs(
        uncalibrated.mean() - (test_rows["verified_status"] == "verified").mean()
    )
    np.testing.assert_allclose(load_model(tmp_path / "model.json").predict_proba(test_rows), scores, atol=1e-9)
