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
import statsmodels.api as sm
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.preprocessing import FunctionTransformer

from .. import config
from ..errors import AnalysisError
from .features import FeatureSpec
from .firth import FirthInference, FirthLogisticRegression
from .separation import Separation, detect_separation

MAX_ITER = 1000
MAXIMUM_LIKELIHOOD = "maximum likelihood (statsmodels Logit, Newton)"


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
    calibration: tuple[float, float] | None
    separation: Separation = field(repr=False)
    penalized: bool
    """True when Firth's penalized likelihood replaced maximum likelihood (separation)."""
    estimator: str

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
    folds_ = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    oof = cross_val_predict(pipeline, train, y_train, cv=folds_, method="predict_proba")[:, 1]
    platt = LogisticRegression(C=np.inf).fit(_logit(oof).reshape(-1, 1), y_train)
    return float(platt.coef_[0, 0]), float(platt.intercept_[0])


def build_pipeline(spec: FeatureSpec, balance: str, seed: int, penalized: bool = False):
    """Preprocessing + (optional resampling) + logistic regression.

    The classifier is unpenalized maximum likelihood, or Firth's penalized likelihood
    (:class:`tiktok_claims.model.firth.FirthLogisticRegression`) with ``penalized``, the
    fallback when the classes (nearly) separate.

    ``balance`` is ``"class-weights"`` (reweight classes in the loss), ``"upsample"``
    (random oversampling of the minority class), ``"smote"`` (SMOTE: synthetic minority
    rows interpolated between a minority row and one of its nearest minority
    neighbours in the standardized predictors; each synthetic row's categories are
    those of the nearer of its two parents, so they stay valid) or ``"none"``.
    Resamplers sit inside the pipeline, so they only ever see the rows the pipeline is
    fitted on.
    """
    if balance not in config.BALANCE_OPTIONS:
        raise AnalysisError(f"balance must be one of {', '.join(config.BALANCE_OPTIONS)}; got {balance!r}.")
    class_weight = "balanced" if balance == "class-weights" else None
    if penalized:
        classifier = FirthLogisticRegression(class_weight=class_weight)
    else:
        classifier = LogisticRegression(
            C=np.inf, solver="newton-cholesky", max_iter=MAX_ITER, tol=1e-8, class_weight=class_weight
        )
    steps = [("preprocess", spec.preprocessor())]
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


def inference_design(train: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The training part's encoded design with a constant: what inference and the separation check read."""
    preprocess = spec.preprocessor().fit(train[spec.columns])
    design = pd.DataFrame(
        preprocess.transform(train[spec.columns]), columns=preprocess.get_feature_names_out(), index=train.index
    )
    return sm.add_constant(design, has_constant="add")


def fit(
    train: pd.DataFrame,
    y_train: pd.Series,
    spec: FeatureSpec,
    balance: str,
    seed: int,
    calibrate: bool = False,
    separation: Separation | None = None,
) -> FittedModel:
    """Fit the prediction pipeline and the inference model on the training part.

    Separation is detected first, on the training part's design
    (:func:`tiktok_claims.model.separation.detect_separation`), unless the caller
    passes its result. When the classes separate completely, quasi-completely or nearly,
    maximum-likelihood estimates are infinite or rest on a few rows, so both the
    classifier and the inference model use Firth's penalized likelihood
    (:mod:`tiktok_claims.model.firth`); otherwise both are unpenalized maximum
    likelihood (statsmodels ``Logit`` for inference).

    With ``calibrate``, the pipeline's scores are recalibrated by Platt scaling learned
    on out-of-fold training scores, so they read as probabilities at the natural
    prevalence even when classes were reweighted or resampled.
    """
    design = inference_design(train, spec)
    if separation is None:
        separation = detect_separation(design, y_train)
    penalized = separation.use_penalized
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
        inference = FirthInference(design, y_train)
    else:
        inference = sm.Logit(y_train.astype(float), design).fit(method="newton", maxiter=100, disp=False)
    if not bool(inference.mle_retvals["converged"]):
        raise AnalysisError(
            f"the {'Firth penalized' if penalized else 'statsmodels Logit'} fit did not converge; its standard "
            "errors and p-values cannot be trusted."
        )
    scaler = pipeline.named_steps["preprocess"].named_transformers_["continuous"]
    return FittedModel(
        pipeline=pipeline,
        inference=inference,
        feature_names=tuple(design.columns.drop("const")),
        balance=balance,
        sklearn_iterations=iterations,
        inference_converged=True,
        inference_iterations=int(inference.mle_retvals["iterations"]),
        train_scales=pd.Series(scaler.scale_, index=list(spec.continuous)),
        calibration=calibration,
        separation=separation,
        penalized=penalized,
        estimator=inference.method if penalized else MAXIMUM_LIKELIHOOD,
    )
