"""Stratified k-fold cross-validation on the training part: balance strategies,
baselines and a non-linear reference model, all on the same folds.

Every data-dependent step (scaling, encoding, resampling, the threshold) is learned
inside each fold from that fold's training rows only; the fold's validation rows are
only ever scored. Models whose preprocessing is the same (the balance strategies)
share one fit of it per fold, which gives what fitting each whole pipeline would.

Two shortcuts give what the pipelines' own fits give, for less work:

* What a preprocessing step learns nothing for (dummies and ordinal codes of fixed
  categories, passed-through counts) is computed once on every training row, and each
  fold takes its rows; only the standardization is fitted per fold, by the pipeline's
  own scaler on the fold's fitting rows (:func:`_encodings`): the designs are those of
  the whole step fitted per fold, bit for bit.
* An unpenalized ``LogisticRegression`` (``C=inf``, the Newton-Cholesky solver) is
  fitted by Newton's method on the design (:func:`tiktok_claims.model.irls.fit_logistic`),
  after the pipeline's own resampling and transforms, with scikit-learn's class
  weights, starting from the fold's previous fit on the same design: the maximum of
  the same likelihood its solver finds, to the solvers' tolerance, without its per-fit
  overhead (:func:`_fitted_rest`).
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd
from joblib import hash as parameters_hash
from scipy import stats
from scipy.special import expit
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from threadpoolctl import ThreadpoolController

from .. import config
from ..model.design import DesignRows, category_codes
from ..model.features import FeatureSpec, build_preprocessor
from ..model.irls import fit_logistic
from ..model.logistic import build_pipeline
from ..parallel import InProcess
from .metrics import ThresholdRule, weighted_metrics

THRESHOLD_METRICS = ("precision", "recall", "f1")
CV_METRICS = ("roc_auc", "average_precision", "log_loss", "brier", *THRESHOLD_METRICS)
REFERENCE_MODEL = "gradient boosting (reference)"
# Solvers whose fits Newton's method reproduces to their tolerance (see :func:`_newton_coefficients`).
# Not lbfgs (the claim-status baseline's): it stops at a tolerance of 1e-4, short of the
# optimum by enough to move that baseline's log loss, Brier score and threshold by ~1e-6.
NEWTON_SOLVERS = ("newton-cholesky",)


@dataclass(frozen=True)
class CrossValidation:
    """Per-fold metrics and their summaries for every model on the same folds."""

    folds: int
    repeats: int
    threshold_rule: str
    fold_metrics: pd.DataFrame = field(repr=False)
    summary: pd.DataFrame = field(repr=False)
    default_model: str
    default_reason: str


def strategy_name(balance: str) -> str:
    return f"logistic ({balance})"


def untransformed_name(balance: str) -> str:
    return f"{strategy_name(balance)} without the log1p transform"


def _models(
    spec: FeatureSpec, seed: int, penalized: bool = False, untransformed: tuple[FeatureSpec, str] | None = None
) -> dict[str, object]:
    """Name -> unfitted estimator (``None`` marks a score-free baseline).

    ``untransformed`` is ``(spec, balance)`` of the same model without the log1p remedy
    (its own feature selection on the raw counts): with it, the remedy is judged on the
    same folds.
    """
    models: dict[str, object] = {strategy_name(b): build_pipeline(spec, b, seed, penalized=penalized) for b in config.BALANCE_OPTIONS}
    if untransformed is not None:
        raw, balance = untransformed
        models[untransformed_name(balance)] = build_pipeline(raw, balance, seed, penalized=penalized)
    models["majority class (baseline)"] = None
    models["prior probability (baseline)"] = None
    if config.CLAIM in spec.categorical:
        models["claim status alone (baseline)"] = Pipeline(
            [
                ("preprocess", build_preprocessor((), (config.CLAIM,))),
                ("classifier", LogisticRegression(C=np.inf, class_weight="balanced")),
            ]
        )
    models[REFERENCE_MODEL] = Pipeline(
        [
            ("preprocess", _ordinal_preprocessor(spec)),
            (
                "classifier",
                HistGradientBoostingClassifier(
                    categorical_features=list(range(len(spec.categorical))),
                    early_stopping=False,
                    max_iter=50,
                    random_state=seed,
                ),
            ),
        ]
    )
    return models


def _ordinal_preprocessor(spec: FeatureSpec) -> ColumnTransformer:
    """The reference model's preprocessing: ordinal codes of the categories (fixed levels), the counts as they are."""
    ordinal = OrdinalEncoder(categories=[list(config.CATEGORIES[c]) for c in spec.categorical])
    return ColumnTransformer(
        [("categorical", ordinal, list(spec.categorical)), ("continuous", "passthrough", list(spec.continuous))]
    )


def cross_validate(train: pd.DataFrame, y_train: pd.Series, spec: FeatureSpec, **options) -> CrossValidation:
    """Evaluate every model on the same stratified folds of the training part and wait for them.

    Takes the options of :func:`start_cross_validation`; with an ``executor`` the folds
    run side by side.
    """
    return start_cross_validation(train, y_train, spec, **options).result()


@dataclass(frozen=True)
class PendingCrossValidation:
    """Cross-validation tasks submitted to an executor; :meth:`result` waits for them."""

    futures: list[Future]
    models: tuple[str, ...]
    folds: int
    repeats: int
    threshold_rule: str
    default_balance: str

    def result(self) -> CrossValidation:
        position = {name: i for i, name in enumerate(self.models)}
        rows = [row for future in self.futures for row in future.result()]
        # Stable sort: by fold, then models in their order, each model's metrics as computed.
        rows.sort(key=lambda row: (row["fold"], position[row["model"]]))
        fold_metrics = pd.DataFrame(rows)
        summary = summarize(fold_metrics)
        default = strategy_name(self.default_balance)
        return CrossValidation(
            folds=self.folds,
            repeats=self.repeats,
            threshold_rule=self.threshold_rule,
            fold_metrics=fold_metrics,
            summary=summary,
            default_model=default,
            default_reason=_default_reason(summary, default),
        )


def start_cross_validation(
    train: pd.DataFrame,
    y_train: pd.Series,
    spec: FeatureSpec,
    *,
    seed: int = config.DEFAULT_SEED,
    folds: int = config.CV_FOLDS,
    repeats: int = config.CV_REPEATS,
    threshold_rule: ThresholdRule = ThresholdRule(),
    default_balance: str = config.DEFAULT_BALANCE,
    executor: Executor | None = None,
    penalized: bool = False,
    untransformed: FeatureSpec | None = None,
) -> PendingCrossValidation:
    """Submit :func:`cross_validate`'s tasks to ``executor`` and return without waiting.

    The caller can do other work meanwhile and collect with ``.result()``. With
    ``penalized`` (separation found before the final fit), the logistic strategies use
    Firth's penalized likelihood, as the final model does. With ``untransformed`` (the
    feature selection on the raw counts, when the model uses the log1p remedy), the
    default strategy without the remedy is cross-validated too. Each fold is
    two tasks: the reference model, the longest, submitted first for every fold, and
    then the other models, so the shorter tasks fill the workers' time around it.
    """
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    columns = list(dict.fromkeys([*spec.columns, *(untransformed.columns if untransformed is not None else ())]))
    x, y = train[columns], y_train.to_numpy()
    models = _models(spec, seed, penalized, None if untransformed is None else (untransformed, default_balance))
    # Each model with the key of its preprocessing step (None: a score-free baseline).
    keyed = {name: (model, None if model is None else parameters_hash(model.steps[0][1])) for name, model in models.items()}
    encodings = _encodings(x, keyed, [spec, *([untransformed] if untransformed is not None else [])])
    longest_first = [
        {name: model for name, model in keyed.items() if name == REFERENCE_MODEL},
        {name: model for name, model in keyed.items() if name != REFERENCE_MODEL},
    ]
    pool = executor or InProcess()
    splits = list(enumerate(splitter.split(x, y)))
    futures = []
    for group in filter(None, longest_first):
        # The rows as a frame only for a task whose preprocessing is not all encoded already.
        rows = FoldRows(
            frame=None if all(key is None or key in encodings for _, key in group.values()) else x,
            encodings={key: encodings[key] for _, key in group.values() if key in encodings},
        )
        futures += [
            pool.submit(_run_fold, group, rows, y, threshold_rule, fold, fit_idx, val_idx) for fold, (fit_idx, val_idx) in splits
        ]
    return PendingCrossValidation(
        futures=futures,
        models=tuple(models),
        folds=folds,
        repeats=repeats,
        threshold_rule=threshold_rule.rule,
        default_balance=default_balance,
    )


@dataclass(frozen=True)
class Encoded:
    """A preprocessing step's work on every training row that no fold's rows change.

    ``fixed`` holds the columns learned from nothing (dummies or ordinal codes of fixed
    categories, counts passed through), in the step's column order after ``continuous``;
    ``continuous`` the columns the step's ``scaler`` standardizes, fitted per fold
    (``None``: the step learns nothing from the rows).
    """

    fixed: np.ndarray
    continuous: pd.DataFrame | None = None
    scaler: object | None = None


@dataclass(frozen=True)
class FoldRows:
    """The training part as a fold task reads it: the encoded preprocessing steps, and the frame if any step is not."""

    frame: pd.DataFrame | None
    encodings: dict[str, Encoded]


def _encodings(x: pd.DataFrame, keyed: dict, specs: list[FeatureSpec]) -> dict[str, Encoded]:
    """The fold-independent work of the preprocessing steps this module builds, by step key.

    A step is recognized by its parameters' hash (as :func:`_preprocessed` shares
    steps): ``build_preprocessor`` of a spec without a formula (a per-fold
    standardization, then dummies of fixed categories, the first level dropped) or
    :func:`_ordinal_preprocessor` (codes of fixed categories and the counts as they
    are: nothing learned). Their encoders' outputs are computed from each category's
    level positions, as the encoders compute them; any other step (a formula's design,
    or a step the caller replaced) is fitted per fold as it is.
    """
    known: dict[str, tuple[str, FeatureSpec]] = {}
    claim_only = FeatureSpec(
        target="", continuous=(), categorical=(config.CLAIM,), dropped={}, vif_rounds=pd.DataFrame(),
        correlated_pairs=pd.DataFrame(),
    )
    for spec in [*specs, claim_only]:
        if spec.formula is None:
            known[parameters_hash(build_preprocessor(spec.continuous, spec.categorical, spec.log1p))] = ("scaled", spec)
    known[parameters_hash(_ordinal_preprocessor(specs[0]))] = ("ordinal", specs[0])
    codes: dict[str, np.ndarray] = {}

    def levels_of(column: str) -> np.ndarray:
        if column not in codes:
            codes[column] = category_codes(x[column], config.CATEGORIES[column])
        return codes[column]

    encodings: dict[str, Encoded] = {}
    for model, key in keyed.values():
        if key is None or key in encodings or key not in known:
            continue
        kind, spec = known[key]
        if kind == "ordinal":
            ordinal = np.column_stack([levels_of(c) for c in spec.categorical]).astype(float) if spec.categorical else None
            parts = [part for part in (ordinal, x[list(spec.continuous)] if spec.continuous else None) if part is not None]
            encodings[key] = Encoded(fixed=np.hstack(parts))
            continue
        dummies = [
            levels_of(column) == level for column in spec.categorical for level in range(1, len(config.CATEGORIES[column]))
        ]
        fixed = np.column_stack(dummies).astype(float) if dummies else np.empty((len(x), 0))
        scaler = model.steps[0][1].transformers[0][1]
        encodings[key] = Encoded(
            fixed=fixed, continuous=x[list(spec.continuous)] if spec.continuous else None, scaler=scaler
        )
    return encodings


def _run_fold(models, rows: FoldRows, y, threshold_rule: ThresholdRule, fold: int, fit_idx, val_idx) -> list[dict]:
    """Fit each of ``models`` (name -> (template, preprocessing key)) on one fold's fitting rows and score its held-out rows."""
    y_fit, y_val = y[fit_idx], y[val_idx]
    fold_rows = FoldPart(rows, fit_idx, val_idx)
    designs: dict[str, tuple] = {}
    starts: dict[str, tuple] = {}
    results = []
    # Small fits: one thread each is faster than OpenMP's start-up and contention.
    with _thread_pools().limit(limits=1):
        for name, (template, key) in models.items():
            # The majority-class baseline never flags anything, whatever its scores; the
            # reference model's training scores are overfitted, so a threshold chosen on
            # them would misrepresent it: it is compared on ranking metrics only.
            ranking_only = name == REFERENCE_MODEL
            fit_scores, val_scores = _fold_scores(name, template, key, fold_rows, y_fit, designs, starts, ranking_only)
            if name.startswith("majority"):
                threshold = np.inf
            elif ranking_only:
                threshold = np.nan
            else:
                threshold = threshold_rule.choose(y_fit, fit_scores).threshold
            values = weighted_metrics(y_val, val_scores, np.ones(len(val_idx)), threshold).iloc[0]
            if name.startswith("majority"):
                values["log_loss"] = np.nan  # a constant 0 is a label, not a probability
            if ranking_only:
                values[list(THRESHOLD_METRICS)] = np.nan
            results += [{"model": name, "fold": fold, "metric": m, "value": float(values[m])} for m in CV_METRICS]
            results.append({"model": name, "fold": fold, "metric": "threshold", "value": float(threshold)})
    return results


@cache
def _thread_pools() -> ThreadpoolController:
    """This process's BLAS and OpenMP libraries, found once (``threadpool_limits`` looks for them on every call).

    The libraries a fold uses are loaded by this module's imports, before the first call.
    """
    return ThreadpoolController()


@dataclass(frozen=True)
class FoldPart:
    """One fold's fitting and held-out rows of the training part."""

    rows: FoldRows
    fit_idx: np.ndarray
    val_idx: np.ndarray

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        frame = self.rows.frame
        return frame.iloc[self.fit_idx], frame.iloc[self.val_idx]


def _fold_scores(name, template, key, part: FoldPart, y_fit, designs: dict, starts: dict, ranking_only: bool = False):
    """Scores of the fitting rows (for the threshold; ``None`` if ``ranking_only``) and of the held-out rows.

    ``template`` is an unfitted pipeline whose first step is its preprocessing (``key``:
    its parameters' hash), or ``None`` for a score-free baseline. The preprocessing is
    fitted on the fitting rows by :func:`_preprocessed`; the rest of the pipeline is
    cloned and fitted on the design it makes (:func:`_fitted_rest`), as the whole
    pipeline would be; ``starts`` keeps the fold's last Newton fit on each design, where
    the next one on it starts.
    """
    if template is None:
        value = 0.0 if name.startswith("majority") else float(y_fit.mean())
        return np.full(len(part.fit_idx), value), np.full(len(part.val_idx), value)
    fit_design, val_design = _preprocessed(template.steps[0][1], key, part, y_fit, designs)
    scores = _fitted_rest(template, fit_design, y_fit, starts, key)
    return None if ranking_only else scores(fit_design), scores(val_design)


def _preprocessed(preprocess, key: str, part: FoldPart, y_fit, designs: dict) -> tuple:
    """The designs of the fitting and held-out rows made by ``preprocess`` fitted on the fitting rows.

    The logistic strategies differ only after their (identical) preprocessing, so one
    fit of it per fold serves them all: ``designs`` keeps the fold's designs by ``key``,
    a hash of the unfitted preprocessing step's parameters. A step encoded once for every
    fold (:class:`Encoded`) only has its scaler fitted here, on the fitting rows, and
    its columns put side by side as the step puts them.
    """
    if key in designs:
        return designs[key]
    encoded = part.rows.encodings.get(key)
    if encoded is None:
        x_fit, x_val = part.frames()
        fitted = clone(preprocess)
        designs[key] = (fitted.fit_transform(x_fit, y_fit), fitted.transform(x_val))
    elif encoded.continuous is None:
        designs[key] = (encoded.fixed[part.fit_idx], encoded.fixed[part.val_idx])
    else:
        scaler, continuous = clone(encoded.scaler), encoded.continuous
        scaled_fit = scaler.fit_transform(continuous.iloc[part.fit_idx], y_fit)
        scaled_val = scaler.transform(continuous.iloc[part.val_idx])
        designs[key] = (
            np.hstack([scaled_fit, encoded.fixed[part.fit_idx]]),
            np.hstack([scaled_val, encoded.fixed[part.val_idx]]),
        )
    return designs[key]


def _fitted_rest(template, design: np.ndarray, y: np.ndarray, starts: dict | None = None, key: str | None = None):
    """Fit the steps of ``template`` after its preprocessing on ``design``; a function from a design to scores.

    The steps run as the pipeline runs them (a resampler's ``fit_resample`` at fitting
    only, a transformer's ``fit_transform`` then its ``transform`` when scoring). An
    unpenalized ``LogisticRegression`` at the end is fitted by Newton's method
    (:func:`_newton_coefficients`) when it can be; any other classifier, or a Newton fit
    that fails, is fitted by itself. ``starts`` (by ``key``, the design's) holds the
    last Newton fit on this design, from which the next starts (:func:`_newton_coefficients`).
    """
    rest = clone(template[1:])
    *steps, (_, classifier) = rest.steps
    x, outcome, transforms = design, y, []
    for _, step in steps:
        if hasattr(step, "fit_resample"):
            x, outcome = step.fit_resample(x, outcome)
        else:
            x = step.fit_transform(x, outcome)
            transforms.append(step)
    starts = {} if starts is None else starts
    newton = _newton_coefficients(classifier, x, outcome, starts.get(key))
    coefficients = None
    if newton is None:
        classifier.fit(x, outcome)
    else:
        coefficients = starts[key] = newton

    def scores(rows: np.ndarray) -> np.ndarray:
        for step in transforms:
            rows = step.transform(rows)
        if coefficients is None:
            return classifier.predict_proba(rows)[:, 1]
        return expit(rows @ coefficients[0][1:] + coefficients[0][0])

    return scores


def _newton_coefficients(classifier, x: np.ndarray, y: np.ndarray, previous: tuple | None = None) -> tuple | None:
    """Intercept and coefficients maximizing ``classifier``'s objective, by Newton's method; ``None`` if not done here.

    Done for an unpenalized binary ``LogisticRegression`` with an intercept and no or
    balanced class weights (scikit-learn's ``n / (2 n_class)`` per row), whose objective
    is then the (weighted) log-likelihood that
    :func:`tiktok_claims.model.irls.fit_logistic` maximizes. ``None`` for any other
    classifier or outcome, or when Newton's method does not converge (separation).

    Returns ``(coefficients, log_odds)``, ``log_odds`` the log of the weighted positives
    over the weighted negatives. ``previous``, such a pair from a fit on the same
    columns, is the start, its intercept shifted by the change in ``log_odds`` (as
    reweighting the classes shifts a logistic model's intercept): a few Newton steps
    from the optimum, which is the same from any start (to the tolerance).
    """
    if (
        type(classifier) is not LogisticRegression
        or not (classifier.C == np.inf or classifier.penalty is None)
        or not classifier.fit_intercept
        or classifier.class_weight not in (None, "balanced")
        or classifier.solver not in NEWTON_SOLVERS
    ):
        return None
    outcome = np.asarray(y)
    if outcome.dtype.kind not in "biu" or not np.isin(outcome, (0, 1)).all():
        return None
    n, events = len(outcome), int(np.count_nonzero(outcome))
    if events in (0, n):
        return None
    weights, log_odds = None, float(np.log(events / (n - events)))
    if classifier.class_weight == "balanced":
        weights, log_odds = np.where(outcome == 1, n / (2 * events), n / (2 * (n - events))), 0.0
    design = np.empty((n, x.shape[1] + 1), order="F")
    design[:, 0] = 1.0
    design[:, 1:] = x
    start = None
    if previous is not None and previous[0].shape == (design.shape[1],):
        start = previous[0].copy()
        start[0] += log_odds - previous[1]
    fit = fit_logistic(DesignRows(design, tuple(str(j) for j in range(design.shape[1]))), outcome, weights, start=start)
    return (fit.params, log_odds) if fit.converged else None


def summarize(fold_metrics: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean, SD and a t-interval of each metric over folds, per model.

    Folds share training rows, so the interval understates the uncertainty a little;
    it is a guide to fold-to-fold variation, not an exact confidence interval.
    """
    grouped = fold_metrics.groupby(["model", "metric"], sort=False)["value"]
    table = grouped.agg(mean="mean", sd="std", n="count").reset_index()
    half = stats.t.ppf(0.5 + level / 2, df=np.maximum(table["n"] - 1, 1)) * table["sd"] / np.sqrt(table["n"])
    table["ci_low"] = table["mean"] - half
    table["ci_high"] = table["mean"] + half
    return table


def paired_differences(fold_metrics: pd.DataFrame, reference: str, metric: str = "roc_auc", level: float = 0.95) -> pd.DataFrame:
    """Each model's ``metric`` less the ``reference`` model's, fold by fold, summarized as :func:`summarize` does.

    The models are scored on the same folds, so the fold-to-fold variation they share
    cancels in the difference: its interval is the one to judge whether one model ranks
    better than another (narrower than comparing the two models' own intervals).
    """
    values = fold_metrics[fold_metrics["metric"] == metric].pivot_table(index="fold", columns="model", values="value", sort=False)
    differences = values.drop(columns=reference).sub(values[reference], axis=0).dropna(axis=1, how="all")
    long = differences.reset_index().melt(id_vars="fold", var_name="model", value_name="value").dropna(subset=["value"])
    return summarize(long.assign(metric=metric), level)


BALANCE_REASONS = {
    "class-weights": "it keeps every training row exactly once and adds no duplicated or synthetic rows",
    "none": "it keeps every training row exactly once, unweighted",
    "upsample": "it was asked for (--balance upsample: random copies of minority rows, made inside each fold only)",
    "smote": "it was asked for (--balance smote: synthetic minority rows, made inside each fold only)",
}
# Cross-validated ROC-AUCs closer than this rank videos alike.
AUC_TIE = 0.005


def _default_reason(summary: pd.DataFrame, default: str) -> str:
    """Why the default strategy is the model, in words its cross-validation supports.

    A strategy is never compared with itself: when the default's ROC-AUC is the highest
    (tied or not), or equals the best one to the three decimals printed, it is said to be
    the best.
    """
    strategies = [strategy_name(balance) for balance in config.BALANCE_OPTIONS]
    logistic = summary[summary["model"].isin(strategies) & (summary["metric"] == "roc_auc")]
    best = logistic.loc[logistic["mean"].idxmax()]
    mine = float(logistic.loc[logistic["model"] == default, "mean"].iloc[0])
    balance = default.removeprefix("logistic (").removesuffix(")")
    reason = f"{default[:1].upper()}{default[1:]} is the model: {BALANCE_REASONS.get(balance, 'it was asked for')}"
    gap = float(best["mean"]) - mine
    if best["model"] == default or round(gap, 3) == 0:
        tied = sorted(
            row.model for row in logistic.itertuples() if row.model != default and round(float(best["mean"]) - row.mean, 3) == 0
        )
        tie = f", tied to three decimals with {', '.join(tied[:-1]) + ' and ' if len(tied) > 1 else ''}{tied[-1]}" if tied else ""
        return f"{reason}, and it has the best cross-validated ROC-AUC of the logistic strategies ({mine:.3f}{tie})."
    if gap < AUC_TIE or float(best["ci_low"]) <= mine:
        return (
            f"{reason}; its cross-validated ROC-AUC ({mine:.3f}) is within {gap:.3f} of the best logistic strategy "
            f"({best['model']}, {best['mean']:.3f}), a difference within the folds' variation: the strategies rank "
            "videos alike, and the threshold, chosen on training scores, sets the precision/recall trade-off."
        )
    return (
        f"{reason}, but {best['model']} ranks videos better in cross-validation ({best['mean']:.3f} against "
        f"{mine:.3f}); consider it."
    )
