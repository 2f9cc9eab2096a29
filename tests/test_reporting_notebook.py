"""The executed notebook's parts that need no kernel: its parameters, its HTML page, the missing-extra note."""

from __future__ import annotations

import ast
import base64
import sys
from pathlib import Path

import nbformat
import pytest

from tiktok_claims.evaluation.metrics import ThresholdRule
from tiktok_claims.reporting import figures
from tiktok_claims.reporting.kinds import RUN_FILES
from tiktok_claims.reporting.notebook import (
    NOTEBOOK_EXTRA,
    NOTEBOOK_FILES,
    NOTEBOOK_SOURCE,
    inject_parameters,
    notebook_html,
    notebook_unavailable,
    parameters_source,
)

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "notebooks" / "tiktok_regression.ipynb"
PACKAGED = ROOT / "src" / "tiktok_claims" / "reporting" / "templates" / NOTEBOOK_SOURCE


def test_the_package_runs_the_committed_notebook():
    assert PACKAGED.read_bytes() == COMMITTED.read_bytes(), f"copy {COMMITTED} to {PACKAGED}"


def test_the_committed_notebook_has_a_parameters_cell_and_says_how_to_get_it_executed():
    notebook = nbformat.read(COMMITTED, as_version=4)

    assert sum("parameters" in cell.metadata.get("tags", []) for cell in notebook.cells) == 1
    assert notebook.cells[0].cell_type == "markdown" and "tiktok-claims run DATA --notebook" in notebook.cells[0].source


def test_the_notebook_files_are_run_files():
    assert set(NOTEBOOK_FILES) <= set(RUN_FILES)


HOSTILE = "/data/it's \"x\"\n__import__('os').system('echo owned') #.csv"


def test_parameters_are_python_literals_whatever_the_data_path_holds():
    rule = ThresholdRule("cost", cost_fn=3.0, cost_fp=0.5)
    source = parameters_source(HOSTILE, {"target": "claim_status", "seed": 7, "threshold_rule": rule, "workers": None})

    namespace: dict = {}
    exec(compile(source, "<parameters>", "exec"), {"ThresholdRule": ThresholdRule}, namespace)  # noqa: S102
    assert namespace["DATA"] == HOSTILE
    assert namespace["OPTIONS"] == {"target": "claim_status", "seed": 7, "threshold_rule": rule, "workers": None}
    calls = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)]
    assert [call.func.id for call in calls] == ["ThresholdRule"]  # nothing else is called
    assert parameters_source(None, {}).splitlines()[1].startswith("DATA = None")


def test_the_parameters_cell_is_replaced():
    notebook = nbformat.read(COMMITTED, as_version=4)
    inject_parameters(notebook, "/d.csv", {"seed": 3})

    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    assert "DATA = '/d.csv'" in cell.source and "'seed': 3" in cell.source and "injected-parameters" in cell.metadata.tags


def test_a_missing_package_is_named_with_the_fix(monkeypatch):
    assert notebook_unavailable() is None
    monkeypatch.setitem(sys.modules, "ipykernel", None)

    assert notebook_unavailable() == f"notebook.ipynb not written: executing it needs ipykernel ({NOTEBOOK_EXTRA})"


def test_a_figure_shows_itself_as_a_png_with_its_alt_text():
    figure = figures.roc_curve({"fpr": [0, 0.5, 1], "tpr": [0, 0.8, 1]}, 0.7)

    bundle, metadata = figure._repr_mimebundle_()
    assert bundle["image/png"].startswith(b"\x89PNG") and bundle["text/plain"] == figure.alt
    assert metadata == {"image/png": {"title": figure.title}}


def test_the_html_page_escapes_code_and_text_and_inlines_images():
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title <script>alert(1)</script>"),
        nbformat.v4.new_code_cell("x = '<b>'", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="<i>printed</i>"),
            nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": 'A chart "quoted"'},
                                   metadata={"image/png": {"title": "Its <title>"}}),
            nbformat.v4.new_output("error", ename="E", evalue="v", traceback=["\x1b[31m<tb>\x1b[0m"]),
        ]),
    ])

    page = notebook_html(notebook)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "x = &#39;&lt;b&gt;&#39;" in page and "&lt;i&gt;printed&lt;/i&gt;" in page and "&lt;tb&gt;" in page
    assert f'<img src="data:image/png;base64,{png}" alt="A chart &#34;quoted&#34;"><figcaption>Its &lt;title&gt;</figcaption>' in page
    assert '<pre class="source" role="region" aria-label="Code cell 1" tabindex="0"><code>' in page
    assert "\x1b" not in page and '<html lang="en">' in page and "<main>" in page


PANDAS_LIKE = (
    '<div><style scoped>th { color: red }</style><table border="1" class="dataframe"><thead>'
    '<tr><th></th><th colspan="2">both &amp; more</th></tr><tr><th>line</th><th></th><th></th></tr></thead>'
    '<tbody><tr><th rowspan="2">a</th><td>&lt;script&gt;x&lt;/script&gt;</td><td><img src=x onerror=alert(1)>2</td></tr>'
    '<tr><td>3</td><td>4</td></tr></tbody></table></div><script>alert(2)</script>'
)


def test_a_table_output_is_written_anew_escaped_with_a_caption_and_scoped_headers():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("frame = f()\nframe.head()", outputs=[
            nbformat.v4.new_output("execute_result", data={"text/html": PANDAS_LIKE, "text/plain": "x"}, execution_count=1),
        ]),
    ])

    page = notebook_html(notebook)
    assert page.count("<table>") == 1 and "<script" not in page and "<img" not in page and "<style scoped" not in page
    assert (
        '<div class="output table-scroll" role="region" aria-label="Output of frame.head()" tabindex="0"><table>'
        "<caption>Output of frame.head()</caption>"
        '<thead><tr><td></td><th scope="colgroup" colspan="2">both &amp; more</th></tr>'
        '<tr><th scope="col">line</th><td></td><td></td></tr></thead>'
        '<tbody><tr><th scope="rowgroup" rowspan="2">a</th><td>&lt;script&gt;x&lt;/script&gt;</td><td>2</td></tr>'
        "<tr><td>3</td><td>4</td></tr></tbody></table></div>"
    ) in page


def test_an_html_output_without_a_table_shows_its_text():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x", outputs=[
            nbformat.v4.new_output("display_data", data={"text/html": "<b>bold</b><script>1</script>", "text/plain": "<plain>"}),
        ]),
    ])

    page = notebook_html(notebook)
    assert "<b>" not in page and "<script" not in page
    assert '<pre class="output" role="region" aria-label="Output of code cell 1" tabindex="0">&lt;plain&gt;</pre>' in page


def test_an_image_output_that_is_not_base64_is_refused():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output("display_data", data={"image/png": '"><script>'})]),
    ])

    with pytest.raises(ValueError):
        notebook_html(notebook)
