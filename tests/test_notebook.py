"""The project notebook runs top to bottom against the real data (CI included)."""

from __future__ import annotations

from pathlib import Path

import nbformat

from tiktok_claims.interpretation.course import QUESTIONS

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "tiktok_regression.ipynb"


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)

    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code_cells)


def test_notebook_executes_against_the_real_data(real_data_path, monkeypatch, tmp_path):
    from nbclient import NotebookClient

    monkeypatch.setenv("TIKTOK_DATA", str(real_data_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("PYTHONWARNINGS", raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    markdown = "".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    assert "Rows read = rows used + rows set aside" in markdown
    assert "Leakage audit" in markdown
    with real_data_path.open(encoding="utf-8") as handle:
        rows_in_file = sum(1 for _ in handle) - 1
    assert f"{rows_in_file:,} =" in markdown  # the accounting quotes the file's own row count
    # Every course question, from the package's one list, asked in order and answered.
    position = 0
    for question in QUESTIONS:
        position = markdown.index(f"**{question.text}**", position) + len(question.text)
    assert "video_view_count and video_like_count" in markdown.replace("\\", "")  # the heatmap pair the course expects
