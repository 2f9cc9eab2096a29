"""Rendering the documents (``reporting/render.py``): numbers for reading, escaping in the
templates, Markdown without raw HTML, the context read from metrics.json alone, and
``rerender`` refusing anything but the metrics.json of a previous run."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import zlib

import numpy as np
import pytest

from tiktok_claims import config
from tiktok_claims.errors import DataError
from tiktok_claims.reporting import figures
from tiktok_claims.reporting.render import (
    FIGURE_DPI,
    _environment,
    format_number,
    html_to_pdf,
    markdown_to_html,
    render_figure,
    report_context,
    rerender,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- numbers for reading


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "–"),
        (math.nan, "–"),
        (0, "0"),
        (19_382, "19,382"),
        (-1_234_567, "-1,234,567"),
        (3.0, "3"),
        (1e6, "1,000,000"),
        (1234.4, "1,234"),
        (-2500.7, "-2,501"),
        (0.123456, "0.123"),
        (np.float64(0.5), "0.500"),
        (np.float64(2.0), "2"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


def test_format_number_takes_the_digits_asked_for():
    assert format_number(0.123456, digits=1) == "0.1"
    assert format_number(2 / 3, digits=5) == "0.66667"
    assert format_number(1234.5678, digits=5) == "1,235"  # thousands are shown whole


# ---------------------------------------------------------------- the template environment


def test_html_templates_escape_and_markdown_templates_do_not():
    env = _environment()

    assert env.autoescape("report.html.j2") and env.autoescape("executive_summary.html.j2")
    assert not env.autoescape("report.md.j2")
    assert env.from_string("{{ x }}").render(x="<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"


def test_template_filters_format_numbers_shares_p_values_and_markdown_text():
    env = _environment()

    assert env.from_string("{{ x | num }}").render(x=19382) == "19,382"
    assert env.from_string("{{ x | pct }} {{ x | pct(2) }}").render(x=0.06251) == "6.3% 6.25%"
    assert env.from_string("{{ a | p }}; {{ b | p }}").render(a=0.0004, b=0.0234) == "p &lt; 0.001; p = 0.023"
    assert env.from_string("{{ t | md }}", ).render(t="a_b|<c>") == "a\\_b\\|\\&lt;c\\&gt;"


def test_markdown_is_rendered_without_raw_html_and_with_tables():
    html = markdown_to_html("Hello <script>alert(1)</script>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")

    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<table>" in html and "<td>2</td>" in html


def test_markdown_tables_get_a_caption_a_scroll_region_and_header_scopes():
    text = "## Test <metrics> `x`\n\n| metric | value |\n|---|---:|\n| recall | 0.5 |\n\n| other |\n|---|\n| 1 |\n"

    html = markdown_to_html(text)

    region = '<div class="table-scroll" role="region" aria-label="Test &lt;metrics&gt; x" tabindex="0"><table>'
    assert html.count('class="table-scroll"') == html.count("<table>") == html.count("</table>\n</div>") == 2
    assert region + "\n<caption>Test &lt;metrics&gt; x</caption>" in html
    assert '<caption>Test &lt;metrics&gt; x (2)</caption>' in html  # a second table under the same heading
    assert '<th scope="col">metric</th>' in html and '<th style="text-align:right" scope="col">value</th>' in html
    assert '<th scope="row">recall</th>' in html and '<td style="text-align:right">0.5</td>' in html
    assert '<th scope="row">1</th>' in html
    assert "<td" not in markdown_to_html("| a |\n|---|\n| b |\n") and "<caption>Table</caption>" in markdown_to_html("| a |\n|---|\n| b |\n")


def test_the_pdf_is_tagged_with_its_language_and_title(tmp_path):
    source = tmp_path / "page.html"
    source.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>A made-up summary</title></head>'
        "<body><main><h1>Heading</h1><p>Text.</p><ul><li>one</li></ul></main></body></html>",
        encoding="utf-8",
    )

    objects = pdf_objects(html_to_pdf(source, tmp_path / "page.pdf").read_bytes())

    for entry in (b"/StructTreeRoot", b"/MarkInfo <</Marked true>>", b"/Lang (en)", b"/Title (A made-up summary)",
                  b"/DisplayDocTitle true", b"/S /H1", b"/S /P", b"/S /L", b"pdfuaid:part"):
        assert entry in objects, entry


def test_the_summary_pdf_of_a_run_is_tagged(real_run):
    objects = pdf_objects((real_run.out / "executive_summary.pdf").read_bytes())

    assert b"/StructTreeRoot" in objects and b"/Lang (en)" in objects
    assert b"/Title (Executive summary: " in objects


def pdf_objects(pdf: bytes) -> bytes:
    """A PDF's bytes with every Flate stream (object streams hold the catalog and the tags) inflated beside them."""
    inflated = [pdf]
    for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            inflated.append(zlib.decompress(stream.group(1)))
        except zlib.error:
            pass  # an image or font stream that is not Flate-compressed
    return b"\n".join(inflated)


# ---------------------------------------------------------------- figures and context


def test_a_figure_is_rendered_as_png_with_its_description():
    import pandas as pd

    balance = pd.DataFrame({"level": ["not verified", "verified"], "count": [94, 6], "share": [0.94, 0.06]})

    meta, png = render_figure(figures.class_balance, (balance, config.VERIFIED))

    drawn = figures.class_balance(balance, config.VERIFIED)
    assert png.startswith(PNG_SIGNATURE)
    assert meta == {"name": drawn.name, "title": drawn.title, "alt": drawn.alt, "file": f"figures/{drawn.name}.png"}
    assert meta["name"] == "class_balance" and meta["title"] and len(meta["alt"]) > 20
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")  # the IHDR chunk
    assert (width, height) == (round(drawn.figure.get_figwidth() * FIGURE_DPI), round(drawn.figure.get_figheight() * FIGURE_DPI))


def test_report_context_is_read_from_metrics_json_alone(real_run):
    metrics = json.loads((real_run.out / "metrics.json").read_text(encoding="utf-8"))

    context = report_context(metrics, metrics["figures"])

    data = metrics["data"]
    assert context["accounting"][:2] == [
        {"item": "rows read", "rows": data["rows_read"]},
        {"item": "rows used", "rows": data["rows_used"]},
    ]
    assert context["accounting"][2:] == [{"item": f"set aside: {r}", "rows": n} for r, n in data["rows_set_aside"].items()]
    assert sum(row["rows"] for row in context["accounting"][1:]) == data["rows_read"]
    assert context["synthetic"] is False
    assert set(context["figures_by_name"]) == {f["name"] for f in metrics["figures"]}
    assert context["coefficients"] == metrics["coefficients"] and context["vif"] == metrics["features"]["vif"]
    assert "cv_table" in context and "per_class" in context  # the binary kind's own context


# ---------------------------------------------------------------- rerender


@pytest.fixture()
def run_copy(real_run, tmp_path):
    """A copy of the session's real run, free to damage."""
    return shutil.copytree(real_run.out, tmp_path / "run")


def _edit_metrics(directory, edit) -> None:
    path = directory / "metrics.json"
    metrics = json.loads(path.read_text(encoding="utf-8"))
    edit(metrics)
    path.write_text(json.dumps(metrics), encoding="utf-8")


def test_rerender_writes_the_documents_of_the_run(run_copy):
    written = rerender(run_copy)

    assert sorted(written) == sorted(
        ["executive_summary.html", "executive_summary.pdf", "report.html", "report.md", "technical_summary.md",
         "pace_strategy.md", "technical_summary.html", "pace_strategy.html", "figures/verdict.png"]
    )
    assert all(path == run_copy / name and path.is_file() for name, path in written.items())


def test_rerender_refuses_a_directory_without_metrics(tmp_path):
    with pytest.raises(DataError, match="metrics.json: no previous run's results here"):
        rerender(tmp_path)


def test_rerender_refuses_a_metrics_file_that_is_not_json(run_copy):
    (run_copy / "metrics.json").write_text("{not json", encoding="utf-8")

    with pytest.raises(DataError, match="cannot read a previous run's results"):
        rerender(run_copy)


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["tool"].update(name="another-tool"),
        lambda m: m.pop("tool"),
        lambda m: m.pop("figures"),
    ],
    ids=["another-tool", "no-tool", "no-figures"],
)
def test_rerender_refuses_a_foreign_metrics_json(run_copy, edit):
    before = (run_copy / "report.md").read_text(encoding="utf-8")
    _edit_metrics(run_copy, edit)

    with pytest.raises(DataError, match="not the metrics.json of a tiktok-claims run"):
        rerender(run_copy)
    assert (run_copy / "report.md").read_text(encoding="utf-8") == before


def test_rerender_refuses_a_json_list(run_copy):
    (run_copy / "metrics.json").write_text("[1, 2]", encoding="utf-8")

    with pytest.raises(DataError, match="not the metrics.json of a tiktok-claims run"):
        rerender(run_copy)


def test_rerender_refuses_another_metrics_layout_naming_both(run_copy):
    _edit_metrics(run_copy, lambda m: m["tool"].update(metrics_schema=config.METRICS_SCHEMA - 1))

    with pytest.raises(DataError) as refused:
        rerender(run_copy)
    message = str(refused.value)
    assert f"layout {config.METRICS_SCHEMA - 1!r}" in message and f"reads layout {config.METRICS_SCHEMA}" in message
    assert "Re-run 'tiktok-claims run'" in message


def test_rerender_refuses_when_a_figure_file_is_missing(run_copy):
    metrics = json.loads((run_copy / "metrics.json").read_text(encoding="utf-8"))
    removed = metrics["figures"][2]["file"]
    (run_copy / removed).unlink()

    with pytest.raises(DataError, match=f"figure file {removed} is missing"):
        rerender(run_copy)


@pytest.mark.parametrize("named", ["/etc/passwd", "../../outside.png", "figures/../metrics.json", "figures/x.png"])
def test_rerender_reads_no_file_a_metrics_record_names_outside_the_runs_figures(run_copy, named):
    outside = run_copy.parent / "outside.png"
    outside.write_bytes(b"\x89PNG\r\n\x1a\nSECRET")
    before = (run_copy / "report.html").read_bytes()
    _edit_metrics(run_copy, lambda m: m["figures"][0].update(file=named))

    with pytest.raises(DataError, match="expected a file figures/<name>.png of the run"):
        rerender(run_copy)
    assert (run_copy / "report.html").read_bytes() == before


def test_rerender_refuses_a_figure_that_is_not_a_png_or_is_a_link(run_copy):
    metrics = json.loads((run_copy / "metrics.json").read_text(encoding="utf-8"))
    first, second = (run_copy / metrics["figures"][0]["file"]), (run_copy / metrics["figures"][1]["file"])
    first.write_text("root:x:0:0")
    with pytest.raises(DataError, match="is not a PNG image"):
        rerender(run_copy)
    first.unlink()
    first.symlink_to(second)
    with pytest.raises(DataError, match="is missing \\(or not a plain file\\)"):
        rerender(run_copy)


def test_rerender_refuses_a_metrics_file_that_is_a_fifo_without_waiting(run_copy):
    (run_copy / "metrics.json").unlink()
    os.mkfifo(run_copy / "metrics.json")
    with pytest.raises(DataError, match="not a regular file"):
        rerender(run_copy)


def test_rerender_replaces_the_documents_as_a_whole_and_keeps_the_other_files(run_copy):
    model = (run_copy / "model.json").read_bytes()
    (run_copy / "report.md").write_text("stale")
    written = rerender(run_copy)
    assert (run_copy / "report.md").read_text(encoding="utf-8") != "stale"
    assert (run_copy / "model.json").read_bytes() == model
    listed = json.loads((run_copy / ".tiktok-claims-manifest.json").read_text())["files"]
    assert set(written) <= set(listed)
    assert not list(run_copy.glob(".tiktok-claims-staging-*"))


def test_report_from_refuses_a_record_that_lacks_what_its_layout_promises(tmp_path):
    """A metrics.json of the current layout with a field removed: a clean refusal, not a traceback."""
    import json
    import shutil

    from typer.testing import CliRunner

    from tiktok_claims.cli import app

    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "--out", str(run), "--quiet", "--bootstrap", "100", "--cv-folds", "2"])
    assert result.exit_code == 0, result.output
    broken = tmp_path / "broken"
    shutil.copytree(run, broken)
    metrics = json.loads((broken / "metrics.json").read_text(encoding="utf-8"))
    del metrics["story"]
    (broken / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")

    refused = CliRunner().invoke(app, ["report", "--from", str(broken)])

    assert refused.exit_code == 1
    assert "does not hold what layout" in refused.stderr and "Traceback" not in refused.output


def test_a_ratio_cell_says_which_side_of_the_bound_it_lies_on():
    from tiktok_claims.reporting.render import bounded_interval, bounded_ratio

    assert bounded_ratio(4.5e17) == "> 1,000" and bounded_ratio(3.4e-7) == "< 0.001" and bounded_ratio(2.5) == "2.50"
    assert bounded_interval(1e-11, 0.19).startswith("not shown") and bounded_interval(1.01, 1.5) == "1.01–1.50"
