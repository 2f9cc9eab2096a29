"""Two fits of one logistic model: a classifier for prediction, an inference model for the associations.

* :func:`fit_classifier`: a scikit-learn pipeline fitted on the training part only
  (scaling, encoding and any resampling inside it), so that the untouched test part can
  judge its predictions. Class weights or resampling serve its decision rule.
* :func:`fit_inference`: coefficients, standard errors, p-values and intervals from an
  unweighted fit on every used row (training and test parts): the associations are a
  property of the data, not of one random split, and copies of rows would shrink standard
  errors without adding information. Maximum likelihood (statsmodels ``Logit`` results),
  or Firth's penalized likelihood when the classes (nearly) separate.
* :func:`fit_models`: both, as ``run`` fits them, on one shared design.

Maximum likelihood is Newton's method on sufficient statistics
(:mod:`tiktok_claims.model.irls`), reading the design (:mod:`tiktok_claims.model.design`)
in row blocks, so a fit on ten million rows takes seconds and little more memory than
the design; its estimates are set into the scikit-learn pipeline and the statsmodels
results, which keep their roles (scoring and the model file; the inference tables).
Separation is detected before each fit, on that fit's own rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from statsmodels.base.model import LikelihoodModelResults
from statsmodels.discrete.discrete_model import (
    BinaryResultsWrapper,
    DiscreteResults,
    Logit,
    LogitResults,
)
from statsmodels.tools.tools import add_constant

from .. import config
from ..errors import AnalysisError
from .design import Design, DesignRows, Moments, build_design
from .features import FeatureSpec
from .firth import FirthInference, FirthLogisticRegression
from .irls import NEWTON_MAX_ITER, NEWTON_TOL, NewtonFit, fit_logistic
from .separation import Separation, detect_separation

MAX_ITER = 1000
MAXIMUM_LIKELIHOOD = "maximum likelihood (statsmodels Logit, Newton)"
# Balance strategies whose classifier is fitted by Newton's method on the design; the
# resamplers change the rows themselves, so their pipelines fit themselves.
NEWTON_BALANCES = ("class-weights", "none")
# Balance strategies that resample the training rows: their pipelines are imbalanced-learn's.
RESAMPLING_BALANCES = ("upsample", "smote")


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
    fitted on: an imbalanced-learn ``Pipeline`` (which lets a step resample), imported
    only then (it is slow to import); without resampling, scikit-learn's own.
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
    preprocess = ("preprocess", spec.preprocessor())
    if balance not in RESAMPLING_BALANCES:
        return Pipeline([preprocess, ("classifier", classifier)])
    from imblearn.over_sampling import SMOTE, RandomOverSampler
    from imblearn.pipeline import Pipeline as ResamplingPipeline

    if balance == "upsample":
        resampling = [("upsample", RandomOverSampler(random_state=seed))]
    else:
        resampling = [
            ("smote", SMOTE(random_state=seed)),
            ("categories", FunctionTransformer(nearer_parent_categories, kw_args={"columns": spec.indicator_positions()})),
        ]
    return ResamplingPipeline([preprocess, *resampling, ("classifier", classifier)])


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
    Built by :func:`~tiktok_claims.model.design.build_design`, equal to the preprocessor's output;
    a formula's design by its own preprocessor (:class:`~tiktok_claims.model.formula.FormulaDesign`).
    """
    if spec.formula is not None:
        preprocess = spec.preprocessor().fit(frame[spec.columns])
        design = pd.DataFrame(
            preprocess.transform(frame[spec.columns]), columns=preprocess.get_feature_names_out(), index=frame.index
        )
        return add_constant(design, has_constant="add"), spec.scales(preprocess)
    design = build_design(frame, spec)
    return design.frame(), design.scales()


@dataclass(frozen=True)
class _FormulaDesign:
    """A formula's design with its constant (:func:`design_matrix`), read as :func:`_inference` reads a :class:`Design`."""

    exog: pd.DataFrame
    scale_values: pd.Series

    @property
    def index(self) -> pd.Index:
        return self.exog.index

    def frame(self) -> pd.DataFrame:
        return self.exog

    def scales(self) -> pd.Series:
        return self.scale_values

    def rows(self) -> DesignRows:
        return DesignRows.of(self.exog)


def fit_models(
    frame: pd.DataFrame,
    y: pd.Series,
    train: np.ndarray,
    spec: FeatureSpec,
    balance: str,
    seed: int,
    calibrate: bool = False,
) -> tuple[Classifier, Inference]:
    """Both fits of ``run`` on one design: the classifier on the rows at positions ``train``, the inference model on every row.

    ``train`` holds row numbers (``Split.train_positions``). The design is built once,
    standardized on every row of ``frame`` (the inference model's); the classifier reads
    its training rows through a view of it standardized on those rows
    (:meth:`~tiktok_claims.model.design.Design.part_rows`). The results are those of
    ``fit_classifier(frame.iloc[train], y.iloc[train], ...)`` and ``fit_inference(frame,
    y, spec)`` (to Newton's tolerance), without a second design or a copy of the training
    rows; the inference model is fitted first and the classifier's Newton steps start from
    its estimates, so they are fewer.
    """
    positions = np.asarray(train)
    if positions.dtype.kind not in "iu" or len(positions) == 0 or positions.min() < 0 or positions.max() >= len(frame):
        raise AnalysisError(f"train must hold row numbers of the frame (0 to {len(frame) - 1:,}).")
    if spec.formula is not None:  # a formula's design is its own preprocessor's: the two fits apart
        return fit_classifier(frame.iloc[positions], y.iloc[positions], spec, balance, seed, calibrate), fit_inference(frame, y, spec)
    design = build_design(frame, spec, part=positions)
    inference = _inference(design, y)
    rows = design.part_rows()
    # Newton's sums and the separation check's passes over every row do not depend on the
    # order of the rows: they read them in the frame's order, nearly sequentially (the
    # subsample and the classifier's own outcome stay in the split's order).
    in_train = np.zeros(len(frame), dtype=bool)
    in_train[positions] = True
    in_order = np.flatnonzero(in_train)
    del in_train
    if len(frame) <= np.iinfo(np.int32).max:
        in_order = in_order.astype(np.int32)  # half the index array the classifier's rows keep
    if len(in_order) != len(positions):
        raise AnalysisError(f"train names {len(positions) - len(in_order):,} rows more than once.")
    outcome = y.to_numpy().astype(np.int8)  # 0/1: an eighth of the int64 column, for the two orders below
    newton_y = outcome[in_order]
    start = None
    if not inference.penalized:
        # The inference estimates, read in the training rows' standardization (x̃ = xM, so
        # β̃ = M⁻¹β), with balanced class weights shifting the intercept by log(n₀/n₁), as
        # they would exactly in a well-specified model: a start a few steps from the optimum.
        start = np.linalg.solve(rows.matrix, inference.result.params.to_numpy())
        if balance == "class-weights":
            events = int(np.count_nonzero(newton_y))
            start[0] += np.log((len(newton_y) - events) / events)
    part = _TrainingPart(
        frame=frame,
        positions=positions,
        outcomes=y,
        outcome=outcome[positions],
        rows=rows,
        moments=design.part_moments,
        newton_rows=rows.reordered(in_order),
        newton_y=newton_y,
        start=start,
    )
    return _classifier(part, spec, balance, seed, calibrate), inference


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
    likelihood (finite where maximum likelihood is not). Otherwise, with class weights
    or none, the maximum-likelihood coefficients come from Newton's method on the
    design (:func:`tiktok_claims.model.irls.fit_logistic`) and are set into the
    pipeline's ``LogisticRegression`` (the same optimum its own solver finds; see
    :data:`NEWTON_BALANCES`); resampling strategies are fitted by the pipeline itself.
    With ``calibrate``, the pipeline's scores are recalibrated by Platt scaling learned
    on out-of-fold training scores, so they read as probabilities at the natural
    prevalence even when classes were reweighted or resampled.
    """
    if spec.formula is not None:  # the pipeline fits itself on the formula's design
        rows = DesignRows.of(design_matrix(train, spec)[0])
        part = _TrainingPart(train, None, y_train, y_train.to_numpy(), rows, None, rows, y_train.to_numpy())
        return _classifier(part, spec, balance, seed, calibrate, separation)
    design = build_design(train, spec)
    rows = design.rows()
    part = _TrainingPart(
        frame=train,
        positions=None,
        outcomes=y_train,
        outcome=y_train.to_numpy(),
        rows=rows,
        moments=design.moments,
        newton_rows=rows,
        newton_y=y_train.to_numpy(),
    )
    return _classifier(part, spec, balance, seed, calibrate, separation)


def fit_inference(frame: pd.DataFrame, y: pd.Series, spec: FeatureSpec) -> Inference:
    """Fit the unweighted inference model on ``frame`` (every used row).

    Separation is detected on these rows first. Without it: maximum likelihood by
    Newton's method (:func:`tiktok_claims.model.irls.fit_logistic`), returned as the
    statsmodels ``Logit`` results it equals. With it: Firth's penalized likelihood, with
    profile intervals and likelihood-ratio p-values; under near separation the ordinary
    fit is kept beside it for comparison (:attr:`Inference.firth_shift`).
    """
    if spec.formula is not None:
        return _inference(_FormulaDesign(*design_matrix(frame, spec)), y)
    return _inference(build_design(frame, spec), y)


@dataclass(frozen=True)
class _TrainingPart:
    """The classifier's rows, as design views and (built only when a pipeline fits itself) as a frame."""

    frame: pd.DataFrame
    positions: np.ndarray | None  # the rows of ``frame``; None: all of them
    outcomes: pd.Series  # the outcome of every row of ``frame``
    outcome: np.ndarray  # 0/1 of these rows, in the order of ``positions``
    rows: DesignRows  # standardized on these rows, in the order of ``positions``
    moments: Moments | None  # that standardization (None: a formula's design, fitted by the pipeline itself)
    newton_rows: DesignRows  # the same rows in any order, with ``newton_y``
    newton_y: np.ndarray
    start: np.ndarray | None = None  # Newton's starting coefficients (None: zero)

    @property
    def y(self) -> pd.Series:
        """The outcome of these rows as a Series (built only when a pipeline fits itself: a copy of the rows)."""
        return self.outcomes if self.positions is None else self.outcomes.iloc[self.positions]

    def columns(self, spec: FeatureSpec, head: bool = False) -> pd.DataFrame:
        """The predictors of these rows as a frame (``head``: the first row only)."""
        rows = slice(None) if self.positions is None else self.positions
        if head:
            rows = slice(0, 1) if self.positions is None else self.positions[:1]
        # Rows and columns in one take: selecting the columns first would copy them whole.
        return self.frame.iloc[rows, self.frame.columns.get_indexer(list(spec.columns))]


def _classifier(
    part: _TrainingPart, spec: FeatureSpec, balance: str, seed: int, calibrate: bool, separation: Separation | None = None
) -> Classifier:
    if separation is None:
        separation = detect_separation(part.rows, part.outcome, scan=(part.newton_rows, part.newton_y))
    pipeline = build_pipeline(spec, balance, seed, penalized=separation.use_penalized)
    calibration = platt_calibration(pipeline, part.columns(spec), part.y, seed) if calibrate else None
    if separation.use_penalized or balance not in NEWTON_BALANCES or spec.formula is not None:
        pipeline.fit(part.columns(spec), part.y)
        iterations = int(np.max(pipeline.named_steps["classifier"].n_iter_))
        if iterations >= MAX_ITER:
            raise AnalysisError(
                f"the logistic regression did not converge in {MAX_ITER} Newton iterations; "
                "its coefficients cannot be trusted."
            )
    else:
        iterations = _fit_pipeline_by_newton(pipeline, part, spec, balance)
    return Classifier(
        pipeline=pipeline,
        feature_names=tuple(pipeline.named_steps["preprocess"].get_feature_names_out()),
        balance=balance,
        iterations=iterations,
        calibration=calibration,
        separation=separation,
        penalized=separation.use_penalized,
    )


def _fit_pipeline_by_newton(pipeline, part: _TrainingPart, spec: FeatureSpec, balance: str) -> int:
    """Fit ``pipeline`` as its own ``fit`` would, from Newton's method on the design; the Newton steps taken.

    The preprocessor's structure (columns, categories, log1p mask) is fitted on one row;
    its statistics are those of every training row (``part.moments``). The classifier's
    coefficients maximize scikit-learn's objective: with ``C=inf`` there is no penalty,
    and ``class_weight="balanced"`` weighs each row by ``n / (2 n_class)``.
    """
    outcome = part.newton_y
    weights = None
    if balance == "class-weights":
        n, events = len(outcome), int(np.count_nonzero(outcome))
        weights = (n / (2 * (n - events)), n / (2 * events))
    newton = fit_logistic(part.newton_rows, outcome, class_weights=weights, start=part.start)
    if not newton.converged:
        raise AnalysisError(
            f"the logistic regression did not converge ({newton.message}); its coefficients cannot be trusted."
        )
    moments = part.moments
    scaler = pipeline.named_steps["preprocess"].fit(part.columns(spec, head=True)).named_transformers_["continuous"]
    scaler.mean_, scaler.var_, scaler.scale_, scaler.n_samples_seen_ = moments.mean, moments.var, moments.scale, moments.n
    classifier = pipeline.named_steps["classifier"]
    classifier.classes_ = np.array([0, 1])
    classifier.coef_ = newton.params[None, 1:].copy()
    classifier.intercept_ = newton.params[:1].copy()
    classifier.n_iter_ = np.array([newton.iterations], dtype=np.int32)
    classifier.n_features_in_ = classifier.coef_.shape[1]
    return newton.iterations


def _inference(design: Design, y: pd.Series) -> Inference:
    separation = detect_separation(design.rows(), y)
    penalized = separation.use_penalized
    maximum_likelihood = None
    if penalized:
        result = FirthInference(design.frame(), y)
        if not bool(result.mle_retvals["converged"]):
            raise AnalysisError(
                "the Firth penalized fit did not converge; its standard errors and p-values cannot be trusted."
            )
        if separation.kind == "near":
            maximum_likelihood = _maximum_likelihood(design, y, required=False)
    else:
        result = _maximum_likelihood(design, y, required=True)
    return Inference(
        result=result,
        scales=design.scales(),
        separation=separation,
        penalized=penalized,
        estimator=result.method if penalized else MAXIMUM_LIKELIHOOD,
        iterations=int(result.mle_retvals["iterations"]),
        rows=len(design.index),
        maximum_likelihood=maximum_likelihood,
    )


def _maximum_likelihood(design: Design, y: pd.Series, *, required: bool):
    """The maximum-likelihood fit as statsmodels ``LogitResults``; when not ``required``, ``None`` if it does not converge."""
    outcome = y.astype(np.float64)
    newton = fit_logistic(design.rows(), outcome.to_numpy())
    if newton.converged:
        return _logit_results(design.frame(), outcome, newton)
    if required:
        raise AnalysisError(
            f"the maximum-likelihood fit did not converge ({newton.message}); its standard errors and p-values "
            "cannot be trusted."
        )
    return None


# Rows per block of the separation note's pass over the design (half a MiB per float64 vector).
_NOTE_BLOCK_ROWS = 1 << 16


def _separation_note(model: Logit, params: np.ndarray) -> list[str]:
    """statsmodels' ``BinaryResults`` separation note (its wording), from rows predicted to within 1e-4, a block at a time."""
    exog, endog = model.exog, model.endog
    n = exog.shape[0]
    close = 0
    for start in range(0, n, _NOTE_BLOCK_ROWS):
        stop = min(start + _NOTE_BLOCK_ROWS, n)
        close += int(np.count_nonzero(np.abs(endog[start:stop] - model.cdf(exog[start:stop] @ params)) < 1e-4))
    if close == n:
        return [
            "Complete Separation: The results show that there is"
            "complete separation or perfect prediction.\n"
            "In this case the Maximum Likelihood Estimator does "
            "not exist and the parameters\n"
            "are not identified."
        ]
    if close / n > 0.1:
        return [
            "Possibly complete quasi-separation: A fraction "
            f"{close / n:4.2f} of observations can be\n"
            "perfectly predicted. This might indicate that there "
            "is complete\nquasi-separation. In this case some "
            "parameters will not be identified."
        ]
    return []


def _logit_results(design: pd.DataFrame, y: pd.Series, newton: NewtonFit):
    """The statsmodels ``LogitResults`` of a converged Newton fit, as ``Logit(y, design).fit(method="newton")`` builds them.

    statsmodels' own fit would repeat the Newton steps, each with an ``n × p`` temporary
    (its Hessian weighs a transposed copy of the design), and check the rank with a QR
    decomposition of the design; the Newton fit has done both (its Cholesky factor
    exists only for a full-rank design). The results object is statsmodels' own, built
    as its ``LikelihoodModel.fit`` builds it: parameters, the inverse information as
    ``normalized_cov_params``, and the optimizer's ``mle_retvals`` (negative mean
    log-likelihood, score and Hessian, divided by the rows as statsmodels keeps them).
    Everything else (``bse``, ``pvalues``, ``conf_int()``, ``llf``, ``llnull``,
    ``summary2()``, ...) statsmodels computes from these. ``LogitResults(model, fitted)``
    would also compute its separation note from four vectors of one value per row, and
    keep one (``fittedvalues``); the note is computed a block of rows at a time
    (:func:`_separation_note`) and ``fittedvalues`` left to be computed if asked for.
    """
    model = Logit(y, design, check_rank=False)
    nobs = len(y)
    fitted = LikelihoodModelResults(model, newton.params, normalized_cov_params=newton.covariance, scale=1.0)
    fitted.mle_retvals = {
        "fopt": -newton.loglike / nobs,
        "iterations": newton.iterations,
        "score": -newton.score / nobs,
        "Hessian": newton.information / nobs,
        "warnflag": 0,
        "converged": True,
    }
    fitted.mle_settings = {
        "optimizer": "newton",
        "start_params": np.zeros(len(newton.params)),
        "maxiter": NEWTON_MAX_ITER,
        "tol": NEWTON_TOL,
        "full_output": True,
        "disp": False,
        "fargs": (),
        "callback": None,
        "retall": False,
    }
    results = LogitResults.__new__(LogitResults)
    DiscreteResults.__init__(results, model, fitted)
    results._separation_etext = _separation_note(model, newton.params)
    # statsmodels fits the constant-only model for ``llnull`` (pseudo-R², LR test) from a
    # rough start by Nelder-Mead then BFGS (about a second on 20,000 rows); its hook for
    # start values takes the exact optimum, logit(ȳ), from which Newton confirms it in a step.
    share = float(np.mean(y))
    results._optim_kwds_null = {"start_params": np.array([np.log(share / (1 - share))]), "method": "newton"}
    return BinaryResultsWrapper(results)
