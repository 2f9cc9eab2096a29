"""Render one finished analysis into every document: HTML, Markdown, JSON, CSV, figures.

Reads results; never refits and never writes the model (:mod:`tiktok_claims.artifact`
does). What each analysis kind renders is in :mod:`tiktok_claims.reporting.kinds`.
Templates are package data rendered by Jinja2 with autoescaping on, so any text that
came from the data is escaped in HTML; Markdown cells built from data are escaped by
the ``md`` filter.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
from collections import Counter
from concurrent.futures import BrokenExecutor, Executor, Future
from contextlib import ExitStack
from pathlib import Path
from typing import Callable

from jinja2 import (
    Environment,
    PackageLoader,
    StrictUndefined,
    UndefinedError,
    select_autoescape,
)
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from .. import config
from ..data.files import read_json_file
from ..errors import DataError
from ..escaping import escape_markdown, markdown_code, write_csv
from ..folders import OutputFolder
from ..interpretation.course import STAGES, course_answers
from ..interpretation.wording import (
    RATIO_BOUND,
    capitalized,
    format_interval,
    format_p,
    format_ratio,
    per_1000,
    within_bound,
)
from ..parallel import default_workers, worker_pool
from ..timing import StageClock
from .kinds import RUN_FILES, Chart, document_files, documents_for
from .pdf import html_to_pdf, pdf_unavailable

FIGURE_DPI = 110


def warm_matplotlib() -> None:
    """Load the figures' module, matplotlib and its fonts once, before workers start (forked ones inherit them)."""
    from . import figures

    figures.warm()


def draw_figures(jobs: list[tuple]) -> list[tuple[dict, bytes]]:
    """Draw every figure of ``jobs`` (``(builder, arguments)``) in this process, in their order: the printer's job.

    The printer draws them itself, not on workers of its own: a process it forked would
    hold open the pipe by which the command learns that the printer died (the command
    would wait for it forever), and would outlive it. Returns each figure's description
    and PNG bytes.
    """
    warm_matplotlib()
    return [render_figure(builder, arguments) for builder, arguments in jobs]


def render_figure(builder, arguments) -> tuple[dict, bytes]:
    """Build one figure and return its description and PNG bytes."""
    figure = builder(*arguments)
    buffer = io.BytesIO()
    figure.figure.savefig(buffer, format="png", dpi=FIGURE_DPI)
    meta = {"name": figure.name, "title": figure.title, "alt": figure.alt, "file": f"figures/{figure.name}.png"}
    return meta, buffer.getvalue()


def _environment():
    env = Environment(
        loader=PackageLoader("tiktok_claims.reporting", "templates"),
        autoescape=select_autoescape(["html", "html.j2"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        num=format_number, pct=lambda x, d=1: f"{100 * x:.{d}f}%", p=format_p, md=escape_markdown, code=markdown_code, ratio=bounded_ratio,
        per1000=per_1000, sentence=capitalized,
        slope=lambda x: "unbounded (the scores separate the test part's classes)" if x is None else format_number(x, 2),
    )
    env.globals.update(
        interval=bounded_interval, ratio_bound=f"{RATIO_BOUND:,.0f}", course_answers=course_answers, course_stages=STAGES
    )
    return env


def bounded_ratio(value) -> str:
    """A ratio for a table cell: its digits, or a note when it lies beyond the bound (separation)."""
    if value is None:
        return "–"
    if within_bound(value):
        return format_ratio(value)
    return f"> {RATIO_BOUND:,.0f}" if value > 1 else f"< {1 / RATIO_BOUND:g}"


def bounded_interval(low, high) -> str:
    """A ratio's interval for a table cell, never printed beyond the bound nor seemingly crossing 1."""
    if low is None or high is None:
        return "–"
    if not within_bound(low, high):
        return f"not shown (outside {1 / RATIO_BOUND:g}–{RATIO_BOUND:,.0f})"
    return format_interval(low, high)


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
        "figures": figures,
        "figures_by_name": {f["name"]: f for f in figures},
        **documents_for(m["outcome_type"]).context(m),
    }


def write_outputs(
    analysis, out: str | Path, metrics: dict | None = None, progress: Callable[[str], None] | None = None,
    printer: Executor | None = None,
) -> dict[str, Path]:
    """Write every document of ``run`` into ``out`` and return their paths by name.

    ``metrics`` is ``analysis.metrics()`` when the caller has it already; the list of
    figures is added to it before ``metrics.json`` is written. ``printer`` (from
    :func:`tiktok_claims.reporting.printer.printer_process`, with the exploratory figures it
    drew early, or any executor) draws the other figures, then prints the executive
    summary while this process renders the reports; without it (or if its process dies),
    workers started from this process draw and print them. The figures are the same bytes
    either way. The model artifact is not written here
    (:func:`tiktok_claims.artifact.store.save_artifact`).
    """
    clock = StageClock(progress)
    clock.start("write_tables")
    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    metrics = analysis.metrics() if metrics is None else metrics
    documents = documents_for(metrics["outcome_type"])
    written: dict[str, Path] = {}
    written["coefficients.csv"] = out / "coefficients.csv"
    write_csv(analysis.coefficients, written["coefficients.csv"])
    written["set_aside_rows.csv"] = out / "set_aside_rows.csv"
    write_csv(analysis.dataset.set_aside, written["set_aside_rows.csv"])

    clock.start("figures_and_summary", "Drawing figures")
    metrics["figures"] = []
    workers = default_workers() if analysis.options.workers is None else analysis.options.workers
    # A Printer (reporting/printer.py) may have drawn the exploratory figures while the models
    # were fitted, and the model's figures while the cross-validation ran.
    early = getattr(printer, "early_figures", lambda frame, eda: None)(analysis.dataset.frame, analysis.eda)
    model = getattr(printer, "model_figures", lambda analysis: None)(analysis)
    jobs = [
        *(documents.exploration_jobs(analysis.dataset.frame, analysis.eda, analysis.target) if early is None else []),
        *(documents.model_jobs(analysis) if model is None else []),
    ]
    early = [*(early or []), *(model or [])]
    if documents.summary:  # the summary's chart, drawn from the story (in metrics.json), listed last
        jobs.append((Chart("verdict_chart"), (metrics["story"]["chart"],)))
    with ExitStack() as stack:
        # The printer (its process has matplotlib and WeasyPrint loaded) draws the figures,
        # then prints the summary while this process renders the reports; without it, or if
        # its process died, workers started from here draw and print them.
        drawer = printer
        drawn = _drawn_by(drawer, jobs)
        if drawn is None:
            warm_matplotlib()
            drawer = stack.enter_context(worker_pool(workers))
            drawn = [future.result() for future in [drawer.submit(render_figure, *job) for job in jobs]]
        for meta, png in [*early, *drawn]:
            written[meta["file"]] = out / meta["file"]
            written[meta["file"]].write_bytes(png)
            metrics["figures"].append(meta)
        chart = drawn[-1][1] if documents.summary else None
        summary = _submitted(drawer, render_executive_summary, metrics, out, chart) if documents.summary else None
        clock.start("documents", "Rendering the reports")
        written.update(render_reports(metrics, out))
        if summary is not None:
            try:
                written.update(summary.result())
            except BrokenExecutor:  # the printer's process died while printing (killed, out of memory)
                summary = None
        if documents.summary and summary is None:
            written.update(render_executive_summary(metrics, out, chart))
    metrics["timings"] = {**metrics.get("timings", {}), **{f"render_{k}": v for k, v in clock.stop().items()}}
    written["metrics.json"] = out / "metrics.json"
    written["metrics.json"].write_text(json.dumps(metrics, indent=2, allow_nan=False), encoding="utf-8")
    return written


def _drawn_by(printer: Executor | None, jobs: list[tuple]) -> list[tuple[dict, bytes]] | None:
    """The figures of ``jobs`` drawn by the printer, or ``None`` when there is none or its process died."""
    if printer is None:
        return None
    try:
        return printer.submit(draw_figures, jobs).result()
    except BrokenExecutor:
        return None


def _submitted(executor: Executor, fn, *args) -> Future | None:
    """``fn(*args)`` submitted to ``executor``; ``None`` if its process died before it could take it."""
    try:
        return executor.submit(fn, *args)
    except BrokenExecutor:
        return None


def render_documents(metrics: dict, out: Path, figures_from: Path | None = None) -> dict[str, Path]:
    """Render every document from a metrics record and its figure files (in ``figures_from``, default ``out``)."""
    written = render_executive_summary(metrics, out) if documents_for(metrics["outcome_type"]).summary else {}
    return {**written, **render_reports(metrics, out, figures_from)}


def render_executive_summary(metrics: dict, out: Path, png: bytes | None = None) -> dict[str, Path]:
    """The one-page summary for managers, as HTML and PDF, with the chart that carries its verdict.

    The chart is drawn from the numbers the story computed (``story.chart`` in the metrics
    record) and written beside the other figures, unless its PNG is given (``png``: drawn
    and written with the other figures); it is embedded in the page. The PDF only where
    it can be printed (:func:`pdf_unavailable`); the HTML always.
    """
    entry = summary_chart_entry(metrics)
    chart = out / entry["file"]
    if png is None:  # else the caller drew it with the other figures and wrote it there
        entry, png = render_figure(Chart("verdict_chart"), (metrics["story"]["chart"],))
        chart.parent.mkdir(parents=True, exist_ok=True)
        chart.write_bytes(png)
    html = out / "executive_summary.html"
    figure = {**entry, "data_uri": "data:image/png;base64," + base64.b64encode(png).decode("ascii")}
    html.write_text(
        _environment().get_template("executive_summary.html.j2").render(**report_context(metrics, [figure])),
        encoding="utf-8",
    )
    if pdf_unavailable() is not None:
        return {entry["file"]: chart, html.name: html}
    return {entry["file"]: chart, html.name: html, "executive_summary.pdf": html_to_pdf(html, out / "executive_summary.pdf")}


def summary_chart_entry(metrics: dict) -> dict:
    """The figures-list entry of the summary's chart (what :func:`render_figure` says of it), read from the story."""
    chart = metrics["story"]["chart"]
    return {"name": chart["name"], "title": chart["title"], "alt": chart["alt"], "file": f"figures/{chart['name']}.png"}


def render_reports(metrics: dict, out: Path, figures_from: Path | None = None) -> dict[str, Path]:
    """The report and this kind's other documents, with figures (read from ``figures_from``, default ``out``) embedded."""
    figures = []
    for figure in metrics["figures"]:
        png = ((out if figures_from is None else figures_from) / figure["file"]).read_bytes()
        figures.append({**figure, "data_uri": "data:image/png;base64," + base64.b64encode(png).decode("ascii")})
    env = _environment()
    context = report_context(metrics, figures)
    documents = documents_for(metrics["outcome_type"])
    written = {}
    for name, template in documents.templates.items():
        written[name] = out / name
        written[name].write_text(env.get_template(template).render(**context), encoding="utf-8")
    for name, title in documents.markdown_pages.items():
        html = out / f"{name}.html"
        body = markdown_to_html((out / f"{name}.md").read_text(encoding="utf-8"))
        html.write_text(env.get_template("markdown_page.html.j2").render(title=title, body=Markup(body)), encoding="utf-8")
        written[html.name] = html
    return written


def course_markdown(metrics: dict, stages: tuple[str, ...] | None = None, level: str = "##") -> str:
    """The course's questions with this run's answers, as in the PACE document (``stages``: all, or only these)."""
    return _environment().get_template("_course.md.j2").render(
        course=course_answers(metrics), stages=STAGES if stages is None else stages, level=level
    )


def markdown_to_html(text: str) -> str:
    """CommonMark + tables to HTML, with raw HTML disabled (so it is shown as text).

    Tables are made readable on a phone and by a screen reader, as in the HTML templates:
    each stands in a scroll container (a named region that takes keyboard focus) with a
    caption, the heading it stands under; column headers are scoped to their columns and
    the first cell of each body row is the header of its row.
    """
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = parser.parse(text)
    heading, captions = "Table", Counter()
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            heading = _plain_text(tokens[index + 1]) or "Table"
        elif token.type == "table_open":
            captions[heading] += 1
            token.meta["caption"] = heading if captions[heading] == 1 else f"{heading} ({captions[heading]})"
        elif token.type == "th_open":
            token.attrSet("scope", "col")
        elif token.type == "td_open" and tokens[index - 1].type == "tr_open":
            token.tag = "th"
            token.attrSet("scope", "row")
        elif token.type == "td_close" and tokens[index - 2].tag == "th" and tokens[index - 2].type == "td_open":
            token.tag = "th"
    parser.add_render_rule("table_open", _open_table)
    parser.add_render_rule("table_close", lambda renderer, tokens, index, options, env: "</table>\n</div>\n")
    return parser.renderer.render(tokens, parser.options, {})


def _plain_text(inline) -> str:
    """The words of an inline Markdown token (its text and code, without the markup)."""
    return "".join(child.content for child in inline.children or () if child.type in ("text", "code_inline")).strip()


def _open_table(renderer, tokens, index, options, env) -> str:
    caption = escape(tokens[index].meta["caption"])
    return (
        f'<div class="table-scroll" role="region" aria-label="{caption}" tabindex="0">'
        f"<table>\n<caption>{caption}</caption>\n"
    )


def rerender(directory: str | Path) -> dict[str, Path]:
    """Re-render every document of a previous ``run`` from its ``metrics.json``; no refit.

    Reads only ``metrics.json`` and the figure files it lists, each of which must be a
    PNG file ``figures/<name>.png`` inside ``directory`` (never a path the record names
    elsewhere). The documents are written through :class:`~tiktok_claims.folders.OutputFolder`:
    all of them replace the old ones, or none does.
    """
    directory = Path(directory)
    source = directory / "metrics.json"
    if not source.exists():
        raise DataError(f"{source}: no previous run's results here (expected the metrics.json that 'run' writes).")
    metrics = read_json_file(
        source, "cannot read a previous run's results", "the metrics.json that 'run' writes", limit=METRICS_LIMIT
    )
    if (
        not isinstance(metrics, dict) or not isinstance(metrics.get("tool"), dict)
        or metrics["tool"].get("name") != "tiktok-claims" or "figures" not in metrics
    ):
        raise DataError(f"{source}: not the metrics.json of a tiktok-claims run.")
    found = metrics["tool"].get("metrics_schema")
    if found != config.METRICS_SCHEMA:
        raise DataError(
            f"{source}: written with metrics layout {found!r} (tiktok-claims {metrics['tool'].get('version')}); "
            f"this version reads layout {config.METRICS_SCHEMA}. Re-run 'tiktok-claims run' to rebuild it."
        )
    _check_figures(metrics.get("figures"), directory, source)
    try:
        with OutputFolder(directory, RUN_FILES) as folder:
            written = render_documents(metrics, folder.staging, figures_from=directory)
            # A PDF of an earlier rendering does not stay beside documents it no longer matches.
            folder.commit(keep_previous=True, replaced=document_files(documents_for(metrics["outcome_type"])))
    except (UndefinedError, KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # A record of this layout whose content is not what its layout promises (edited, or
        # written by a development version): refuse it rather than show a traceback.
        raise DataError(
            f"{source}: does not hold what layout {config.METRICS_SCHEMA} promises ({type(exc).__name__}: {exc}); "
            "re-run 'tiktok-claims run' to rebuild it."
        ) from None
    return {name: directory / name for name in written}


FIGURE_NAME = re.compile(r"[a-z0-9_]{1,64}")
METRICS_LIMIT = 64 << 20
"""A metrics.json is a few hundred kilobytes; more is not one this tool wrote."""


def _check_figures(figures, directory: Path, source: Path) -> None:
    """Every figure entry names a PNG file ``figures/<name>.png`` inside ``directory``; nothing else is read."""
    if not isinstance(figures, list):
        raise DataError(f"{source}: 'figures' is {type(figures).__name__}; expected the list of the run's figures.")
    for number, figure in enumerate(figures):
        name = figure.get("name") if isinstance(figure, dict) else None
        if not isinstance(name, str) or not FIGURE_NAME.fullmatch(name) or figure.get("file") != f"figures/{name}.png":
            raise DataError(
                f"{source}: figures[{number}] names {figure.get('file') if isinstance(figure, dict) else figure!r}; "
                "expected a file figures/<name>.png of the run (letters, digits and _), and no other path is read."
            )
        path = directory / figure["file"]
        if path.is_symlink() or not path.is_file():
            raise DataError(f"{directory}: figure file {figure['file']} is missing (or not a plain file); re-run 'tiktok-claims run'.")
        with path.open("rb") as handle:
            if handle.read(8) != PNG_SIGNATURE:
                raise DataError(f"{directory}: figure file {figure['file']} is not a PNG image; re-run 'tiktok-claims run'.")


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
