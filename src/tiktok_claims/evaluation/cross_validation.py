"""Stratified k-fold cross-validation on the training part: balance strategies,
baselines and a non-linear reference model, all on the same folds.

Every data-dependent step (scaling, encoding, resampling, the threshold) is learned
inside each fold from that fold's training rows only; the fold's validation rows are
only ever scored. Models whose preprocessing is the same (the balance strategies)
share one fit of it per fold, which gives what fitting each whole pipeline would.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from imblearn.pipeline import Pipeline
from joblib import hash as parameters_hash
from scipy import stats
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.preprocessing import OrdinalEncoder
from threadpoolctl import threadpool_limits

from .. import config
from ..model.features import FeatureSpec, build_preprocessor
from ..model.logistic import build_pipeline
from ..parallel import InProcess
from .metrics import ThresholdRule, weighted_metrics

THRESHOLD_METRICS = ("precision", "recall", "f1")
CV_METRICS = ("roc_auc", "average_precision", "log_loss", "brier", *THRESHOLD_METRICS)
REFERENCE_MODEL = "gradient boosting (reference)"


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
        claim_only = FeatureSpec(
            target=spec.target, continuous=(), categorical=(config.CLAIM,), dropped={},
            vif_rounds=pd.DataFrame(), correlated_pairs=pd.DataFrame(),
        )
        models["claim status alone (baseline)"] = Pipeline(
            [
                ("preprocess", build_preprocessor(claim_only.continuous, claim_only.categorical)),
                ("classifier", LogisticRegression(C=np.inf, class_weight="balanced")),
            ]
        )
    ordinal = OrdinalEncoder(categories=[list(config.CATEGORIES[c]) for c in spec.categorical])
    models[REFERENCE_MODEL] = Pipeline(
        [
            (
                "preprocess",
                ColumnTransformer(
                    [("categorical", ordinal, list(spec.categorical)), ("continuous", "passthrough", list(spec.continuous))]
                ),
            ),
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
    longest_first = [
        {name: model for name, model in models.items() if name == REFERENCE_MODEL},
        {name: model for name, model in models.items() if name != REFERENCE_MODEL},
    ]
    pool = executor or InProcess()
    splits = list(enumerate(splitter.split(x, y)))
    futures = [
        pool.submit(_run_fold, group, x, y, threshold_rule, fold, fit_idx, val_idx)
        for group in longest_first
        if group
        for fold, (fit_idx, val_idx) in splits
    ]
    return PendingCrossValidation(
        futures=futures,
        models=tuple(models),
        folds=folds,
        repeats=repeats,
        threshold_rule=threshold_rule.rule,
        default_balance=default_balance,
    )


def _run_fold(models, x, y, threshold_rule: ThresholdRule, fold: int, fit_idx, val_idx) -> list[dict]:
    """Fit each of ``models`` on one fold's fitting rows and score its held-out rows."""
    x_fit, x_val, y_fit, y_val = x.iloc[fit_idx], x.iloc[val_idx], y[fit_idx], y[val_idx]
    designs: dict[str, tuple] = {}
    rows = []
    # Small fits: one thread each is faster than OpenMP's start-up and contention.
    with threadpool_limits(limits=1):
        for name, template in models.items():
            # The majority-class baseline never flags anything, whatever its scores; the
            # reference model's training scores are overfitted, so a threshold chosen on
            # them would misrepresent it: it is compared on ranking metrics only.
            ranking_only = name == REFERENCE_MODEL
            fit_scores, val_scores = _fold_scores(name, template, x_fit, y_fit, x_val, designs, ranking_only)
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
            rows += [{"model": name, "fold": fold, "metric": m, "value": float(values[m])} for m in CV_METRICS]
            rows.append({"model": name, "fold": fold, "metric": "threshold", "value": float(threshold)})
    return rows


def _fold_scores(name, template, x_fit, y_fit, x_val, designs: dict, ranking_only: bool = False):
    """Scores of the fitting rows (for the threshold; ``None`` if ``ranking_only``) and of the held-out rows.

    ``template`` is an unfitted pipeline whose first step is its preprocessing, or
    ``None`` for a score-free baseline. The preprocessing is fitted on the fitting rows
    by :func:`_preprocessed`; the rest of the pipeline is cloned and fitted on the
    design it makes, exactly as the whole pipeline would be.
    """
    if template is None:
        value = 0.0 if name.startswith("majority") else float(y_fit.mean())
        return np.full(len(x_fit), value), np.full(len(x_val), value)
    fit_design, val_design = _preprocessed(template.steps[0][1], x_fit, y_fit, x_val, designs)
    model = clone(template[1:]).fit(fit_design, y_fit)
    fit_scores = None if ranking_only else model.predict_proba(fit_design)[:, 1]
    return fit_scores, model.predict_proba(val_design)[:, 1]


def _preprocessed(preprocess, x_fit, y_fit, x_val, designs: dict) -> tuple:
    """The designs of the fitting and held-out rows made by ``preprocess`` fitted on the fitting rows.

    The logistic strategies differ only after their (identical) preprocessing, so one
    fit of it per fold serves them all: ``designs`` keeps the fold's designs by a hash
    of the unfitted preprocessing step's parameters.
    """
    key = parameters_hash(preprocess)
    if key not in designs:
        fitted = clone(preprocess)
        designs[key] = (fitted.fit_transform(x_fit, y_fit), fitted.transform(x_val))
    return designs[key]


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
