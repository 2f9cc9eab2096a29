"""The printer (``reporting/printer.py``): the process started before the analysis, which
has matplotlib and WeasyPrint loaded when the data and then the results come, draws the
exploratory figures while the models are fitted and the rest with the summary after, as
the workers would; leaves them to this process if it dies; and stops with a command that
stops early."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from tiktok_claims import analyze
from tiktok_claims.data.synthetic import write_synthetic
from tiktok_claims.parallel import InProcess
from tiktok_claims.reporting.kinds import BINARY, Chart
from tiktok_claims.reporting.pdf import pdf_unavailable
from tiktok_claims.reporting.printer import PRINTER_MODULES, Printer, printer_process
from tiktok_claims.reporting.render import (
    draw_figures,
    render_executive_summary,
    write_outputs,
)


def _loaded(names: tuple[str, ...]) -> dict[str, bool]:
    """In the printer: which of ``names`` are imported (a module-level function, so that it pickles)."""
    return {name: name in sys.modules for name in names}


class Recording(Executor):
    """An executor that hands each job to ``inner`` and records which functions it was given."""

    def __init__(self, inner: Executor):
        self.inner, self.functions = inner, []

    def submit(self, fn, /, *args, **kwargs):
        self.functions.append(fn)
        return self.inner.submit(fn, *args, **kwargs)


def test_no_printer_process_with_one_worker():
    with printer_process(1) as printer:
        assert printer is None


def test_the_printer_has_the_renderer_and_weasyprint_loaded_before_its_first_summary():
    assert pdf_unavailable() is None, "the test environment prints PDFs ([pdf] extra and Pango)"
    with printer_process(2) as printer:
        loaded = printer.submit(_loaded, (*PRINTER_MODULES, "matplotlib", "weasyprint")).result(timeout=120)

    assert loaded == {name: True for name in (*PRINTER_MODULES, "matplotlib", "weasyprint")}


def test_a_command_stopped_early_stops_its_printer():
    with pytest.raises(KeyError):
        with printer_process(2) as printer:
            raise KeyError("refused")

    with pytest.raises(RuntimeError):  # shut down: it takes no more work
        printer.submit(int)


@pytest.fixture(scope="module")
def small_analysis(tmp_path_factory):
    path = tmp_path_factory.mktemp("pdf") / "videos.csv"
    write_synthetic(path, rows=2_000, seed=3)
    return analyze(str(path), cv_folds=2, cv_repeats=1, bootstrap=100, stability_refits=20)


def test_the_printer_prints_the_summary_the_workers_would_print(small_analysis, tmp_path):
    with printer_process(2) as started:
        printer = Recording(started)
        by_printer = write_outputs(small_analysis, tmp_path / "printer", printer=printer)
    by_workers = write_outputs(small_analysis, tmp_path / "workers")

    assert printer.functions == [draw_figures, render_executive_summary]  # the figures, the summary, nothing else
    assert set(by_printer) == set(by_workers) and "executive_summary.pdf" in by_printer
    figures = [name for name in by_printer if name.startswith("figures/")]
    assert len(figures) == 11
    for name in ("executive_summary.html", *figures):
        assert by_printer[name].read_bytes() == by_workers[name].read_bytes(), name
    assert by_printer["executive_summary.pdf"].read_bytes().startswith(b"%PDF-")


class DiesWhilePrinting(Executor):
    """A printer whose process dies with the job it was given (killed, out of memory)."""

    def submit(self, fn, /, *args, **kwargs):
        future = Future()
        future.set_exception(BrokenProcessPool("A child process terminated abruptly, the process pool is not usable anymore"))
        return future


class DiesAtTheSummary(Executor):
    """A printer that draws the figures (here, in this process) and dies with the summary."""

    def submit(self, fn, /, *args, **kwargs):
        if fn is render_executive_summary:
            return DiesWhilePrinting().submit(fn, *args, **kwargs)
        return InProcess().submit(fn, *args, **kwargs)


def test_a_printer_that_died_before_the_summary_leaves_it_to_the_workers(small_analysis, tmp_path):
    with printer_process(2) as printer:
        with pytest.raises(BrokenProcessPool):
            printer.submit(os._exit, 1).result(timeout=120)  # its process ends
        written = write_outputs(small_analysis, tmp_path / "out", printer=printer)

    assert written["executive_summary.pdf"].read_bytes().startswith(b"%PDF-")


def test_a_printer_that_dies_while_printing_leaves_the_summary_to_the_workers(small_analysis, tmp_path):
    written = write_outputs(small_analysis, tmp_path / "out", printer=DiesWhilePrinting())

    assert written["executive_summary.pdf"].read_bytes().startswith(b"%PDF-")


def test_a_printer_that_dies_after_the_figures_leaves_the_summary_to_this_process(small_analysis, tmp_path):
    written = write_outputs(small_analysis, tmp_path / "out", printer=DiesAtTheSummary())

    assert written["executive_summary.pdf"].read_bytes().startswith(b"%PDF-")
    assert len([name for name in written if name.startswith("figures/")]) == 11


def test_the_summary_given_the_chart_drawn_with_the_figures_is_the_summary_that_draws_its_own(small_analysis, tmp_path):
    metrics = small_analysis.metrics()
    drawn = write_outputs(small_analysis, tmp_path / "run", metrics=metrics)
    png = drawn["figures/verdict.png"].read_bytes()

    (tmp_path / "given").mkdir()
    given = render_executive_summary(metrics, tmp_path / "given", png)
    own = render_executive_summary(metrics, tmp_path / "own")

    assert set(given) == set(own)
    assert given["executive_summary.html"].read_bytes() == own["executive_summary.html"].read_bytes()
    assert own["figures/verdict.png"].read_bytes() == png
    assert not given["figures/verdict.png"].exists()  # the caller wrote it with the other figures: written once
    assert metrics["figures"][-1]["file"] == "figures/verdict.png"  # listed last, after the report's figures



class Counting(Executor):
    """An in-process executor that records the charts of each ``draw_figures`` job it is given."""

    def __init__(self):
        self.drawn_jobs = []

    def submit(self, fn, /, *args, **kwargs):
        if fn is draw_figures:
            self.drawn_jobs.append([builder for builder, _ in args[0]])
        return InProcess().submit(fn, *args, **kwargs)


# ---------------------------------------------------------------- the exploratory figures, drawn early


class Hook:
    """An ``on_explored`` hook that records what it was given, and may refuse."""

    def __init__(self, refuse: bool = False):
        self.calls, self.refuse = [], refuse

    def __call__(self, dataset, approach, eda):
        self.calls.append((dataset, approach, eda))
        if self.refuse:
            raise KeyError("stop here")


def test_analyze_hands_the_explored_data_to_the_hook_before_any_model(tmp_path):
    path = tmp_path / "videos.csv"
    write_synthetic(path, rows=600, seed=5)
    hook = Hook()

    result = analyze(str(path), cv_folds=2, bootstrap=100, stability_refits=0, workers=1, on_explored=hook)

    ((dataset, approach, eda),) = hook.calls
    assert dataset is result.dataset and eda is result.eda and approach is result.approach
    with pytest.raises(KeyError, match="stop here"):
        analyze(str(path), cv_folds=2, bootstrap=100, stability_refits=0, workers=1, on_explored=Hook(refuse=True))


def test_the_printer_draws_the_exploratory_figures_early_and_the_rest_after(small_analysis, tmp_path):
    reference = write_outputs(small_analysis, tmp_path / "workers")
    with printer_process(2) as printer:
        printer.explored(small_analysis.dataset, small_analysis.approach, small_analysis.eda)
        recording = Recording(printer)
        recording.early_figures = printer.early_figures
        written = write_outputs(small_analysis, tmp_path / "printer", printer=recording)
        other_data = printer.early_figures(small_analysis.dataset.frame.copy(), small_analysis.eda)

    assert recording.functions == [draw_figures, render_executive_summary]
    assert other_data is None  # figures of other data are never taken for these
    figures = [name for name in written if name.startswith("figures/")]
    assert figures == [name for name in reference if name.startswith("figures/")] and len(figures) == 11
    for name in (*figures, "executive_summary.html", "report.md"):
        assert written[name].read_bytes() == reference[name].read_bytes(), name


def test_the_model_figures_are_drawn_without_the_exploratory_ones_when_those_were_drawn_early(small_analysis, tmp_path):

    counting = Counting()
    printer = Printer(counting)
    printer.explored(small_analysis.dataset, small_analysis.approach, small_analysis.eda)
    write_outputs(small_analysis, tmp_path / "out", printer=printer)

    early, late = counting.drawn_jobs
    assert early == [Chart("class_balance"), Chart("count_distributions"), Chart("correlation_heatmap"), Chart("text_length_by_class")]
    assert not set(early) & set(late) and late[-1] == Chart("verdict_chart")


def test_analyze_hands_the_test_part_results_to_the_hook_before_the_cross_validation_ends(tmp_path, monkeypatch):
    from tiktok_claims.evaluation.cross_validation import PendingCrossValidation

    path = tmp_path / "videos.csv"
    write_synthetic(path, rows=600, seed=5)
    calls, waited = [], []
    wait = PendingCrossValidation.result

    def waiting(pending):
        waited.append(len(calls))  # how many times the hook had been called when the folds were waited for
        return wait(pending)

    monkeypatch.setattr(PendingCrossValidation, "result", waiting)

    result = analyze(
        str(path), cv_folds=2, bootstrap=100, stability_refits=0, workers=1,
        on_evaluated=lambda approach, results: calls.append((approach, results)),
    )

    ((approach, results),) = calls
    assert approach is result.approach and waited == [1]  # called before the cross-validation was waited for
    assert results.evaluation is result.evaluation and results.assumptions is result.assumptions
    assert results.calibration_curve is result.calibration_curve and results.calibration_summary is result.calibration_summary


def test_the_printer_draws_the_model_figures_from_the_test_part_results(small_analysis, tmp_path):
    from tiktok_claims.analysis import TestPartResults

    reference = write_outputs(small_analysis, tmp_path / "workers")

    a = small_analysis
    results = TestPartResults(a.evaluation, a.calibration_curve, a.calibration_summary, a.assumptions)
    counting = Counting()
    printer = Printer(counting)
    printer.explored(a.dataset, a.approach, a.eda)
    printer.evaluated(a.approach, results)
    written = write_outputs(a, tmp_path / "printer", printer=printer)

    exploration, model, late = counting.drawn_jobs
    assert model == [builder for builder, _ in BINARY.model_jobs(a)] and late == [Chart("verdict_chart")]
    figures = [name for name in written if name.startswith("figures/")]
    assert figures == [name for name in reference if name.startswith("figures/")] and len(figures) == 11
    for name in (*figures, "executive_summary.html", "report.md"):
        assert written[name].read_bytes() == reference[name].read_bytes(), name
    # Figures of other results (an equal copy is not the same object) are never taken for these.
    other = TestPartResults(a.evaluation, a.calibration_curve, dict(a.calibration_summary), a.assumptions)
    printer.evaluated(a.approach, other)
    assert printer.model_figures(a) is None


def test_a_printer_that_died_before_the_data_came_leaves_every_figure_to_this_process(small_analysis, tmp_path):
    with printer_process(2) as printer:
        with pytest.raises(BrokenProcessPool):
            printer.submit(os._exit, 1).result(timeout=120)
        printer.explored(small_analysis.dataset, small_analysis.approach, small_analysis.eda)  # no error
        assert printer.early_figures(small_analysis.dataset.frame, small_analysis.eda) is None
        written = write_outputs(small_analysis, tmp_path / "out", printer=printer)

    assert len([name for name in written if name.startswith("figures/")]) == 11
    assert written["executive_summary.pdf"].read_bytes().startswith(b"%PDF-")


def test_the_printer_draws_in_its_own_process_and_starts_none(small_analysis, monkeypatch):
    # A process the printer started would hold open the pipe that tells the command the
    # printer died (the command would wait for it forever) and outlive it.
    def no_process(self):
        raise AssertionError("draw_figures started a process")

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", no_process)
    jobs = BINARY.figure_jobs(small_analysis)

    drawn = draw_figures(jobs)

    assert [meta["name"] for meta, _ in drawn] == [builder(*arguments).name for builder, arguments in jobs]
    assert all(png.startswith(b"\x89PNG") for _, png in drawn)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the printer's process in /proc")
def test_a_run_whose_printer_is_killed_while_drawing_still_writes_every_file(tmp_path):
    data, out = tmp_path / "videos.csv", tmp_path / "out"
    write_synthetic(data, rows=3_000, seed=4)
    command = [sys.executable, "-m", "tiktok_claims", "run", str(data), "--out", str(out), "--cv-folds", "2"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = False
    for line in run.stderr:  # the progress lines
        if "Drawing figures" in line:
            printer = min(int(pid) for pid in Path(f"/proc/{run.pid}/task/{run.pid}/children").read_text().split())
            os.kill(printer, signal.SIGKILL)
            killed = True
            break
    try:
        run.communicate(timeout=120)
    finally:
        run.kill()

    assert killed and run.returncode == 0
    assert len(list((out / "figures").glob("*.png"))) == 11
    assert (out / "executive_summary.pdf").read_bytes().startswith(b"%PDF-")
