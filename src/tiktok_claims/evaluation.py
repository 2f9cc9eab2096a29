"""Test-set metrics from ``y_true`` and ``y_score``. Nothing here fits a model."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Evaluation:
    """Metrics at the test part's natural prevalence, with the curves behind them."""

    threshold: float
    labels: tuple[str, str]
    metrics: dict[str, float]
    confusion: pd.DataFrame
    per_class: pd.DataFrame
    roc: pd.DataFrame = field(repr=False)
    pr: pd.DataFrame = field(repr=False)


def evaluate(y_true, y_score, *, labels: tuple[str, str], threshold: float) -> Evaluation:
    """Evaluate scores of the positive class against 0/1 truth.

    ``labels`` names the classes coded 0 and 1, in that order; the positive class (1)
    is the one precision, recall and F1 refer to.
    """
    from sklearn import metrics as skm

    y_true = np.asarray(y_true, dtype=int)
    y_score = np.asarray(y_score, dtype=float)
    y_pred = (y_score >= threshold).astype(int)
    matrix = skm.confusion_matrix(y_true, y_pred, labels=[0, 1])
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=[0, 1], zero_division=0
    )
    fpr, tpr, roc_thresholds = skm.roc_curve(y_true, y_score)
    pr_precision, pr_recall, pr_thresholds = skm.precision_recall_curve(y_true, y_score)
    values = {
        "n": int(len(y_true)),
        "n_positive": int(y_true.sum()),
        "base_rate": float(y_true.mean()),
        "threshold": float(threshold),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "precision": float(precision[1]),
        "recall": float(recall[1]),
        "f1": float(f1[1]),
        "roc_auc": float(skm.roc_auc_score(y_true, y_score)),
        "average_precision": float(skm.average_precision_score(y_true, y_score)),
        "predicted_positive": int(y_pred.sum()),
    }
    confusion = pd.DataFrame(
        matrix,
        index=pd.Index([f"actual {labels[0]}", f"actual {labels[1]}"], name="actual"),
        columns=[f"predicted {labels[0]}", f"predicted {labels[1]}"],
    )
    per_class = pd.DataFrame(
        {"class": list(labels), "precision": precision, "recall": recall, "f1": f1, "support": support}
    )
    return Evaluation(
        threshold=float(threshold),
        labels=labels,
        metrics=values,
        confusion=confusion,
        per_class=per_class,
        roc=pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": roc_thresholds}),
        pr=pd.DataFrame({"precision": pr_precision[:-1], "recall": pr_recall[:-1], "threshold": pr_thresholds}),
    )
