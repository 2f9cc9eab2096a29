"""Split first, then fit: a scikit-learn pipeline for prediction, statsmodels for inference.

Every step that learns from data (scaling, encoding, resampling) is fitted on the
training part only, inside one pipeline. Inference (coefficients, standard errors,
p-values, confidence intervals) comes from an unweighted maximum-likelihood
``statsmodels`` Logit on the training part's design matrix: class weights and
upsampling serve the classifier's decision rule, and copies of rows would shrink
standard errors without adding information.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import config
from .errors import AnalysisError
from .features import FeatureSpec, build_preprocessor

MAX_ITER = 1000


@dataclass(frozen=True)
class Split:
    """Index labels of the training and test parts (stratified, seeded)."""

    train: pd.Index
    test: pd.Index
    seed: int
    test_size: float


@dataclass(frozen=True)
class FittedModel:
    """The fitted prediction pipeline and the inference results, with convergence facts."""

    pipeline: object = field(repr=False)
    inference: object = field(repr=False)
    feature_names: tuple[str, ...]
    balance: str
    sklearn_iterations: int
    inference_converged: bool
    inference_iterations: int
    train_scales: pd.Series = field(repr=False)
    calibration: tuple[float, float] | None = None
    separation: object = field(repr=False, default=None)
    estimator: str = "maximum likelihood (statsmodels Logit, Newton)"

    @property
    def penalized(self) -> bool:
        """True when the Firth penalized fit replaced maximum likelihood (separation)."""
        return self.estimator != FittedModel.estimator

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Score of the positive class for each row of ``frame`` (calibrated if asked)."""
        scores = self.pipeline.predict_proba(frame)[:, 1]
        if self.calibration is None:
            return scores
        slope, intercept = self.calibration
        return 1 / (1 + np.exp(-(slope * _logit(scores) + intercept)))

    def linear_predictor(self) -> tuple[np.ndarray, float]:
        """Coefficients and intercept on the encoded design, calibration folded in.

        Platt scaling of a logistic model is itself logistic: ``a * (x @ coef + b0) + b``.
        """
        classifier = self.pipeline.named_steps["classifier"]
        coef, intercept = classifier.coef_.ravel(), float(classifier.intercept_[0])
        if self.calibration is None:
            return coef, intercept
        slope, shift = self.calibration
        return slope * coef, slope * intercept + shift


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return np.log(p / (1 - p))


def platt_calibration(pipeline, train: pd.DataFrame, y_train: pd.Series, seed: int, folds: int = 5) -> tuple[float, float]:
    """Platt scaling fitted on out-of-fold scores of the training part (never the test part).

    Returns the slope and intercept of a logistic regression of the outcome on the
    logit of the out-of-fold scores.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds_ = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    oof = cross_val_predict(pipeline, train, y_train, cv=folds_, method="predict_proba")[:, 1]
    platt = LogisticRegression(C=np.inf).fit(_logit(oof).reshape(-1, 1), y_train)
    return float(platt.coef_[0, 0]), float(platt.intercept_[0])


def encode_target(values: pd.Series, positive_class: str) -> pd.Series:
    """1 for the positive class, 0 otherwise."""
    return (values == positive_class).astype("int64")


def split(frame: pd.DataFrame, target: str | None, seed: int, test_size: float = config.TEST_SIZE) -> Split:
    """Train/test split of ``frame``'s index, stratified on ``target`` when given."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        frame.index, test_size=test_size, random_state=seed, stratify=None if target is None else frame[target]
    )
    return Split(train=pd.Index(train), test=pd.Index(test), seed=seed, test_size=test_size)


def build_pipeline(spec: FeatureSpec, balance: str, seed: int, penalized: bool = False):
    """Preprocessing + (optional resampling) + logistic regression.

    The classifier is unpenalized maximum likelihood, or Firth's penalized likelihood
    (:class:`tiktok_claims.penalized.FirthLogisticRegression`) with ``penalized``, the
    fallback when the classes (nearly) separate.

    ``balance`` is ``"class-weights"`` (reweight classes in the loss), ``"upsample"``
    (random oversampling of the minority class), ``"smote"`` (SMOTE: synthetic minority
    rows interpolated between a minority row and one of its nearest minority
    neighbours in the standardized predictors; each synthetic row's categories are
    those of the nearer of its two parents, so they stay valid) or ``"none"``.
    Resamplers sit inside the pipeline, so they only ever see the rows the pipeline is
    fitted on.
    """
    from imblearn.over_sampling import SMOTE, RandomOverSampler
    from sklearn.preprocessing import FunctionTransformer
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression

    if balance not in config.BALANCE_OPTIONS:
        raise AnalysisError(f"balance must be one of {', '.join(config.BALANCE_OPTIONS)}; got {balance!r}.")
    class_weight = "balanced" if balance == "class-weights" else None
    if penalized:
        from .penalized import FirthLogisticRegression

        classifier = FirthLogisticRegression(class_weight=class_weight)
    else:
        classifier = LogisticRegression(
            C=np.inf, solver="newton-cholesky", max_iter=MAX_ITER, tol=1e-8, class_weight=class_weight
        )
    steps = [("preprocess", build_preprocessor(spec.continuous, spec.categorical, spec.log1p))]
    if balance == "upsample":
        steps.append(("upsample", RandomOverSampler(random_state=seed)))
    elif balance == "smote":
        n_continuous = len(spec.continuous)
        n_dummies = sum(len(config.CATEGORIES[c]) - 1 for c in spec.categorical)
        dummies = list(range(n_continuous, n_continuous + n_dummies))
        steps.append(("smote", SMOTE(random_state=seed)))
        steps.append(("categories", FunctionTransformer(nearer_parent_categories, kw_args={"columns": dummies})))
    steps.append(("classifier", classifier))
    return Pipeline(steps)


def nearer_parent_categories(design: np.ndarray, columns: list[int]) -> np.ndarray:
    """Round interpolated dummy columns to 0/1: the category of the nearer parent.

    Between two valid one-hot rows, rounding at one half always gives one parent's
    category; on real rows (already 0/1) it changes nothing.
    """
    design = np.array(design, dtype=float, copy=True)
    design[:, columns] = np.round(design[:, columns])
    return design


def fit(
    train: pd.DataFrame,
    y_train: pd.Series,
    spec: FeatureSpec,
    balance: str,
    seed: int,
    calibrate: bool = False,
    executor=None,
) -> FittedModel:
    """Fit the prediction pipeline and the inference model on the training part.

    Separation is detected first, on the training part's design
    (:func:`tiktok_claims.assumptions.detect_separation`). When the classes separate
    completely, quasi-completely or nearly, maximum-likelihood estimates are infinite
    or rest on a few rows, so both the classifier and the inference model fall back to
    Firth's penalized likelihood (:mod:`tiktok_claims.penalized`); otherwise both are
    unpenalized maximum likelihood (statsmodels ``Logit`` for inference).

    With an ``executor``, the separation check's linear programs run there while the
    maximum-likelihood fits run here; those fits are kept only if no separation is
    found and they finished without a warning (otherwise the fit is redone in order,
    so the result never depends on the executor).

    With ``calibrate``, the pipeline's scores are recalibrated by Platt scaling learned
    on out-of-fold training scores, so they read as probabilities at the natural
    prevalence even when classes were reweighted or resampled.
    """
    import warnings

    import statsmodels.api as sm

    from .assumptions import detect_separation

    preprocess = build_pipeline(spec, balance, seed).named_steps["preprocess"].fit(train[spec.columns])
    names = tuple(preprocess.get_feature_names_out())
    design = pd.DataFrame(preprocess.transform(train[spec.columns]), columns=names, index=train.index)
    design = sm.add_constant(design, has_constant="add")
    speculative = None
    if executor is None:
        separation = detect_separation(design, y_train)
    else:
        pending = executor.submit(detect_separation, design, y_train)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                speculative = _fit_once(train, y_train, spec, balance, seed, calibrate, design, penalized=False)
            except Exception:  # noqa: BLE001 - redone below, in order, where errors surface as usual
                speculative = None
        if caught:
            speculative = None
        separation = pending.result()
    penalized = separation.use_penalized
    if penalized or speculative is None:
        speculative = _fit_once(train, y_train, spec, balance, seed, calibrate, design, penalized=penalized)
    pipeline, result, iterations, calibration = speculative
    scaler = pipeline.named_steps["preprocess"].named_transformers_["continuous"]
    scales = pd.Series(scaler.scale_, index=list(spec.continuous))
    return FittedModel(
        pipeline=pipeline,
        inference=result,
        feature_names=names,
        balance=balance,
        sklearn_iterations=iterations,
        inference_converged=bool(result.mle_retvals["converged"]),
        inference_iterations=int(result.mle_retvals["iterations"]),
        train_scales=scales,
        calibration=calibration,
        separation=separation,
        estimator=result.method if penalized else "maximum likelihood (statsmodels Logit, Newton)",
    )


def _fit_once(train, y_train, spec, balance, seed, calibrate, design, *, penalized: bool):
    """One fit of the classifier pipeline and the inference model; refuses non-convergence."""
    import statsmodels.api as sm

    pipeline = build_pipeline(spec, balance, seed, penalized=penalized)
    calibration = platt_calibration(pipeline, train[spec.columns], y_train, seed) if calibrate else None
    pipeline.fit(train[spec.columns], y_train)
    iterations = int(np.max(pipeline.named_steps["classifier"].n_iter_))
    if iterations >= MAX_ITER:
        raise AnalysisError(
            f"the logistic regression did not converge in {MAX_ITER} Newton iterations; "
            "its coefficients cannot be trusted."
        )
    if penalized:
        from .penalized import FirthInference

        result = FirthInference(design, y_train)
    else:
        result = sm.Logit(y_train.astype(float), design).fit(method="newton", maxiter=100, disp=False)
    if not bool(result.mle_retvals["converged"]):
        raise AnalysisError(
            f"the {'Firth penalized' if penalized else 'statsmodels Logit'} fit did not converge; its standard "
            "errors and p-values cannot be trusted."
        )
    return pipeline, result, iterations, calibration
