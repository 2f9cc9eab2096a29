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
from ..persistence import save_model

FIGURE_DPI = 110


def figure_jobs(analysis) -> list[tuple]:
    """Each figure of the report as ``(builder, arguments)``, built from the results object."""
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
        "per_class": m["test_per_class"],
        "cv_table": cv_table(m["cv"]),
        "cv_metrics": CV_COLUMNS,
        "figures": figures,
        "figures_by_name": {f["name"]: f for f in figures},
    }


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

    written["coefficients.csv"] = out / "coefficients.csv"
    write_csv(analysis.coefficients, written["coefficients.csv"])
    written["set_aside_rows.csv"] = out / "set_aside_rows.csv"
    write_csv(analysis.dataset.set_aside, written["set_aside_rows.csv"])
    metrics = analysis.metrics()
    written.update(save_model(analysis, out / "model.json", metrics))

    say("Drawing figures")
    metrics["figures"] = []
    _warm_matplotlib()
    with worker_pool(default_workers() if workers is None else workers) as pool:
        # The summary shows no figures: it is rendered (and printed to PDF) while they are drawn.
        summary = pool.submit(render_executive_summary, metrics, out)
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
    for name in TEMPLATED:
        written[name] = out / name
        written[name].write_text(env.get_template(f"{name}.j2").render(**context), encoding="utf-8")
    for name, title in MARKDOWN_PAGES.items():
        html = out / f"{name}.html"
        body = markdown_to_html((out / f"{name}.md").read_text(encoding="utf-8"))
        html.write_text(env.get_template("markdown_page.html.j2").render(title=title, body=Markup(body)), encoding="utf-8")
        written[html.name] = html
    return written


TEMPLATED = ("report.html", "report.md", "technical_summary.md", "pace_strategy.md")
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
