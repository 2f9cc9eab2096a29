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
from pathlib import Path
from typing import Callable

from markupsafe import Markup

from .. import config, plots
from ..csvsafe import write_csv
from ..errors import DataError
from ..escaping import escape_markdown
from ..parallel import default_workers, worker_pool
from ..interpretation import format_p
from ..families import model_description
from ..persistence import save_model

FIGURE_DPI = 110


def figure_jobs(analysis) -> list[tuple]:
    """Each figure of the report as ``(builder, arguments)``, built from the results object."""
    if analysis.approach.outcome_type != "binary":
        return family_figure_jobs(analysis)
    eda, evaluation, frame, checks = analysis.eda, analysis.evaluation, analysis.dataset.frame, analysis.assumptions
    return [
        (plots.class_balance, (eda.class_balance, analysis.target)),
        (plots.count_distributions, (frame, analysis.target)),
        (plots.correlation_heatmap, (eda.pearson, "Pearson")),
        (plots.text_length_by_class, (frame, analysis.target)),
        (plots.confusion_matrix, (evaluation.confusion, evaluation.labels)),
        (plots.roc_curve, (evaluation.roc, evaluation.metrics["roc_auc"])),
        (plots.precision_recall_curve, (evaluation.pr, evaluation.metrics["average_precision"], evaluation.metrics["base_rate"])),
        (plots.reliability_curve, (analysis.calibration_curve, analysis.calibration_summary)),
        (plots.empirical_logits, (checks.empirical_logit,)),
        (plots.influence, (checks.influence, 4 / len(checks.influence))),
    ]





def family_figure_jobs(analysis) -> list[tuple]:
    """The figures of a non-binary outcome's report: EDA by level or quartile group, then the model's."""
    from ..approach import ORDERED_LEVELS
    from ..eda import target_groups

    eda, model, target = analysis.eda, analysis.model, analysis.target
    frame = analysis.dataset.frame
    group = f"{target} (quartile group)" if target not in config.CATEGORIES else target
    grouped = frame.assign(**{group: target_groups(frame, target).astype(str)})
    jobs = [
        (plots.class_balance, (eda.class_balance, target)),
        (plots.count_distributions, (grouped, group)),
        (plots.correlation_heatmap, (eda.pearson, "Pearson")),
        (plots.text_length_by_class, (grouped, group)),
    ]
    kind = analysis.approach.outcome_type
    if kind == "ordered categories":
        levels = list(ORDERED_LEVELS[target])
        jobs += [
            (plots.ordinal_confusion, (model.test_table, levels)),
            (plots.severity_scores, (model.predictions, levels)),
        ]
    else:
        jobs.append((plots.observed_vs_predicted, (model.test_table, target, kind == "non-negative count")))
        if kind == "continuous":
            jobs.append((plots.residuals_vs_fitted, (model.predictions, target)))
    return jobs


MODEL_FIGURES = ("confusion_matrix", "severity_scores", "observed_vs_predicted", "residuals")


def family_test_summary(m: dict) -> str:
    """One sentence on how well the model predicts the test part, beside its baseline."""
    t, n = m["test"], m["split"]["test_rows"]
    if m["outcome_type"] == "ordered categories":
        aucs = [f"{value:.3f} ({key.removeprefix('roc_auc_').replace('_', ' ')})" for key, value in t.items() if key.startswith("roc_auc")]
        return (
            f"On the untouched test part ({n:,} videos) the model ranks videos by severity better than chance "
            f"(ROC-AUC {', '.join(aucs)}), and its probabilities beat the class shares (log loss {t['log_loss']:.3f} "
            f"against {t['log_loss_prior_baseline']:.3f}); but its most likely level is right for {t['accuracy']:.1%} "
            f"of videos, against {t['accuracy_majority_baseline']:.1%} for always predicting the most common level."
        )
    if m["outcome_type"] == "non-negative count":
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


def _import_matplotlib() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.backends.backend_agg  # noqa: F401  (loaded now, used by savefig)
    import matplotlib.figure  # noqa: F401


def _warm_matplotlib() -> None:
    """Import matplotlib and load its fonts once, before the workers fork."""
    from matplotlib.figure import Figure

    _import_matplotlib()
    figure = Figure(figsize=(1, 1))
    figure.text(0.5, 0.5, "0")
    figure.savefig(io.BytesIO(), format="png")


def render_figure(builder, arguments) -> tuple[dict, bytes]:
    """Build one figure and return its description and PNG bytes."""
    _import_matplotlib()
    figure = builder(*arguments)
    buffer = io.BytesIO()
    figure.figure.savefig(buffer, format="png", dpi=FIGURE_DPI)
    meta = {"name": figure.name, "title": figure.title, "alt": figure.alt, "file": f"figures/{figure.name}.png"}
    return meta, buffer.getvalue()


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
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def report_context(m: dict, figures: list[dict]) -> dict:
    """Everything the templates read, derived from the metrics record alone.

    Reports never see the analysis object, so ``report --from DIR`` renders exactly
    what ``run`` rendered, from ``metrics.json`` and the figure files.
    """
    data = m["data"]
    accounting = [{"item": "rows read", "rows": data["rows_read"]}, {"item": "rows used", "rows": data["rows_used"]}]
    accounting += [{"item": f"set aside: {reason}", "rows": n} for reason, n in data["rows_set_aside"].items()]
    return {
        "m": m,
        "synthetic": data["synthetic"],
        "accounting": accounting,
        "overview": m["eda"]["overview"],
        "describe": m["eda"]["describe"],
        "duplicates": m["eda"]["duplicates"],
        "outliers": m["eda"]["outliers"],
        "text_length": m["eda"]["text_length"],
        "correlated_pairs": m["features"]["correlated_pairs"],
        "vif": m["features"]["vif"],
        "coefficients": m["coefficients"],
        "per_class": m.get("test_per_class", []),
        "cv_table": cv_table(m["cv"]) if "cv" in m else [],
        "cv_metrics": CV_COLUMNS,
        "figures": figures,
        "figures_by_name": {f["name"]: f for f in figures},
        "test_summary": family_test_summary(m) if _is_family(m) else "",
        "model_figures": MODEL_FIGURES,
    }


def _is_family(m: dict) -> bool:
    """True for the metrics of a non-binary outcome (ordinal, count, continuous)."""
    return m.get("outcome_type", "binary") != "binary"


CV_COLUMNS = ("roc_auc", "average_precision", "log_loss", "brier", "precision", "recall", "f1")


def cv_table(cv: dict) -> list[dict]:
    """One row per model: ``{metric: (mean, ci_low, ci_high)}`` in a fixed column order."""
    return [
        {"model": model, **{k: (v[k]["mean"], v[k]["ci_low"], v[k]["ci_high"]) for k in CV_COLUMNS}}
        for model, v in cv["models"].items()
    ]


def write_outputs(
    analysis, out: str | Path, progress: Callable[[str], None] | None = None, workers: int | None = None
) -> dict[str, Path]:
    """Write every output of ``run`` into ``out`` and return their paths by name."""
    say = progress or (lambda stage: None)
    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    family = analysis.approach.outcome_type != "binary"
    written["coefficients.csv"] = out / "coefficients.csv"
    write_csv(analysis.model.coefficients if family else analysis.coefficients, written["coefficients.csv"])
    written["set_aside_rows.csv"] = out / "set_aside_rows.csv"
    write_csv(analysis.dataset.set_aside, written["set_aside_rows.csv"])
    metrics = analysis.metrics()
    if family:
        written["model.json"] = out / "model.json"
        description = model_description(analysis.model, analysis.features, metrics, analysis.seed)
        written["model.json"].write_text(json.dumps(description, indent=2), encoding="utf-8")
    else:
        written.update(save_model(analysis, out / "model.json", metrics))

    say("Drawing figures")
    metrics["figures"] = []
    _warm_matplotlib()
    with worker_pool(default_workers() if workers is None else workers) as pool:
        # The summary shows no figures: it is rendered (and printed to PDF) while they are drawn.
        summary = pool.submit(dict) if family else pool.submit(render_executive_summary, metrics, out)
        rendered = [pool.submit(render_figure, builder, arguments) for builder, arguments in figure_jobs(analysis)]
        for future in rendered:
            meta, png = future.result()
            written[meta["file"]] = out / meta["file"]
            written[meta["file"]].write_bytes(png)
            metrics["figures"].append(meta)
        written.update(summary.result())
    written["metrics.json"] = out / "metrics.json"
    written["metrics.json"].write_text(json.dumps(metrics, indent=2, allow_nan=False), encoding="utf-8")

    say("Rendering the reports")
    written.update(render_reports(metrics, out))
    return written


def render_documents(metrics: dict, out: Path) -> dict[str, Path]:
    """Render every document from a metrics record and the figure files beside it."""
    if _is_family(metrics):
        return render_reports(metrics, out)
    return {**render_executive_summary(metrics, out), **render_reports(metrics, out)}


def render_executive_summary(metrics: dict, out: Path) -> dict[str, Path]:
    """The one-page summary for managers, as HTML and PDF (it shows no figures)."""
    html = out / "executive_summary.html"
    html.write_text(
        _environment().get_template("executive_summary.html.j2").render(**report_context(metrics, [])),
        encoding="utf-8",
    )
    return {html.name: html, "executive_summary.pdf": html_to_pdf(html, out / "executive_summary.pdf")}


def render_reports(metrics: dict, out: Path) -> dict[str, Path]:
    """The report, the data-team brief and the PACE document, with figures embedded."""
    figures = []
    for figure in metrics["figures"]:
        png = (out / figure["file"]).read_bytes()
        figures.append({**figure, "data_uri": "data:image/png;base64," + base64.b64encode(png).decode("ascii")})
    env = _environment()
    context = report_context(metrics, figures)
    written = {}
    templates = FAMILY_TEMPLATED if _is_family(metrics) else {name: f"{name}.j2" for name in TEMPLATED}
    for name, template in templates.items():
        written[name] = out / name
        written[name].write_text(env.get_template(template).render(**context), encoding="utf-8")
    if _is_family(metrics):
        return written
    for name, title in MARKDOWN_PAGES.items():
        html = out / f"{name}.html"
        body = markdown_to_html((out / f"{name}.md").read_text(encoding="utf-8"))
        html.write_text(env.get_template("markdown_page.html.j2").render(title=title, body=Markup(body)), encoding="utf-8")
        written[html.name] = html
    return written


TEMPLATED = ("report.html", "report.md", "technical_summary.md", "pace_strategy.md")
# A non-binary outcome gets the report alone: the summaries answer the brief's verified_status question.
FAMILY_TEMPLATED = {"report.html": "family_report.html.j2", "report.md": "family_report.md.j2"}
MARKDOWN_PAGES = {
    "technical_summary": "Data-team brief",
    "pace_strategy": "PACE strategy document",
}


def markdown_to_html(text: str) -> str:
    """CommonMark + tables to HTML, with raw HTML disabled (so it is shown as text)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def html_to_pdf(html_path: Path, pdf_path: Path) -> Path:
    """Print an HTML document to PDF with WeasyPrint (no browser, no network)."""
    from weasyprint import HTML

    HTML(filename=str(html_path), base_url=str(html_path.parent)).write_pdf(str(pdf_path))
    return pdf_path


def rerender(directory: str | Path) -> dict[str, Path]:
    """Re-render every document of a previous ``run`` from its ``metrics.json``; no refit."""
    directory = Path(directory)
    source = directory / "metrics.json"
    try:
        metrics = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{source}: cannot read a previous run's results ({exc}).") from None
    if not isinstance(metrics, dict) or metrics.get("tool", {}).get("name") != "tiktok-claims" or "figures" not in metrics:
        raise DataError(f"{source}: not the metrics.json of a tiktok-claims run.")
    found = metrics["tool"].get("metrics_schema")
    if found != config.METRICS_SCHEMA:
        raise DataError(
            f"{source}: written with metrics layout {found!r} (tiktok-claims {metrics['tool'].get('version')}); "
            f"this version reads layout {config.METRICS_SCHEMA}. Re-run 'tiktok-claims run' to rebuild it."
        )
    missing = [f["file"] for f in metrics["figures"] if not (directory / f["file"]).is_file()]
    if missing:
        raise DataError(f"{directory}: figure file(s) missing: {', '.join(missing)}; re-run 'tiktok-claims run'.")
    return render_documents(metrics, directory)
