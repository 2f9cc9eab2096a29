"""How well a non-binary model predicts the untouched test part, beside its no-predictor baseline."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import (
    accuracy_score,
    d2_tweedie_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_poisson_deviance,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)

from ..approach import OutcomeKind
from ..model.families import FamilyFit

# Decile groups of the predictions for the observed-vs-predicted table.
CALIBRATION_GROUPS = 10


@dataclass(frozen=True)
class FamilyEvaluation:
    """Test metrics of one non-binary model.

    Attributes
    ----------
    test : dict
        Family-specific metrics on the test part, each beside its no-predictor baseline.
    test_table : DataFrame
        Ordinal: the confusion matrix (``observed`` by predicted level). Counts and OLS:
        observed and predicted means per decile of the prediction.
    predictions : DataFrame
        ``observed, predicted`` for each test row (figures); ordinal: each level's probability too.
    """

    test: dict
    test_table: pd.DataFrame = field(repr=False)
    predictions: pd.DataFrame = field(repr=False)
    majority_level: str | None = None
    """Ordinal outcomes: the most common level of the training part (the baseline's guess)."""


def evaluate_family(fit: FamilyFit, train: pd.DataFrame, test: pd.DataFrame) -> FamilyEvaluation:
    """Score ``test`` with ``fit``; baselines are learned from ``train`` alone."""
    target = fit.approach.target
    predicted = fit.predict(test)
    if fit.approach.kind is OutcomeKind.ORDINAL:
        return _ordinal(fit.levels, train[target], test[target], predicted)
    observed = test[target].to_numpy(dtype=float)
    baseline = np.full_like(observed, float(train[target].astype(float).mean()))
    if fit.approach.kind is OutcomeKind.COUNT:
        largest_training = float(train[target].max())
        metrics = {
            "d2_poisson_deviance": float(d2_tweedie_score(observed, predicted, power=1)),
            "mean_poisson_deviance": float(mean_poisson_deviance(observed, predicted)),
            "mean_poisson_deviance_mean_baseline": float(mean_poisson_deviance(observed, baseline)),
            "mae": float(mean_absolute_error(observed, predicted)),
            "mae_mean_baseline": float(mean_absolute_error(observed, baseline)),
            "spearman": float(spearmanr(observed, predicted).statistic),
            "mean_predicted_over_observed": float(predicted.mean() / observed.mean()),
            "largest_prediction": float(predicted.max()),
            "largest_observed": float(observed.max()),
            "largest_training": largest_training,
            "predictions_above_observed_max": int(np.sum(predicted > largest_training)),
        }
    else:
        metrics = {
            "r2": float(r2_score(observed, predicted)),
            "rmse": float(root_mean_squared_error(observed, predicted)),
            "rmse_mean_baseline": float(root_mean_squared_error(observed, baseline)),
            "mae": float(mean_absolute_error(observed, predicted)),
            "mae_mean_baseline": float(mean_absolute_error(observed, baseline)),
        }
    return FamilyEvaluation(
        test=metrics,
        test_table=by_decile(observed, predicted),
        predictions=pd.DataFrame({"observed": observed, "predicted": predicted}),
    )


def _ordinal(levels: tuple[str, ...], train_outcome: pd.Series, test_outcome: pd.Series, probabilities) -> FamilyEvaluation:
    labels = range(len(levels))
    codes = pd.Categorical(train_outcome, categories=levels, ordered=True).codes
    observed = pd.Categorical(test_outcome, categories=levels, ordered=True).codes
    predicted = probabilities.argmax(axis=1)
    prior = np.bincount(codes, minlength=len(levels)) / len(codes)
    majority = int(prior.argmax())
    metrics = {
        "accuracy": float(accuracy_score(observed, predicted)),
        "accuracy_majority_baseline": float(np.mean(observed == majority)),
        "macro_f1": float(f1_score(observed, predicted, average="macro", labels=labels, zero_division=0)),
        "log_loss": float(log_loss(observed, probabilities, labels=labels)),
        "log_loss_prior_baseline": float(log_loss(observed, np.tile(prior, (len(observed), 1)), labels=labels)),
        "mean_abs_level_error": float(np.mean(np.abs(probabilities @ np.arange(len(levels)) - observed))),
    }
    # The model ranks videos on one severity scale: its AUC at each cut of the order.
    for k in range(1, len(levels)):
        at_least = observed >= k
        if 0 < at_least.sum() < len(at_least):
            metrics[f"roc_auc_at_least_{levels[k].replace(' ', '_')}"] = float(
                roc_auc_score(at_least, probabilities[:, k:].sum(axis=1))
            )
    confusion = pd.crosstab(
        pd.Categorical.from_codes(observed, levels), pd.Categorical.from_codes(predicted, levels), dropna=False
    )
    confusion.index.name, confusion.columns.name = "observed", None
    names = np.asarray(levels)
    return FamilyEvaluation(
        test=metrics,
        majority_level=levels[majority],
        test_table=confusion.reset_index().rename(columns=str),
        predictions=pd.DataFrame(
            {
                "observed": names[observed],
                "predicted": names[predicted],
                **{f"p_{level}": probabilities[:, i] for i, level in enumerate(levels)},
            }
        ),
    )


def by_decile(observed: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """Mean observed and predicted outcome per decile of the prediction."""
    order = np.argsort(predicted, kind="stable")
    groups = np.array_split(order, CALIBRATION_GROUPS)
    return pd.DataFrame(
        [
            {
                "group": i + 1,
                "n": len(g),
                "predicted_low": float(predicted[g].min()),
                "predicted_high": float(predicted[g].max()),
                "mean_predicted": float(predicted[g].mean()),
                "mean_observed": float(observed[g].mean()),
            }
            for i, g in enumerate(groups)
            if len(g)
        ]
    )
