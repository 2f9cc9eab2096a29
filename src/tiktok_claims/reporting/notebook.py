"""The executed notebook of a run (``run --notebook``): ``notebook.ipynb`` and ``notebook.html``.

The course notebook (``notebooks/tiktok_regression.ipynb``, committed without outputs; its copy
:data:`NOTEBOOK_SOURCE` is package data) is executed in a ``python3`` kernel of this
interpreter, against the run's own data and options: its cell tagged ``parameters`` is
replaced by one that sets ``DATA`` and ``OPTIONS`` to this run's values, each written as a
Python literal by :func:`repr` (never formatted into code as text). The kernel re-runs the
analysis (``analyze(DATA, **OPTIONS)``), which about doubles the run's time: hence opt-in.

nbformat, nbclient and ipykernel (the ``notebook`` extra) are imported only here, inside
functions: without them the run writes everything else and says how to add them
(:func:`notebook_unavailable`).
"""

from __future__ import annotations

import base64
import gc
import importlib.util
import os
import re
import tempfile
import warnings
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

from markupsafe import Markup, escape

from ..approach import OutcomeKind
from .kinds import NOTEBOOK_FILES
from .render import _environment, markdown_to_html

__all__ = ["NOTEBOOK_FILES", "notebook_unavailable", "write_notebook"]
NOTEBOOK_EXTRA = "pip install 'tiktok-claims[notebook]'"
NOTEBOOK_SOURCE = "tiktok_regression.ipynb"
"""The package's copy of ``notebooks/tiktok_regression.ipynb`` (in ``reporting/templates``; a test keeps them equal)."""
CELL_TIMEOUT = 1800
"""Seconds one cell may take: the analysis cell re-runs the whole analysis."""
NOTEBOOK_OPTIONS = (
    "target", "seed", "balance", "threshold_rule", "cv_folds", "cv_repeats", "bootstrap", "calibrate",
    "transform", "stability_refits", "workers",
)
"""The options the notebook passes to ``analyze`` (the notebook runs the local engine only)."""
REQUIRED = ("nbformat", "nbclient", "ipykernel")


def notebook_unavailable() -> str | None:
    """Why the notebook cannot be executed here (a missing package, with the fix), or ``None``."""
    missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return f"notebook.ipynb not written: executing it needs {', '.join(missing)} ({NOTEBOOK_EXTRA})"


def notebook_parameters(analysis) -> tuple[str | None, dict]:
    """The data file (absolute; ``None`` for the built-in synthetic data) and options of ``analysis``."""
    dataset = analysis.dataset
    data = None if dataset.synthetic else str(Path(dataset.source).resolve())
    return data, {name: getattr(analysis.options, name) for name in NOTEBOOK_OPTIONS}


def parameters_source(data: str | None, options: dict) -> str:
    """The source of the injected parameters cell: every value a Python literal made by :func:`repr`."""
    lines = [
        "# Parameters of the run that wrote this notebook (tiktok-claims run --notebook).",
        f"DATA = {data!r}" + ("  # None: the built-in synthetic data, made with OPTIONS['seed']" if data is None else ""),
        "OPTIONS = {",
    ]
    for name, value in options.items():
        if name == "threshold_rule":
            arguments = ", ".join(f"{field}={getattr(value, field)!r}" for field in ("rule", "target_recall", "cost_fn", "cost_fp"))
            literal = f"ThresholdRule({arguments})"
        else:
            literal = repr(value)
        lines.append(f"    {name!r}: {literal},")
    lines.append("}")
    return "\n".join(lines)


def why_not_written(analysis) -> str | None:
    """Why this analysis gets no notebook (missing packages, an outcome or data it cannot re-run), or ``None``."""
    if reason := notebook_unavailable():
        return reason
    if analysis.approach.kind is not OutcomeKind.BINARY:
        return (
            f"notebook.ipynb not written: the notebook follows the course's logistic regression of a binary outcome, "
            f"not --target {analysis.target}"
        )
    if not analysis.dataset.synthetic and not Path(analysis.dataset.source).is_file():
        return "notebook.ipynb not written: the kernel re-reads the data from a file, and this analysis read a DataFrame"
    return None


def write_notebook(analysis, out: Path, timeout: int = CELL_TIMEOUT) -> tuple[dict[str, Path], str | None]:
    """Execute the course notebook against ``analysis``'s data and options; write it and its HTML into ``out``.

    Returns the files written by name, and a one-line note when the notebook was not
    written or a cell failed (the notebook is then written up to that cell's error).
    """
    if reason := why_not_written(analysis):
        return {}, reason
    import nbformat
    from nbclient.exceptions import (
        CellExecutionError,
        CellTimeoutError,
        DeadKernelError,
    )

    notebook = nbformat.reads(files(__package__).joinpath("templates", NOTEBOOK_SOURCE).read_text(encoding="utf-8"), as_version=4)
    inject_parameters(notebook, *notebook_parameters(analysis))
    note = None
    try:
        execute(notebook, timeout)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        first = next((line for line in str(exc).splitlines() if line.strip() and not line.startswith("-")), type(exc).__name__)
        note = f"notebook.ipynb stopped at an error ({_plain(first)[:200]}); the cells up to it are written"
    except (RuntimeError, OSError) as exc:  # the kernel did not start
        return {}, f"notebook.ipynb not written: its kernel did not start ({exc})"
    written = {"notebook.ipynb": out / "notebook.ipynb", "notebook.html": out / "notebook.html"}
    nbformat.write(notebook, written["notebook.ipynb"])
    written["notebook.html"].write_text(notebook_html(notebook), encoding="utf-8")
    return written, note


def inject_parameters(notebook, data: str | None, options: dict) -> None:
    """Replace the source of the cell tagged ``parameters`` by this run's (tagged ``injected-parameters`` too)."""
    cell = next(c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", []))
    cell.source = parameters_source(data, options)
    cell.metadata["tags"] = [*cell.metadata["tags"], "injected-parameters"]


def kernel_environment() -> dict[str, str]:
    """The kernel's environment: this one, with this package first on its path (the kernel runs elsewhere)."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    env.pop("PYTHONWARNINGS", None)
    return env


def execute(notebook, timeout: int) -> None:
    """Run every cell in a fresh ``python3`` kernel of this interpreter, in an empty scratch folder."""
    from ipykernel.kernelspec import get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    class ThisInterpreter(KernelSpecManager):
        """``python3`` is always this interpreter's ipykernel, whatever kernels the user has installed."""

        def get_kernel_spec(self, kernel_name):
            return KernelSpec(resource_dir="", **get_kernel_dict())

    with tempfile.TemporaryDirectory(prefix="tiktok-claims-notebook-") as scratch:
        # Local sockets in the private scratch folder, not TCP ports open to every local user.
        manager = KernelManager(
            kernel_name="python3", kernel_spec_manager=ThisInterpreter(), transport="ipc", ip=str(Path(scratch) / "kernel")
        )
        client = NotebookClient(
            notebook, km=manager, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": scratch}}
        )
        try:
            client.execute(env=kernel_environment(), cwd=scratch)
        finally:
            manager.context.destroy(linger=0)  # the manager's own context and its sockets
            del client, manager
            with warnings.catch_warnings():  # the kernel client's sockets, which jupyter_client leaves to the collector
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()


# ---------------------------------------------------------------- the HTML export

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _plain(text: str) -> str:
    return ANSI.sub("", text)


def notebook_html(notebook, title: str = "TikTok claims: the executed notebook") -> str:
    """The executed notebook as one HTML page: Markdown rendered, code and text escaped, figures inline.

    As in the other documents, whatever may be wider than a phone (code, printed text, tables)
    scrolls in its own container, a named region that takes keyboard focus; a figure has the
    chart's alternative text and, below it, its title as the caption.
    """
    cells, number = [], 0
    for cell in notebook.cells:
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        if cell.cell_type == "markdown":
            cells.append(Markup(f'<section class="cell markdown">{markdown_to_html(source)}</section>'))
            continue
        if cell.cell_type != "code":
            continue
        number += 1
        parts = [f'<pre class="source" {_scrolls(f"Code cell {number}")}><code>{escape(source)}</code></pre>']
        parts += [_output_html(output, number, _last_line(source)) for output in cell.get("outputs", [])]
        cells.append(Markup(f'<section class="cell code">{"".join(parts)}</section>'))
    return _environment().get_template("notebook.html.j2").render(title=title, cells=cells)


def _scrolls(label: str) -> str:
    """The attributes of a scroll container a keyboard can reach (axe-core: scrollable-region-focusable)."""
    return f'role="region" aria-label="{escape(label)}" tabindex="0"'


def _last_line(source: str, limit: int = 80) -> str:
    """The cell's last line (the expression whose value it shows), shortened to ``limit`` characters."""
    line = next((line.strip() for line in reversed(source.splitlines()) if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "\u2026"


def _output_html(output, number: int, expression: str = "") -> str:
    kind = output.get("output_type")
    label = f"Output of code cell {number}"
    if kind == "stream":
        return f'<pre class="output" {_scrolls(label)}>{escape(_plain(output.get("text", "")))}</pre>'
    if kind == "error":
        traceback = _plain(chr(10).join(output.get("traceback", [])))
        return f'<pre class="output error" {_scrolls(f"Error in code cell {number}")}>{escape(traceback)}</pre>'
    data = output.get("data", {})
    if "image/png" in data:
        png = "".join(data["image/png"].split())
        base64.b64decode(png, validate=True)  # only a base64 image is written into the page
        alt = escape(_plain(data.get("text/plain", f"Figure of code cell {number}")))
        caption = output.get("metadata", {}).get("image/png", {}).get("title")
        caption = f"<figcaption>{escape(caption)}</figcaption>" if isinstance(caption, str) and caption else ""
        return f'<figure class="output"><img src="data:image/png;base64,{png}" alt="{alt}">{caption}</figure>'
    if "text/markdown" in data:
        return f'<div class="output">{markdown_to_html(data["text/markdown"])}</div>'
    if "text/html" in data and (tables := _TableReader.read(data["text/html"])):
        caption = f"Output of {expression}" if expression else label
        return "".join(
            _table_html(table, caption if len(tables) == 1 else f"{caption} ({index})")
            for index, table in enumerate(tables, start=1)
        )
    return f'<pre class="output" {_scrolls(label)}>{escape(_plain(data.get("text/plain", "")))}</pre>'


class _TableReader(HTMLParser):
    """The text of every cell of every table in an HTML output (pandas' tables), and nothing else.

    Only the cells' text and their spans are kept: the page's table is written anew, escaped,
    as the other documents write theirs, so no markup of the output reaches the page.
    """

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables, self.section, self.skipping = [], "tbody", 0

    @classmethod
    def read(cls, html) -> list[list[tuple[str, list[dict]]]]:
        reader = cls()
        reader.feed(html if isinstance(html, str) else "".join(html))
        reader.close()
        return [table for table in reader.tables if table]

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self.skipping += 1
        elif tag == "table":
            self.tables.append([])
            self.section = "tbody"
        elif tag in ("thead", "tbody", "tfoot") and self.tables:
            self.section = "thead" if tag == "thead" else "tbody"
        elif tag == "tr" and self.tables:
            self.tables[-1].append((self.section, []))
        elif tag in ("th", "td") and self.tables and self.tables[-1]:
            spans = {name: int(value) for name, value in attrs if name in ("colspan", "rowspan") and re.fullmatch(r"[0-9]{1,4}", value or "")}
            self.tables[-1][-1][1].append({"tag": tag, "text": "", **spans})

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self.skipping = max(0, self.skipping - 1)

    def handle_data(self, data):
        if not self.skipping and self.tables and self.tables[-1] and self.tables[-1][-1][1]:
            self.tables[-1][-1][1][-1]["text"] += data


def _table_html(rows: list[tuple[str, list[dict]]], caption: str) -> str:
    """One table of an output, in a scroll container, with a caption and scoped headers.

    A header cell with no text (pandas' corner above the index) is an empty data cell: a
    header must name something (axe-core: empty-table-header).
    """
    sections = {"thead": [], "tbody": []}
    for section, cells in rows:
        written = []
        for cell in cells:
            text = " ".join(cell["text"].split())
            spans = "".join(f' {name}="{cell[name]}"' for name in ("colspan", "rowspan") if cell.get(name, 1) > 1)
            if cell["tag"] == "th" and text:
                scope = ("colgroup" if cell.get("colspan", 1) > 1 else "col") if section == "thead" else (
                    "rowgroup" if cell.get("rowspan", 1) > 1 else "row")
                written.append(f'<th scope="{scope}"{spans}>{escape(text)}</th>')
            else:
                written.append(f"<td{spans}>{escape(text)}</td>")
        sections[section].append(f"<tr>{''.join(written)}</tr>")
    body = "".join(f"<{name}>{''.join(sections[name])}</{name}>" for name in sections if sections[name])
    return (
        f'<div class="output table-scroll" {_scrolls(caption)}><table>'
        f"<caption>{escape(caption)}</caption>{body}</table></div>"
    )
