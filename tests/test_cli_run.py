"""``tiktok-claims run`` in-process: every output, its numbers, determinism and escaping.

Three runs per session: the real data once (the session fixture ``real_run`` of
conftest.py, shared with other modules), a small generated file whose path holds HTML,
and the built-in synthetic data (scaled down to keep the suite fast).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape
from typer.testing import CliRunner

from tiktok_claims import config
from tiktok_claims.cli import app
from tiktok_claims.data.synthetic import write_synthetic

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HOSTILE_NAME = "<b>x</b>"
HOSTILE_TRANSCRIPT = '<script>alert("t")</script> =1+2 <img src=x onerror=alert(2)>'
FAST = ("--cv-folds", "2", "--bootstrap", "100")
TEST_METRICS = ("roc_auc", "average_precision", "accuracy", "precision", "recall", "f1", "base_rate")
COEFFICIENT_FIELDS = ("name", "coef", "se", "p_value", "ci_low", "ci_high", "odds_ratio")


def invoke(*args: str):
    """Run the CLI in-process; fail if an exception escaped (a user would see a traceback)."""
    result = CliRunner().invoke(app, list(args))
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not escaped, f"uncaught {result.exception!r}; output: {result.output}"
    return result


@pytest.fixture(scope="session")
def metrics(real_run):
    return json.loads((real_run.out / "metrics.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def report_html(real_run):
    return (real_run.out / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory):
    """A valid generated file whose path holds HTML, with an HTML/formula transcript repeated."""
    path = tmp_path_factory.mktemp("hostile") / f"{HOSTILE_NAME}.csv"
    path.parent.mkdir(parents=True)
    write_synthetic(path, rows=3_000, seed=5)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[frame.index[:40], config.TRANSCRIPT] = HOSTILE_TRANSCRIPT
    frame.to_csv(path, index=False)
    out = path.parent / "out"
    result = invoke("run", "--data", str(path), "--out", str(out), "--quiet", *FAST)
    assert result.exit_code == 0, result.output
    return SimpleNamespace(path=path, out=out)


@pytest.fixture(scope="session")
def synthetic_run(tmp_path_factory):
    """``run`` without ``--data``: the built-in synthetic data (3,000 rows instead of the default)."""
    out = tmp_path_factory.mktemp("synthetic") / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config, "SYNTHETIC_DEFAULT_ROWS", 3_000)
        result = invoke("run", "--out", str(out), "--quiet", *FAST)
    assert result.exit_code == 0, result.output
    return out


# ---------------------------------------------------------------- the real run


def test_run_exits_0_and_writes_every_output(real_run):
    out = real_run.out

    assert real_run.result.stdout == f"{out}\n"
    assert real_run.result.stderr == ""
    for name in ("report.html", "report.md", "metrics.json", "coefficients.csv", "set_aside_rows.csv", "model.json"):
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0, name
    figures = sorted((out / "figures").glob("*.png"))
    assert len(figures) >= 7
    for figure in figures:
        assert figure.read_bytes().startswith(PNG_SIGNATURE), figure.name


def test_metrics_account_for_every_row_and_name_the_data(metrics, real_data_path):
    data = metrics["data"]

    assert data["rows_read"] == 19_382
    assert data["rows_used"] == 19_084
    assert list(data["rows_set_aside"].values()) == [298]
    assert data["rows_read"] == data["rows_used"] + sum(data["rows_set_aside"].values())
    assert data["sha256"] == hashlib.sha256(real_data_path.read_bytes()).hexdigest()
    assert data["source"] == str(real_data_path)
    assert data["synthetic"] is False


def test_metrics_record_the_model_and_its_test_metrics(metrics):
    assert metrics["target"] == config.VERIFIED
    assert metrics["positive_class"] == "verified"
    assert "logistic" in metrics["model_family"]
    for key in TEST_METRICS:
        assert 0 <= metrics["test"][key] <= 1, key
    assert metrics["test"]["n"] == metrics["split"]["test_rows"] == 4_771
    names = [c["name"] for c in metrics["coefficients"]]
    assert names[0] == "const" and f"{config.CLAIM}_opinion" in names
    for coefficient in metrics["coefficients"]:
        assert set(COEFFICIENT_FIELDS) <= set(coefficient), coefficient["name"]
        assert coefficient["odds_ratio"] == pytest.approx(np.exp(coefficient["coef"]), rel=1e-12)


def test_coefficients_csv_matches_metrics_json(real_run, metrics):
    table = pd.read_csv(real_run.out / "coefficients.csv", keep_default_na=False)
    recorded = pd.DataFrame(metrics["coefficients"])

    assert list(table.columns) == list(recorded.columns)
    assert list(table["name"]) == list(recorded["name"])
    assert list(table["unit"]) == list(recorded["unit"])
    numeric = [c for c in recorded.columns if c not in ("name", "unit")]
    written = table[numeric].replace("", np.nan).to_numpy(float)  # the constant has no Holm-adjusted p-value
    np.testing.assert_allclose(written, recorded[numeric].to_numpy(float), rtol=1e-12, equal_nan=True)


def test_set_aside_rows_csv_lists_every_row_set_aside(real_run, metrics):
    rows = pd.read_csv(real_run.out / "set_aside_rows.csv")

    assert len(rows) == 298
    assert rows["reason"].value_counts().to_dict() == metrics["data"]["rows_set_aside"]
    assert rows["line"].is_unique


def test_two_runs_with_the_same_seed_give_identical_metrics(metrics, real_analysis):
    in_process = json.loads(json.dumps(real_analysis.metrics(), allow_nan=False))
    ignored = {"command", "timings"}  # how the run was started and how long it took, not what it computed

    for key, value in in_process.items():
        if key in ignored:
            continue
        if key == "tool":
            assert {k: v for k, v in metrics[key].items() if k != "created"} == {
                k: v for k, v in value.items() if k != "created"
            }
            continue
        assert metrics[key] == value, key


def test_report_html_is_self_contained(report_html):
    sources = re.findall(r"""\bsrc\s*=\s*["']?([^"'\s>]*)""", report_html)
    linked = re.findall(r"""<link\b[^>]*\bhref\s*=\s*["']?([^"'\s>]*)""", report_html)

    assert len(sources) >= 7
    for source in sources:
        assert source.startswith("data:image/png;base64,"), source[:60]
        assert base64.b64decode(source.split(",", 1)[1]).startswith(PNG_SIGNATURE)
    assert linked == []
    assert "url(" not in report_html


def test_report_quotes_the_recorded_numbers(report_html, metrics):
    ci = metrics["test_ci"]["roc_auc"]

    assert f"ROC-AUC is {ci['estimate']:.3f} (95% CI {ci['ci_low']:.3f}–{ci['ci_high']:.3f}" in report_html
    significant = [f for f in metrics["findings"] if f["significant"]]
    assert significant
    for finding in significant:
        assert str(escape(finding["sentence"])) in report_html


def test_real_report_has_no_synthetic_banner(real_run, report_html):
    assert "SYNTHETIC" not in report_html
    assert "SYNTHETIC" not in (real_run.out / "report.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------- escaping and the banner


def test_path_and_transcripts_from_the_data_are_escaped_in_html(hostile_run):
    html = (hostile_run.out / "report.html").read_text(encoding="utf-8")
    record = json.loads((hostile_run.out / "metrics.json").read_text(encoding="utf-8"))

    assert HOSTILE_NAME in record["data"]["source"]
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert HOSTILE_NAME not in html
    assert str(escape(HOSTILE_TRANSCRIPT)) in html
    assert "<script>alert" not in html and "<img src=x" not in html


def test_no_document_carries_raw_html_from_the_data(hostile_run):
    html = sorted(hostile_run.out.glob("*.html"))
    markdown = sorted(hostile_run.out.glob("*.md"))

    assert len(html) >= 2 and len(markdown) >= 2
    for document in html:
        text = document.read_text(encoding="utf-8")
        assert re.search(r"<(?:b>x|script>alert|img src=x)", text) is None, document.name
    for document in markdown:
        # In Markdown a tag is inert once its "<" is escaped with a backslash.
        text = document.read_text(encoding="utf-8")
        assert re.search(r"(?<!\\)<(?:b>x|script>alert|img src=x)", text) is None, document.name


def test_synthetic_run_shows_the_banner(synthetic_run):
    html = (synthetic_run / "report.html").read_text(encoding="utf-8")
    markdown = (synthetic_run / "report.md").read_text(encoding="utf-8")
    record = json.loads((synthetic_run / "metrics.json").read_text(encoding="utf-8"))

    assert record["data"]["synthetic"] is True
    assert re.search(r'class="banner"[^>]*>SYNTHETIC DATA', html)
    assert "**SYNTHETIC DATA**" in markdown


# ---------------------------------------------------------------- the output folder, whole or untouched


def test_too_few_rows_of_a_class_is_a_clean_refusal_that_creates_no_folder(tmp_path):
    data = tmp_path / "few.csv"
    frame = pd.read_csv(write_synthetic(tmp_path / "pool.csv", rows=3000, seed=5)).dropna()
    pd.concat([frame[frame[config.VERIFIED] == "not verified"].head(400), frame[frame[config.VERIFIED] == "verified"].head(7)]).to_csv(data, index=False)
    out = tmp_path / "new" / "out"
    result = invoke("run", "--data", str(data), "--out", str(out), "--quiet")
    assert result.exit_code == 1
    assert "'verified' in only 7 of 407 used rows" in result.stderr and "at least 20 rows of each level" in result.stderr
    assert not (tmp_path / "new").exists()


def test_an_unknown_start_method_is_a_clean_refusal_that_creates_no_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOK_CLAIMS_START_METHOD", "teleport")  # read as the summary's printer starts
    out = tmp_path / "new" / "out"
    result = invoke("run", "--out", str(out), "--quiet", "--workers", "2", *FAST)
    assert result.exit_code == 1
    assert "Error: TIKTOK_CLAIMS_START_METHOD='teleport' is not a start method of this platform" in result.stderr
    assert not (tmp_path / "new").exists()


def test_a_run_interrupted_by_sigterm_leaves_the_previous_runs_folder_as_it_was(tmp_path):
    out = tmp_path / "out"
    assert invoke("run", "--out", str(out), "--quiet", *FAST).exit_code == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    command = [sys.executable, "-c", "from tiktok_claims.cli import main; main()", "run", "--out", str(out), "--quiet", "--seed", "3"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(out.glob(".tiktok-claims-staging-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # well into the analysis
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert b"Traceback" not in stderr
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.parametrize("delay", [0.2, 0.6, 1.0], ids=["while-importing", "while-the-printer-loads", "during-the-analysis"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_to_the_group_stops_the_run_and_its_workers_without_a_traceback(tmp_path, delay, signum):
    out = tmp_path / "out"
    command = [sys.executable, "-c", "from tiktok_claims.cli import main; main()", "run", "--out", str(out), "--quiet", "--workers", "2"]
    # Ctrl-C in a terminal signals every process of the foreground group: the command and its
    # workers; so does SIGTERM from `timeout`, or `kill -- -group`.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    if delay > 0.7:
        deadline = time.monotonic() + 60
        while not list(out.glob(".tiktok-claims-staging-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
    time.sleep(delay)
    os.killpg(process.pid, signum)
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == 128 + signum, stderr
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")
    deadline = time.monotonic() + 10  # multiprocessing's helpers notice the command's exit and follow
    while _running_in_group(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _running_in_group(process.pid) == []  # no worker of the run is left behind
    assert not out.exists()


def _running_in_group(group: int) -> list[str]:
    """The processes of a process group that still run (not the exited ones awaiting their reaper).

    Under spawn and forkserver, multiprocessing's helper processes exit with the command; on
    a machine whose init does not reap orphans at once they linger as zombies, which hold
    nothing and run nothing.
    """
    if not Path("/proc").is_dir():  # no /proc: whether the group is empty (zombies included)
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return []
        return [f"process group {group}"]
    running = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # gone meanwhile
            continue
        state, process_group = fields[0], int(fields[2])
        if process_group == group and state != "Z":
            running.append(stat.parent.name)
    return running


def test_a_run_of_another_kind_replaces_the_previous_runs_files_and_keeps_the_users(tmp_path):
    out = tmp_path / "out"
    assert invoke("run", "--out", str(out), "--quiet", *FAST).exit_code == 0
    (out / "my_notes.txt").write_text("mine")
    binary_only = {"technical_summary.md", "pace_strategy.md", "model_card.md"}
    assert binary_only <= {p.name for p in out.iterdir()}
    assert invoke("run", "--out", str(out), "--quiet", "--target", config.DURATION).exit_code == 0
    names = {p.name for p in out.iterdir()}
    assert not binary_only & names, "files of the earlier run do not lie beside the new one"
    assert "my_notes.txt" in names
    metrics = json.loads((out / "metrics.json").read_text())
    assert {f"figures/{p.name}" for p in (out / "figures").iterdir()} == {f["file"] for f in metrics["figures"]}


@pytest.mark.parametrize("where", ["file", "under-file", "foreign"])
def test_an_output_folder_that_cannot_be_written_whole_is_refused_before_the_work(tmp_path, where):
    blocker = tmp_path / "blocker"
    if where == "foreign":
        blocker.mkdir()
        (blocker / "report.html").write_text("a user's report")
    else:
        blocker.write_text("a user's file")
    out = blocker / "out" if where == "under-file" else blocker
    started = time.perf_counter()
    result = invoke("run", "--out", str(out), "--quiet")
    assert result.exit_code == 1 and result.stderr.startswith("Error: --out")
    assert time.perf_counter() - started < 5, "refused before the analysis"
    assert "a user's" in ((blocker / "report.html") if where == "foreign" else blocker).read_text()


# ---------------------------------------------------------------- run --notebook


def _notebook_markdown(notebook: dict) -> str:
    return "".join(
        "".join(output.get("data", {}).get("text/markdown", ""))
        for cell in notebook["cells"] if cell["cell_type"] == "code" for output in cell["outputs"]
    )


def test_run_notebook_writes_the_executed_notebook_with_charts_and_its_html(real_data_path, tmp_path):
    out = tmp_path / "out"
    result = invoke("run", str(real_data_path), "--out", str(out), "--quiet", "--notebook", "--seed", "7", *FAST)

    assert result.exit_code == 0, result.output
    notebook = json.loads((out / "notebook.ipynb").read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    outputs = [output for cell in code for output in cell["outputs"]]
    assert not [output for output in outputs if output["output_type"] == "error"]
    charts = [cell for cell in code if "".join(cell["source"]).startswith("figures.")]
    assert len(charts) == 5
    for cell in charts:  # the chart itself, not "<Figure size 500x340 with 1 Axes>"
        assert [o for o in cell["outputs"] if "image/png" in o.get("data", {})], cell["source"]
        assert not any("<Figure size" in "".join(o.get("data", {}).get("text/plain", "")) for o in cell["outputs"])
    # The run's parameters reached the kernel: its analysis is the run's.
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    markdown = _notebook_markdown(notebook)
    assert f"**Outcome** `{metrics['target']}`, **seed** {metrics['seed']}:" in markdown
    assert metrics["seed"] == 7
    flagged = metrics["threshold"]["per_1000_videos"]
    assert f"Per 1,000 videos it flags {flagged['flagged']:.0f}, of which {flagged['flagged_positive']:.0f}" in markdown
    parameters = next(cell for cell in code if "parameters" in cell["metadata"].get("tags", []))
    assert f"DATA = {str(real_data_path.resolve())!r}" in "".join(parameters["source"])
    # The HTML export: every chart inline, on a page like the other documents.
    page = (out / "notebook.html").read_text(encoding="utf-8")
    assert page.count('<img src="data:image/png;base64,') == len(charts)
    assert '<html lang="en">' in page and 'name="viewport"' in page and "<main>" in page
    # Both are the run's files (in its manifest), and the rest of the run is there.
    manifest = json.loads((out / ".tiktok-claims-manifest.json").read_text(encoding="utf-8"))
    assert {"notebook.ipynb", "notebook.html", "report.html", "model.json"} <= set(manifest["files"])


def test_run_notebook_without_nbclient_writes_everything_else_and_one_note(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "nbclient", None)  # as if the notebook extra were not installed
    monkeypatch.setattr(config, "SYNTHETIC_DEFAULT_ROWS", 3_000)
    out = tmp_path / "out"
    result = invoke("run", "--out", str(out), "--quiet", "--notebook", *FAST)

    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file() and (out / "model.json").is_file()
    assert not (out / "notebook.ipynb").exists() and not (out / "notebook.html").exists()
    notes = [line for line in result.stderr.splitlines() if "notebook" in line]
    assert notes == ["Note: notebook.ipynb not written: executing it needs nbclient (pip install 'tiktok-claims[notebook]')."]


def test_run_without_notebook_writes_no_notebook(synthetic_run):
    assert not (synthetic_run / "notebook.ipynb").exists()
