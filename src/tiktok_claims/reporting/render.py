"""Render one finished analysis into every output: HTML, Markdown, JSON, CSV, figures, model.

Reads results; never refits. Templates are package data rendered by Jinja2 with
autoescaping on, so any text that came from the data is escaped in HTML; Markdown
cells built from data are escaped by the ``md`` filter.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
from pathlib import Path
from typing import Callable

from .. import plots
from ..csvsafe import write_csv
from ..interpretation import format_p
from ..persistence import save_model

FIGURE_DPI = 110


def build_figures(analysis) -> list[plots.Figure]:
    """Every figure of the report, built from the results object."""
    eda, evaluation, frame = analysis.eda, analysis.evaluation, analysis.dataset.frame
    return [
        plots.class_balance(eda.class_balance, analysis.target),
        plots.count_distributions(frame, analysis.target),
        plots.correlation_heatmap(eda.pearson, "Pearson"),
        plots.text_length_by_class(frame, analysis.target),
        plots.confusion_matrix(evaluation.confusion, evaluation.labels),
        plots.roc_curve(evaluation.roc, evaluation.metrics["roc_auc"]),
        plots.precision_recall_curve(evaluation.pr, evaluation.metrics["average_precision"], evaluation.metrics["base_rate"]),
        plots.reliability_curve(analysis.calibration_curve, analysis.calibration_summary),
    ]


def figure_png(figure: plots.Figure) -> bytes:
    """PNG bytes of a figure."""
    buffer = io.BytesIO()
    figure.figure.savefig(buffer, format="png", dpi=FIGURE_DPI)
    return buffer.getvalue()


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("tiktok_claims.reporting", "templates"),
        autoescape=select_autoescape(["html", "html.j2"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(num=format_number, pct=lambda x, d=1: f"{100 * x:.{d}f}%", p=format_p, md=escape_markdown)
    return env


def format_number(value, digits: int = 3) -> str:
    """Numbers for reading: thousands separators for integers, fixed digits otherwise."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (int,)) or (isinstance(value, float) and value.is_integer() and abs(value) >= 1000):
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#!&])")


def escape_markdown(text) -> str:
    """Escape Markdown and inline-HTML metacharacters in text that came from the data."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def report_context(analysis, metrics: dict, figures: list[dict]) -> dict:
    """Everything the templates read: the metrics record, tables and figure payloads."""
    eda, spec = analysis.eda, analysis.features
    return {
        "m": metrics,
        "synthetic": analysis.dataset.synthetic,
        "accounting": analysis.dataset.accounting().to_dict(orient="records"),
        "overview": eda.overview.to_dict(orient="records"),
        "describe": eda.describe.to_dict(orient="records"),
        "duplicates": eda.duplicates.to_dict(orient="records"),
        "outliers": eda.outliers.to_dict(orient="records"),
        "text_length": eda.text_length.to_dict(orient="records"),
        "correlated_pairs": spec.correlated_pairs.to_dict(orient="records"),
        "vif": spec.vif_rounds.to_dict(orient="records"),
        "coefficients": analysis.coefficients.to_dict(orient="records"),
        "per_class": analysis.evaluation.per_class.to_dict(orient="records"),
        "confusion": analysis.evaluation.confusion,
        "cv_table": cv_table(analysis.cross_validation.summary),
        "cv_metrics": CV_COLUMNS,
        "figures": figures,
        "figures_by_name": {f["name"]: f for f in figures},
    }


CV_COLUMNS = ("roc_auc", "average_precision", "log_loss", "brier", "precision", "recall", "f1")


def cv_table(summary) -> list[dict]:
    """One row per model: ``{metric: (mean, ci_low, ci_high)}`` in a fixed column order."""
    rows = []
    for model, group in summary.groupby("model", sort=False):
        by_metric = group.set_index("metric")
        rows.append(
            {
                "model": model,
                **{m: (by_metric.loc[m, "mean"], by_metric.loc[m, "ci_low"], by_metric.loc[m, "ci_high"]) for m in CV_COLUMNS},
            }
        )
    return rows


def write_outputs(analysis, out: str | Path, progress: Callable[[str], None] | None = None) -> dict[str, Path]:
    """Write every output of ``run`` into ``out`` and return their paths by name."""
    import matplotlib

    matplotlib.use("Agg")
    say = progress or (lambda stage: None)
    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    metrics = analysis.metrics()
    written["metrics.json"] = out / "metrics.json"
    written["metrics.json"].write_text(json.dumps(metrics, indent=2, allow_nan=False), encoding="utf-8")

    written["coefficients.csv"] = out / "coefficients.csv"
    write_csv(analysis.coefficients, written["coefficients.csv"])
    written["set_aside_rows.csv"] = out / "set_aside_rows.csv"
    write_csv(analysis.dataset.set_aside, written["set_aside_rows.csv"])
    written["model.json"] = save_model(analysis, out / "model.json")

    say("Drawing figures")
    figures = []
    for figure in build_figures(analysis):
        png = figure_png(figure)
        path = out / "figures" / f"{figure.name}.png"
        path.write_bytes(png)
        written[f"figures/{figure.name}.png"] = path
        figures.append(
            {
                "name": figure.name,
                "title": figure.title,
                "alt": figure.alt,
                "file": f"figures/{figure.name}.png",
                "data_uri": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
            }
        )

    say("Rendering the report")
    env = _environment()
    context = report_context(analysis, metrics, figures)
    for name in ("report.html", "report.md"):
        written[name] = out / name
        written[name].write_text(env.get_template(f"{name}.j2").render(**context), encoding="utf-8")
    return written

