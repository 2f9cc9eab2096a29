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


@pytest.mark.parametrize("balance", config.BALANCE_OPTIONS)
def test_only_a_resampling_pipeline_is_imbalanced_learns(real_analysis, balance):
    """imbalanced-learn's ``Pipeline`` (slow to import) only where a step resamples; scikit-learn's otherwise."""
    from imblearn.pipeline import Pipeline as ResamplingPipeline
    from sklearn.pipeline import Pipeline

    pipeline = modeling.build_pipeline(real_analysis.features, balance, seed=0)

    assert type(pipeline) is (ResamplingPipeline if balance in ("upsample", "smote") else Pipeline)
    assert list(pipeline.named_steps)[0] == "preprocess" and list(pipeline.named_steps)[-1] == "classifier"


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


# ---------------------------------------------------------------- Newton's method on one shared design


@pytest.fixture(scope="module")
def synthetic_parts():
    """20,000 synthetic rows split as ``run`` splits them, with the features selected on the training part."""
    from tiktok_claims.data.synthetic import make_synthetic
    from tiktok_claims.model.split import encode_target, split

    frame = make_synthetic(20_000, seed=9).dropna()
    parts = split(frame, TARGET, config.DEFAULT_SEED)
    spec = modeling_features(frame.loc[parts.train])
    y = encode_target(frame[TARGET], "verified")
    return frame, y, parts, spec


def modeling_features(train: pd.DataFrame):
    from tiktok_claims.model.features import select_features

    return select_features(train, TARGET)


@pytest.mark.parametrize("balance", ["class-weights", "none"])
def test_shared_design_fits_equal_the_separate_fits(synthetic_parts, balance):
    frame, y, parts, spec = synthetic_parts
    train = frame.iloc[parts.train_positions]

    classifier, inference = modeling.fit_models(frame, y, parts.train_positions, spec, balance, config.DEFAULT_SEED)
    alone = modeling.fit_classifier(train, y.iloc[parts.train_positions], spec, balance, config.DEFAULT_SEED)
    inference_alone = modeling.fit_inference(frame, y, spec)

    shared_lr, alone_lr = classifier.pipeline.named_steps["classifier"], alone.pipeline.named_steps["classifier"]
    np.testing.assert_allclose(shared_lr.coef_, alone_lr.coef_, atol=1e-10)
    np.testing.assert_allclose(shared_lr.intercept_, alone_lr.intercept_, atol=1e-10)
    # Started from the inference estimates, the shared fit needs no more steps than one from zero.
    assert 0 < classifier.iterations <= alone.iterations
    assert classifier.separation.kind == alone.separation.kind == "none"
    assert classifier.separation.misclassified == alone.separation.misclassified
    np.testing.assert_allclose(classifier.separation.rule, alone.separation.rule, atol=1e-9)
    np.testing.assert_allclose(inference.result.params, inference_alone.result.params, atol=1e-12)
    np.testing.assert_allclose(inference.result.bse, inference_alone.result.bse, rtol=1e-12)
    assert inference.separation.misclassified == inference_alone.separation.misclassified
    np.testing.assert_allclose(
        classifier.predict_proba(frame.iloc[:500]), alone.predict_proba(frame.iloc[:500]), atol=1e-12
    )


@pytest.mark.parametrize("balance", ["class-weights", "none"])
def test_pipeline_is_the_one_scikit_learn_fits(synthetic_parts, balance):
    """Statistics and coefficients set into the pipeline: what its own ``fit`` learns (to its solver's tolerance)."""
    frame, y, parts, spec = synthetic_parts
    train, y_train = frame.iloc[parts.train_positions], y.iloc[parts.train_positions]
    ours = modeling.fit_classifier(train, y_train, spec, balance, config.DEFAULT_SEED).pipeline
    theirs = modeling.build_pipeline(spec, balance, config.DEFAULT_SEED)
    sklearn_lr = theirs.named_steps["classifier"].set_params(tol=1e-12)
    theirs.fit(train[spec.columns], y_train)

    ours_scaler = ours.named_steps["preprocess"].named_transformers_["continuous"]
    theirs_scaler = theirs.named_steps["preprocess"].named_transformers_["continuous"]
    for attribute in ("mean_", "var_", "scale_"):
        np.testing.assert_allclose(getattr(ours_scaler, attribute), getattr(theirs_scaler, attribute), rtol=1e-13)
    assert ours_scaler.n_samples_seen_ == theirs_scaler.n_samples_seen_
    assert list(ours.named_steps["preprocess"].get_feature_names_out()) == list(
        theirs.named_steps["preprocess"].get_feature_names_out()
    )
    ours_lr = ours.named_steps["classifier"]
    np.testing.assert_array_equal(ours_lr.classes_, sklearn_lr.classes_)
    assert ours_lr.n_features_in_ == sklearn_lr.n_features_in_
    np.testing.assert_allclose(ours_lr.coef_, sklearn_lr.coef_, atol=1e-9)
    np.testing.assert_allclose(ours_lr.intercept_, sklearn_lr.intercept_, atol=1e-9)
    test_rows = frame.iloc[parts.test_positions][spec.columns]
    np.testing.assert_allclose(ours.predict_proba(test_rows), theirs.predict_proba(test_rows), atol=1e-9)
    np.testing.assert_array_equal(ours.predict(test_rows), theirs.predict(test_rows))


def test_inference_results_are_statsmodels_own(real_analysis):
    """The results object built from the Newton fit reads like a cold ``Logit(...).fit(method="newton")``."""
    import pickle

    ours = real_analysis.inference.result
    cold = sm.Logit(ours.model.endog, ours.model.data.orig_exog).fit(method="newton", maxiter=100, disp=False)

    assert type(ours) is type(cold) and type(ours._results) is type(cold._results)
    assert set(vars(ours._results)) - {"_optim_kwds_null"} == set(vars(cold._results))  # the start of llnull's fit
    assert ours._results._separation_etext == cold._results._separation_etext
    for name in ("params", "bse", "tvalues", "pvalues"):
        pd.testing.assert_series_equal(getattr(ours, name), getattr(cold, name), rtol=1e-9, atol=1e-13)
    pd.testing.assert_frame_equal(ours.conf_int(alpha=0.05), cold.conf_int(alpha=0.05), rtol=1e-9)
    pd.testing.assert_frame_equal(ours.cov_params(), cold.cov_params(), rtol=1e-8, atol=1e-15)
    for name in ("llf", "aic", "bic", "df_model", "df_resid", "nobs"):
        assert getattr(ours, name) == pytest.approx(getattr(cold, name), rel=1e-10, abs=1e-300), name
    # The constant-only fit starts at its exact optimum, logit(ȳ) (closed form below); the cold
    # fit's Nelder-Mead and BFGS stop a little short of it, which the LR p-value feels.
    share = ours.model.endog.mean()
    exact = ours.nobs * (share * np.log(share) + (1 - share) * np.log(1 - share))
    assert ours.llnull == pytest.approx(exact, rel=1e-13)
    assert ours.llnull >= cold.llnull and ours.llnull == pytest.approx(cold.llnull, rel=1e-9)
    for name in ("prsquared", "llr", "llr_pvalue"):
        assert getattr(ours, name) == pytest.approx(getattr(cold, name), rel=1e-5), name
    assert ours.mle_retvals["converged"] is cold.mle_retvals["converged"] is True
    assert ours.mle_retvals["iterations"] == cold.mle_retvals["iterations"]
    pd.testing.assert_frame_equal(ours.summary2().tables[1], cold.summary2().tables[1], rtol=1e-8)
    np.testing.assert_allclose(ours.predict(), cold.predict(), rtol=1e-12)
    assert "converged:" in ours.summary().as_text()
    restored = pickle.loads(pickle.dumps(ours))
    pd.testing.assert_series_equal(restored.pvalues, ours.pvalues)


@pytest.mark.parametrize("slope", [1.0, 25.0])
def test_the_separation_note_is_statsmodels_own_without_a_vector_per_row(slope):
    """``BinaryResults`` notes rows predicted to within 1e-4 from four vectors per row; ours
    reads the design in blocks, keeps no ``fittedvalues``, and says the same (at slope 25
    about two thirds of the rows are predicted that closely, yet the classes overlap)."""
    rng = np.random.default_rng(4)
    n = 3 * modeling._NOTE_BLOCK_ROWS + 11
    x = rng.normal(size=n)
    design = pd.DataFrame({"const": 1.0, "x": x})
    y = pd.Series((rng.random(n) < 1 / (1 + np.exp(-slope * x))).astype(float))
    cold = sm.Logit(y, design).fit(method="newton", maxiter=100, disp=False)
    newton = modeling.fit_logistic(modeling.DesignRows.of(design), y.to_numpy())

    ours = modeling._logit_results(design, y, newton)

    assert "fittedvalues" not in ours._results._cache
    assert ours._results._separation_etext == cold._results._separation_etext
    assert bool(cold._results._separation_etext) is (slope > 1)
    np.testing.assert_allclose(ours.fittedvalues, cold.fittedvalues, rtol=1e-9, atol=1e-9)


def test_a_fit_that_does_not_converge_is_refused(synthetic_parts, monkeypatch):
    from functools import partial

    frame, y, parts, spec = synthetic_parts
    monkeypatch.setattr(modeling, "fit_logistic", partial(modeling.fit_logistic, max_iter=1))

    with pytest.raises(AnalysisError, match=r"maximum-likelihood fit did not converge \(stopped after 1 Newton steps"):
        modeling.fit_inference(frame, y, spec)
    with pytest.raises(AnalysisError, match=r"logistic regression did not converge \(stopped after 1 Newton steps"):
        modeling.fit_classifier(frame, y, spec, "class-weights", config.DEFAULT_SEED)


def test_a_million_rows_equal_scikit_learn_and_statsmodels():
    """Both fits of ``run`` on 1M synthetic rows: the classifier equals scikit-learn's pipeline
    and the inference model a cold statsmodels Logit, to 1e-6."""
    from tiktok_claims.data.synthetic import make_synthetic
    from tiktok_claims.model.split import encode_target, split

    frame = make_synthetic(1_000_000, seed=15).dropna()
    parts = split(frame, TARGET, config.DEFAULT_SEED)
    train = frame.iloc[parts.train_positions]
    spec = modeling_features(train)
    y = encode_target(frame[TARGET], "verified")

    classifier, inference = modeling.fit_models(
        frame, y, parts.train_positions, spec, "class-weights", config.DEFAULT_SEED
    )

    pipeline = modeling.build_pipeline(spec, "class-weights", config.DEFAULT_SEED)
    pipeline.fit(train[spec.columns], y.iloc[parts.train_positions])
    reference = pipeline.named_steps["classifier"]
    ours = classifier.pipeline.named_steps["classifier"]
    np.testing.assert_allclose(ours.coef_, reference.coef_, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, reference.intercept_, atol=1e-6)
    design = inference.result.model.data.orig_exog
    cold = sm.Logit(y.astype(float), design).fit(method="newton", maxiter=100, disp=False)
    pd.testing.assert_series_equal(inference.result.params, cold.params, atol=1e-6, rtol=0)
    pd.testing.assert_series_equal(inference.result.bse, cold.bse, rtol=1e-6)
    assert inference.result.llf == pytest.approx(cold.llf, rel=1e-9)
    assert inference.rows == len(frame) and inference.separation.sampled > 0
