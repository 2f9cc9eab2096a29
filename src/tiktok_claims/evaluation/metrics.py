"""Test-set metrics from ``y_true`` and ``y_score``. Nothing here fits a model."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.tools.tools import add_constant
from threadpoolctl import threadpool_limits

from .. import config
from ..config import ThresholdRuleName
from ..errors import OptionsError


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
        "null_accuracy": float(1 - y_true.mean()),
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


THRESHOLD_RULES = config.THRESHOLD_RULES
# A stream of its own, so that the bootstrap draws never mirror other draws from the same seed.
BOOTSTRAP_STREAM = 7
# Replicates whose ranking metrics are computed together: their (replicates × rows) slice
# of the weights and their (replicates × scores) arrays stay in cache.
RANKING_BATCH = 32


@dataclass(frozen=True)
class ThresholdRule:
    """How to choose the decision threshold on training scores (see :func:`choose_threshold`).

    Parameters
    ----------
    rule : {"f1", "recall", "cost"}
        ``"f1"`` maximizes F1 of the positive class; ``"recall"`` takes the highest
        threshold whose recall reaches ``target_recall``; ``"cost"`` minimizes
        ``cost_fn * FN + cost_fp * FP``.
    target_recall : float
        The recall to reach with ``rule="recall"``, in (0, 1].
    cost_fn : float
        The cost of a missed positive (``rule="cost"``), zero or more.
    cost_fp : float
        The cost of a false alarm (``rule="cost"``), zero or more.

    Raises
    ------
    OptionsError
        If ``rule`` is none of the three, or a number is outside its range.

    Examples
    --------
    >>> ThresholdRule("recall", target_recall=0.9).rule
    'recall'
    """

    rule: ThresholdRuleName = config.DEFAULT_THRESHOLD_RULE
    target_recall: float = config.DEFAULT_TARGET_RECALL
    cost_fn: float = 1.0
    cost_fp: float = 1.0

    def __post_init__(self):
        if self.rule not in THRESHOLD_RULES:
            raise OptionsError(
                f"threshold rule must be one of {', '.join(THRESHOLD_RULES)}; got {self.rule!r}.", "threshold_rule"
            )
        for name in ("target_recall", "cost_fn", "cost_fp"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise OptionsError(f"{name} must be a number; got {type(value).__name__} {value!r}.", name)
        if not 0 < self.target_recall <= 1:
            raise OptionsError(f"target recall must lie in (0, 1]; got {self.target_recall!r}.", "target_recall")
        for name in ("cost_fn", "cost_fp"):
            if not getattr(self, name) >= 0:
                raise OptionsError(f"{name} must be zero or more; got {getattr(self, name)!r}.", name)

    def choose(self, y_true, y_score) -> "ThresholdChoice":
        """The threshold this rule chooses on (training) scores.

        Parameters
        ----------
        y_true : array-like of 0/1
            The outcome, 1 for the positive class.
        y_score : array-like of float
            The scores of the same rows.

        Returns
        -------
        ThresholdChoice
            The threshold, the rule and a description of the choice.
        """
        return choose_threshold(
            y_true, y_score, rule=self.rule, target_recall=self.target_recall, cost_fn=self.cost_fn, cost_fp=self.cost_fp
        )


@dataclass(frozen=True)
class ThresholdChoice:
    """A decision threshold, the rule that chose it and the scores it was chosen on."""

    threshold: float
    rule: str
    description: str


def choose_threshold(
    y_true,
    y_score,
    *,
    rule: str = "f1",
    target_recall: float = 0.8,
    cost_fn: float = 1.0,
    cost_fp: float = 1.0,
) -> ThresholdChoice:
    """Choose a threshold on *training* scores by one of three rules.

    ``"f1"`` maximizes F1 of the positive class; ``"recall"`` takes the highest
    threshold whose recall reaches ``target_recall``; ``"cost"`` minimizes
    ``cost_fn * FN + cost_fp * FP``. Candidates are the distinct scores, so the
    threshold is a score at which the decision actually changes.
    """
    if rule not in THRESHOLD_RULES:
        raise ValueError(f"threshold rule must be one of {', '.join(THRESHOLD_RULES)}; got {rule!r}")
    y_true = np.asarray(y_true, dtype=int)
    y_score = np.asarray(y_score, dtype=float)
    order = np.argsort(-y_score, kind="mergesort")
    scores, truth = y_score[order], y_true[order]
    last_of_group = np.r_[scores[1:] != scores[:-1], True]
    tp = np.cumsum(truth)[last_of_group]
    fp = np.cumsum(1 - truth)[last_of_group]
    candidates = scores[last_of_group]
    positives = truth.sum()
    fn = positives - tp
    if rule == "f1":
        f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
        best = int(np.argmax(f1))
        description = f"maximizes F1 on the training scores (F1 {f1[best]:.3f})"
    elif rule == "recall":
        if not 0 < target_recall <= 1:
            raise ValueError(f"target recall must be in (0, 1]; got {target_recall}")
        recall = tp / max(positives, 1)
        best = int(np.argmax(recall >= target_recall))
        description = f"the highest threshold reaching recall {target_recall:.2f} on the training scores"
    else:
        if cost_fn < 0 or cost_fp < 0:
            raise ValueError("costs must be non-negative")
        cost = cost_fn * fn + cost_fp * fp
        best = int(np.argmin(cost))
        description = (
            f"minimizes {cost_fn:g} × missed positives + {cost_fp:g} × false alarms on the training scores"
        )
    return ThresholdChoice(threshold=float(candidates[best]), rule=rule, description=description)


def per_thousand(metrics: dict) -> dict:
    """What a threshold means for 1,000 videos at the test part's prevalence."""
    n = metrics["n"]
    true_positive = metrics["precision"] * metrics["predicted_positive"]
    return {
        "flagged": 1000 * metrics["predicted_positive"] / n,
        "flagged_positive": 1000 * true_positive / n,
        "positives": 1000 * metrics["n_positive"] / n,
    }


def _weighted_ranking_metrics(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """ROC-AUC and average precision for many weightings of the same rows at once.

    ``weights`` is (replicates, rows): a bootstrap resample is a row weighting by how
    often each row was drawn, so one sort serves every replicate. Ties count half.

    Both metrics only need, at each distinct score that some positive row holds, the
    weight of the positives at that score and of the negatives above and at it. So the
    rows are pooled into segments (the positives at each such score, the negatives tied
    with them, the negatives between two such scores) and every replicate's weights
    are summed per segment in one sparse product; what follows works on
    (replicates, segments) arrays, a few hundred columns instead of one per row. The
    replicates are taken a few at a time, so that their arrays stay in cache; each
    replicate's numbers are computed alike, however many there are.
    """
    order = np.argsort(-score, kind="mergesort")
    s, positive = score[order], y[order] == 1
    group = np.cumsum(np.r_[True, s[1:] != s[:-1]]) - 1  # distinct scores, highest first
    scored_groups = np.unique(group[positive])
    n_scored = len(scored_groups)
    # How many of the positives' distinct scores are at or above each row's score.
    at_or_above = np.searchsorted(scored_groups, group, side="right")
    tied = np.isin(group, scored_groups)
    segment = np.where(positive, at_or_above - 1, np.where(tied, n_scored + at_or_above - 1, 2 * n_scored + at_or_above))
    pooling = sparse.csr_matrix((np.ones(len(s)), (segment, order)), shape=(3 * n_scored + 1, len(s)))
    auc, ap = np.empty(len(weights)), np.empty(len(weights))
    for first in range(0, len(weights), RANKING_BATCH):
        chosen = slice(first, first + RANKING_BATCH)
        sums = np.asarray((pooling @ weights[chosen].T).T)
        pos_w, tie_w, between_w = sums[:, :n_scored], sums[:, n_scored : 2 * n_scored], sums[:, 2 * n_scored :]
        # With whole-number weights (bootstrap counts) every sum up to here is exact, however pooled.
        neg_above = np.cumsum(between_w[:, :n_scored], axis=1) + np.cumsum(tie_w, axis=1) - tie_w
        total_pos, total_neg = pos_w.sum(axis=1), between_w.sum(axis=1) + tie_w.sum(axis=1)
        neg_below = total_neg[:, None] - neg_above - tie_w
        auc[chosen] = (pos_w * (neg_below + 0.5 * tie_w)).sum(axis=1) / (total_pos * total_neg)
        tp, fp = np.cumsum(pos_w, axis=1), neg_above + tie_w
        precision = tp / np.maximum(tp + fp, 1e-300)
        # Summed over every distinct score (zero where no positive), as the definition reads,
        # so the floating-point sum is the same whatever the segments.
        contributions = np.zeros((len(sums), group[-1] + 1))
        contributions[:, scored_groups] = pos_w * precision
        ap[chosen] = contributions.sum(axis=1) / total_pos
    return {"roc_auc": auc, "average_precision": ap}


def _weighted_threshold_metrics(y, score, weights, threshold) -> dict[str, np.ndarray]:
    predicted = (score >= threshold).astype(float)
    tp = weights @ (predicted * y)
    fp = weights @ (predicted * (1 - y))
    fn = weights @ ((1 - predicted) * y)
    tn = weights @ ((1 - predicted) * (1 - y))
    total = tp + fp + fn + tn
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    clipped = np.clip(score, 1e-15, 1 - 1e-15)
    log_loss = weights @ -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)) / total
    return {
        "accuracy": (tp + tn) / total,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "base_rate": (tp + fn) / total,
        "log_loss": log_loss,
        "brier": weights @ (score - y) ** 2 / total,
    }


def weighted_metrics(y_true, y_score, weights, threshold: float) -> pd.DataFrame:
    """Metrics of the same scored rows under each row weighting (one row per weighting)."""
    y = np.asarray(y_true, dtype=float)
    score = np.asarray(y_score, dtype=float)
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    values = {**_weighted_ranking_metrics(y, score, weights), **_weighted_threshold_metrics(y, score, weights, threshold)}
    return pd.DataFrame(values)


def bootstrap_intervals(
    y_true, y_score, *, threshold: float, n_resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> pd.DataFrame:
    """Percentile bootstrap confidence intervals of every test-set metric.

    Rows are resampled with replacement ``n_resamples`` times (seeded); each metric is
    recomputed on every resample and the interval is the central ``level`` share.
    Resamples with no positive or no negative row are discarded and counted.
    """
    y = np.asarray(y_true, dtype=float)
    rng = np.random.default_rng([seed, BOOTSTRAP_STREAM])
    counts = rng.multinomial(len(y), np.full(len(y), 1 / len(y)), size=n_resamples).astype(float)
    # Memory-bound matrix-vector products: BLAS threads gain nothing and, beside the
    # workers of a run, contend for the same cores.
    with threadpool_limits(limits=1):
        has_both = ((counts @ y) > 0) & ((counts @ (1 - y)) > 0)
        replicates = weighted_metrics(y, y_score, counts if has_both.all() else counts[has_both], threshold)
        point = weighted_metrics(y, y_score, np.ones((1, len(y))), threshold).iloc[0]
    tail = (1 - level) / 2
    return pd.DataFrame(
        {
            "metric": replicates.columns,
            "estimate": point.to_numpy(),
            "ci_low": replicates.quantile(tail).to_numpy(),
            "ci_high": replicates.quantile(1 - tail).to_numpy(),
            "resamples": int(has_both.sum()),
        }
    )


def calibration(y_true, y_score, n_bins: int = 10) -> tuple[pd.DataFrame, dict[str, float]]:
    """Reliability curve (quantile bins) and the calibration intercept and slope.

    Slope: coefficient of logit(score) in a logistic regression of the outcome on it
    (1 is ideal). Intercept (calibration-in-the-large): the intercept of that
    regression with logit(score) as an offset (0 is ideal). When the scores separate
    the classes (every positive scores at least as high as every negative) the slope's
    maximum-likelihood estimate is infinite: it is ``None`` and ``separated`` is true,
    rather than the large number an iterative fit stops at.
    """
    y = np.asarray(y_true, dtype=float)
    score = np.clip(np.asarray(y_score, dtype=float), 1e-12, 1 - 1e-12)
    observed, predicted = calibration_curve(y, score, n_bins=n_bins, strategy="quantile")
    logit = np.log(score / (1 - score))
    positives, negatives = logit[y == 1], logit[y == 0]
    separated = bool(len(positives) and len(negatives) and negatives.max() <= positives.min())
    # Confident scores (|logit| up to 27.6) times a slope during IRLS can pass 709, where the
    # inverse link's exp(-z) overflows to inf and 1 / (1 + inf) = 0 is the right limit.
    with np.errstate(over="ignore"):
        slope = None if separated else float(GLM(y, add_constant(logit), family=Binomial()).fit().params[1])
        offset_fit = GLM(y, np.ones((len(y), 1)), family=Binomial(), offset=logit).fit()
    summary = {
        "brier": float(np.mean((score - y) ** 2)),
        "slope": slope,
        "separated": separated,
        "intercept": float(offset_fit.params[0]),
        "mean_predicted": float(score.mean()),
        "observed_rate": float(y.mean()),
    }
    return pd.DataFrame({"mean_predicted": predicted, "observed": observed}), summary
