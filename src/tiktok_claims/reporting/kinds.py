"""What each analysis kind renders: its figures, its documents and the context they read.

The renderer (:mod:`tiktok_claims.reporting.render`) looks the kind up by the
``outcome_type`` of the metrics record and never branches on it itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from .. import config
from ..approach import ORDERED_LEVELS, OutcomeKind
from ..eda import target_groups


@dataclass(frozen=True)
class Chart:
    """A figure builder of :mod:`tiktok_claims.reporting.figures`, named rather than imported.

    Calling it imports that module (and matplotlib) in the process that draws: listing a
    report's figures, or sending them to another process to draw, loads no plotting library.

    Examples
    --------
    >>> Chart("class_balance") == Chart("class_balance")
    True
    """

    name: str

    def __call__(self, *arguments):
        from . import figures

        return getattr(figures, self.name)(*arguments)


@dataclass(frozen=True)
class DocumentSet:
    """The outputs of one analysis kind.

    Attributes
    ----------
    exploration_jobs : callable
        ``exploration_jobs(frame, eda, target)`` -> ``[(builder, arguments), ...]``: the
        exploratory figures, drawn from the data alone (before any model exists); each
        builder a :class:`Chart` of :mod:`tiktok_claims.reporting.figures`.
    model_jobs : callable
        ``model_jobs(analysis)`` -> the model's figures, from the results object.
    templates : dict of str to str
        Output file name -> template name; rendered with every figure embedded.
    markdown_pages : dict of str to str
        Markdown documents (among ``templates``) also written as HTML pages: name -> title.
    summary : bool
        Whether the one-page executive summary (HTML and PDF) is written.
    context : callable
        ``context(metrics)`` -> extra names the templates of this kind read.
    """

    exploration_jobs: Callable[[pd.DataFrame, object, str], list[tuple]]
    model_jobs: Callable[[object], list[tuple]]
    templates: dict[str, str]
    markdown_pages: dict[str, str] = field(default_factory=dict)
    summary: bool = False
    context: Callable[[dict], dict] = lambda m: {}

    def figure_jobs(self, analysis) -> list[tuple]:
        """Every figure of the report, in its order: the exploratory ones, then the model's."""
        return [*self.exploration_jobs(analysis.dataset.frame, analysis.eda, analysis.target), *self.model_jobs(analysis)]


CV_COLUMNS = ("roc_auc", "average_precision", "log_loss", "brier", "precision", "recall", "f1")


def binary_exploration_jobs(frame: pd.DataFrame, eda, target: str) -> list[tuple]:
    """The exploratory figures of a binary outcome's report: by class."""
    return _exploration_charts(frame, eda, target, target)


def _exploration_charts(frame: pd.DataFrame, eda, target: str, by: str) -> list[tuple]:
    """The class balance and correlations of ``eda``; distributions and text lengths of ``frame`` by its column ``by``."""
    return [
        (Chart("class_balance"), (eda.class_balance, target)),
        (Chart("count_distributions"), (frame, by)),
        (Chart("correlation_heatmap"), (eda.pearson, "Pearson")),
        (Chart("text_length_by_class"), (frame, by)),
    ]


def binary_model_jobs(analysis) -> list[tuple]:
    """The model's figures of a binary outcome's report, built from the results object (or the ``on_evaluated`` hook's part of it)."""
    evaluation, checks = analysis.evaluation, analysis.assumptions
    metrics = evaluation.metrics
    return [
        (Chart("confusion_matrix"), (evaluation.confusion, evaluation.labels)),
        (Chart("roc_curve"), (evaluation.roc, metrics["roc_auc"])),
        (Chart("precision_recall_curve"), (evaluation.pr, metrics["average_precision"], metrics["base_rate"])),
        (Chart("reliability_curve"), (analysis.calibration_curve, analysis.calibration_summary)),
        # Only with a continuous predictor (a formula may have none).
        *([(Chart("empirical_logits"), (checks.empirical_logit,))] if len(checks.empirical_logit) else []),
        (Chart("influence"), (checks.influence, 4 / len(checks.influence))),
    ]


def binary_context(m: dict) -> dict:
    return {
        "per_class": m["test_per_class"],
        "cv_table": cv_table(m["cv"]),
        "cv_metrics": CV_COLUMNS,
    }


def cv_table(cv: dict) -> list[dict]:
    """One row per model: ``{metric: (mean, ci_low, ci_high)}`` in a fixed column order."""
    return [
        {"model": model, **{k: (v[k]["mean"], v[k]["ci_low"], v[k]["ci_high"]) for k in CV_COLUMNS}}
        for model, v in cv["models"].items()
    ]


def family_exploration_jobs(frame: pd.DataFrame, eda, target: str) -> list[tuple]:
    """The exploratory figures of a non-binary outcome's report: by level or quartile group."""
    group = f"{target} (quartile group)" if target not in config.CATEGORIES else target
    grouped = frame.assign(**{group: target_groups(frame, target).astype(str)})
    return _exploration_charts(grouped, eda, target, group)


def family_model_jobs(analysis) -> list[tuple]:
    """The model's figures of a non-binary outcome's report, built from the results object."""
    evaluation, target = analysis.evaluation, analysis.target
    jobs = []
    kind = analysis.approach.kind
    if kind is OutcomeKind.ORDINAL:
        levels = list(ORDERED_LEVELS[target])
        jobs += [
            (Chart("ordinal_confusion"), (evaluation.test_table, levels)),
            (Chart("severity_scores"), (evaluation.predictions, levels)),
        ]
    else:
        jobs.append((Chart("observed_vs_predicted"), (evaluation.test_table, target, kind is OutcomeKind.COUNT)))
        if kind is OutcomeKind.CONTINUOUS:
            jobs.append((Chart("residuals_vs_fitted"), (evaluation.predictions, target)))
    return jobs


MODEL_FIGURES = ("confusion_matrix", "severity_scores", "observed_vs_predicted", "residuals")


def family_context(m: dict) -> dict:
    return {"test_summary": family_test_summary(m), "model_figures": MODEL_FIGURES}


def family_test_summary(m: dict) -> str:
    """One sentence on how well the model predicts the test part, beside its baseline."""
    t, n = m["test"], m["split"]["test_rows"]
    kind = OutcomeKind(m["outcome_type"])
    if kind is OutcomeKind.ORDINAL:
        aucs = [f"{value:.3f} ({key.removeprefix('roc_auc_').replace('_', ' ')})" for key, value in t.items() if key.startswith("roc_auc")]
        return (
            f"On the untouched test part ({n:,} videos) the model ranks videos by severity better than chance "
            f"(ROC-AUC {', '.join(aucs)}), and its probabilities beat the class shares (log loss {t['log_loss']:.3f} "
            f"against {t['log_loss_prior_baseline']:.3f}); but its most likely level is right for {t['accuracy']:.1%} "
            f"of videos, against {t['accuracy_majority_baseline']:.1%} for always predicting the most common level."
        )
    if kind is OutcomeKind.COUNT:
        return (
            f"On the untouched test part ({n:,} videos) the model explains {t['d2_poisson_deviance']:.1%} of the "
            f"Poisson deviance (D²) and ranks videos with Spearman correlation {t['spearman']:.3f}; its mean absolute "
            f"error is {t['mae']:,.0f} against {t['mae_mean_baseline']:,.0f} for always predicting the training mean."
        )
    return (
        f"On the untouched test part ({n:,} videos) the model's R² (the share of variance it explains) is "
        f"{t['r2']:.3f}; its root-mean-square error is {t['rmse']:,.2f} against {t['rmse_mean_baseline']:,.2f} for always predicting "
        "the training mean."
    )


BINARY = DocumentSet(
    exploration_jobs=binary_exploration_jobs,
    model_jobs=binary_model_jobs,
    templates={name: f"{name}.j2" for name in ("report.html", "report.md", "technical_summary.md", "pace_strategy.md")},
    markdown_pages={"technical_summary": "Data-team brief", "pace_strategy": "PACE strategy document"},
    summary=True,
    context=binary_context,
)
# A non-binary outcome gets its report and the one-page summary; the data-team brief and the
# PACE document follow the course's logistic-regression questions.
FAMILY = DocumentSet(
    exploration_jobs=family_exploration_jobs,
    model_jobs=family_model_jobs,
    templates={"report.html": "family_report.html.j2", "report.md": "family_report.md.j2"},
    summary=True,
    context=family_context,
)
DOCUMENTS: dict[OutcomeKind, DocumentSet] = {
    OutcomeKind.BINARY: BINARY,
    OutcomeKind.ORDINAL: FAMILY,
    OutcomeKind.COUNT: FAMILY,
    OutcomeKind.CONTINUOUS: FAMILY,
}
SUMMARY_FILES = ("executive_summary.html", "executive_summary.pdf")
TABLE_FILES = ("metrics.json", "coefficients.csv", "set_aside_rows.csv")
NOTEBOOK_FILES = ("notebook.ipynb", "notebook.html")
"""The executed course notebook and its HTML page: optional, written by ``run --notebook`` only
(:mod:`tiktok_claims.reporting.notebook`); ``report --from`` keeps a run's notebook as it was."""


def document_files(documents: DocumentSet) -> tuple[str, ...]:
    """The files a document set renders: its templates, the HTML page of each Markdown document, the summary."""
    pages = tuple(f"{name}.html" for name in documents.markdown_pages)
    return (*documents.templates, *pages, *(SUMMARY_FILES if documents.summary else ()))


RUN_FILES: tuple[str, ...] = tuple(
    sorted({name for documents in DOCUMENTS.values() for name in document_files(documents)} | set(TABLE_FILES) | set(NOTEBOOK_FILES))
)
"""Every file ``run`` may write at the top of its folder, for any kind (besides the model's and the figures);
the notebook's only with ``--notebook``."""


def documents_for(outcome_type: str) -> DocumentSet:
    """The document set of the kind named by a metrics record's ``outcome_type``."""
    return DOCUMENTS[OutcomeKind(outcome_type)]
