"""Two fits of one logistic model: a classifier for prediction, an inference model for the associations.

* :func:`fit_classifier`: a scikit-learn pipeline fitted on the training part only
  (scaling, encoding and any resampling inside it), so that the untouched test part can
  judge its predictions. Class weights or resampling serve its decision rule.
* :func:`fit_inference`: coefficients, standard errors, p-values and intervals from an
  unweighted fit on every used row (training and test parts): the associations are a
  property of the data, not of one random split, and copies of rows would shrink standard
  errors without adding information. Maximum likelihood (statsmodels ``Logit``), or
  Firth's penalized likelihood when the classes (nearly) separate.

Separation is detected before each fit, on that fit's own rows.
"""

from __future__ import annotations

import warnings
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
class Classifier:
    """The fitted prediction pipeline (training part only), with its convergence facts."""

    pipeline: object = field(repr=False)
    feature_names: tuple[str, ...]
    balance: str
    iterations: int
    calibration: tuple[float, float] | None
    separation: Separation = field(repr=False)
    penalized: bool
    """True when Firth's penalized likelihood replaced maximum likelihood (separation)."""

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


@dataclass(frozen=True)
class Inference:
    """The unweighted inference fit on every used row.

    Attributes
    ----------
    result : statsmodels ``LogitResults`` or :class:`~tiktok_claims.model.firth.FirthInference`
        ``params``, ``bse``, ``pvalues``, ``conf_int``, ``llf``, ... on the standardized design.
    scales : Series
        Standard deviation (population) of each continuous predictor as entered, on these rows.
    separation : Separation
        Found on these rows before fitting; it decides between ML and Firth.
    maximum_likelihood : statsmodels ``LogitResults`` or None
        Under near separation, the ordinary fit that Firth replaced (it exists and is
        finite there), for comparison; ``None`` otherwise or when it did not converge.
    """

    result: object = field(repr=False)
    scales: pd.Series = field(repr=False)
    separation: Separation = field(repr=False)
    penalized: bool
    estimator: str
    iterations: int
    rows: int
    maximum_likelihood: object = field(repr=False, default=None)

    @property
    def firth_shift(self) -> float | None:
        """Largest relative change of a slope from maximum likelihood to Firth (``None`` without both fits)."""
        if self.maximum_likelihood is None:
            return None
        ml = self.maximum_likelihood.params.drop("const")
        return float(((self.result.params.drop("const") - ml).abs() / ml.abs()).max())


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
        steps.append(("smote", SMOTE(random_state=seed)))
        steps.append(
            ("categories", FunctionTransformer(nearer_parent_categories, kw_args={"columns": spec.indicator_positions()}))
        )
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


def design_matrix(frame: pd.DataFrame, spec: FeatureSpec) -> tuple[pd.DataFrame, pd.Series]:
    """``frame``'s encoded design with a constant, standardized on ``frame`` itself, and the scales used.

    The scales are the standard deviations (population) of the continuous predictors as
    they enter the model: what turns a coefficient per SD into one per readable unit.
    """
    preprocess = spec.preprocessor().fit(frame[spec.columns])
    design = pd.DataFrame(
        preprocess.transform(frame[spec.columns]), columns=preprocess.get_feature_names_out(), index=frame.index
    )
    return sm.add_constant(design, has_constant="add"), spec.scales(preprocess)


def fit_classifier(
    train: pd.DataFrame,
    y_train: pd.Series,
    spec: FeatureSpec,
    balance: str,
    seed: int,
    calibrate: bool = False,
    separation: Separation | None = None,
) -> Classifier:
    """Fit the prediction pipeline on the training part.

    Separation is detected first on the training part's design
    (:func:`tiktok_claims.model.separation.detect_separation`), unless the caller
    passes its result: when the classes separate, the classifier is Firth's penalized
    likelihood (finite where maximum likelihood is not). With ``calibrate``, the
    pipeline's scores are recalibrated by Platt scaling learned on out-of-fold training
    scores, so they read as probabilities at the natural prevalence even when classes
    were reweighted or resampled.
    """
    if separation is None:
        separation = detect_separation(design_matrix(train, spec)[0], y_train)
    pipeline = build_pipeline(spec, balance, seed, penalized=separation.use_penalized)
    calibration = platt_calibration(pipeline, train[spec.columns], y_train, seed) if calibrate else None
    pipeline.fit(train[spec.columns], y_train)
    iterations = int(np.max(pipeline.named_steps["classifier"].n_iter_))
    if iterations >= MAX_ITER:
        raise AnalysisError(
            f"the logistic regression did not converge in {MAX_ITER} Newton iterations; "
            "its coefficients cannot be trusted."
        )
    return Classifier(
        pipeline=pipeline,
        feature_names=tuple(pipeline.named_steps["preprocess"].get_feature_names_out()),
        balance=balance,
        iterations=iterations,
        calibration=calibration,
        separation=separation,
        penalized=separation.use_penalized,
    )


def fit_inference(frame: pd.DataFrame, y: pd.Series, spec: FeatureSpec) -> Inference:
    """Fit the unweighted inference model on ``frame`` (every used row).

    Separation is detected on these rows first. Without it: maximum likelihood
    (statsmodels ``Logit``, Newton). With it: Firth's penalized likelihood, with profile
    intervals and likelihood-ratio p-values; under near separation the ordinary fit is
    kept beside it for comparison (:attr:`Inference.firth_shift`).
    """
    design, scales = design_matrix(frame, spec)
    separation = detect_separation(design, y)
    penalized = separation.use_penalized
    maximum_likelihood = None
    if penalized:
        result = FirthInference(design, y)
        if separation.kind == "near":
            maximum_likelihood = _maximum_likelihood(design, y, required=False)
    else:
        result = _maximum_likelihood(design, y, required=True)
    if not bool(result.mle_retvals["converged"]):
        raise AnalysisError(
            f"the {'Firth penalized' if penalized else 'statsmodels Logit'} fit did not converge; its standard "
            "errors and p-values cannot be trusted."
        )
    return Inference(
        result=result,
        scales=scales,
        separation=separation,
        penalized=penalized,
        estimator=result.method if penalized else MAXIMUM_LIKELIHOOD,
        iterations=int(result.mle_retvals["iterations"]),
        rows=len(frame),
        maximum_likelihood=maximum_likelihood,
    )


def _maximum_likelihood(design: pd.DataFrame, y: pd.Series, *, required: bool):
    """statsmodels' Newton Logit; when not ``required``, ``None`` if it fails, warns or does not converge."""
    if required:
        return sm.Logit(y.astype(float), design).fit(method="newton", maxiter=100, disp=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            result = sm.Logit(y.astype(float), design).fit(method="newton", maxiter=100, disp=False)
        except (Warning, np.linalg.LinAlgError, ValueError):
            return None
    return result if bool(result.mle_retvals["converged"]) else None
