"""The printer: one process, started first, that draws the figures and prints the summary.

matplotlib and WeasyPrint take about a second to load, which ``run`` would spend after
its results exist. :func:`printer_process` starts a worker process at the very start of
the command that loads both (and the renderer) on a core the command's own start-up leaves
idle; the analysis itself never loads matplotlib. The printer then draws the exploratory
figures as soon as the data are explored (:meth:`Printer.explored`, the ``on_explored``
hook of :func:`tiktok_claims.analyze`), while the models are fitted; the model's figures
as soon as the test part is evaluated (:meth:`Printer.evaluated`, the ``on_evaluated``
hook), while the cross-validation runs; and the summary's chart and the summary once the
results exist (:func:`tiktok_claims.reporting.render.write_outputs`), all in its own
process: it starts none. This module imports nothing heavy itself, so that
the printer starts before the rest of the package is imported.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import BrokenExecutor, Executor, Future
from typing import Iterator

from ..parallel import default_workers, early_worker
from .pdf import pdf_unavailable

# What the printer loads before its first job: the renderer (templates) and the figures (matplotlib); then WeasyPrint.
PRINTER_MODULES = ("tiktok_claims.reporting.render", "tiktok_claims.reporting.figures")


class Printer(Executor):
    """The printer's process, taking jobs as any executor, and the exploratory figures it drew early."""

    def __init__(self, process: Executor):
        self._process = process
        self._early: tuple[object, object, Future] | None = None
        self._evaluated: tuple[object, Future] | None = None

    def submit(self, fn, /, *args, **kwargs) -> Future:
        return self._process.submit(fn, *args, **kwargs)

    def explored(self, dataset, approach, eda) -> None:
        """Start drawing the exploratory figures of these data (the ``on_explored`` hook of ``analyze``)."""
        from .kinds import DOCUMENTS
        from .render import draw_figures

        jobs = DOCUMENTS[approach.kind].exploration_jobs(dataset.frame, eda, approach.target)
        try:
            self._early = (dataset.frame, eda, self._process.submit(draw_figures, jobs))
        except BrokenExecutor:  # its process died (killed, out of memory): they are drawn with the rest
            self._early = None

    def evaluated(self, approach, results) -> None:
        """Start drawing the model's figures from the test part's results (the ``on_evaluated`` hook of ``analyze``)."""
        from .kinds import DOCUMENTS
        from .render import draw_figures

        jobs = DOCUMENTS[approach.kind].model_jobs(results)
        try:
            self._evaluated = (results, self._process.submit(draw_figures, jobs))
        except BrokenExecutor:
            self._evaluated = None

    def model_figures(self, analysis) -> list[tuple[dict, bytes]] | None:
        """The model's figures drawn from exactly the results ``analysis`` holds (the same objects); ``None`` if none were.

        They are then the figures of ``model_jobs(analysis)``: the same builders on the same objects.
        """
        if self._evaluated is None:
            return None
        results, future = self._evaluated
        if not all(getattr(analysis, name, None) is value for name, value in vars(results).items()):
            return None
        try:
            return future.result()
        except BrokenExecutor:
            return None

    def early_figures(self, frame, eda) -> list[tuple[dict, bytes]] | None:
        """The exploratory figures drawn for exactly these data (``frame`` and ``eda`` objects); ``None`` if none were."""
        if self._early is None or self._early[0] is not frame or self._early[1] is not eda:
            return None
        try:
            return self._early[2].result()
        except BrokenExecutor:
            return None


@contextlib.contextmanager
def printer_process(workers: int | None = None) -> Iterator[Printer | None]:
    """The printer, started now: its process loads the renderer, matplotlib and WeasyPrint at once.

    Enter it first thing in a command that will draw figures and print the summary: the
    process loads what drawing and printing need while the command imports the rest of
    the package and analyses the data, then draws the figures and prints the summary
    (:func:`tiktok_claims.reporting.render.write_outputs` takes it as ``printer``).

    Parameters
    ----------
    workers : int or None
        The run's ``workers`` option: with one worker (everything in the calling process)
        or one available core there is no printer.

    Yields
    ------
    Printer or None
        The printer, or ``None`` (the figures and the summary are drawn by workers of the command's process).
    """
    if (default_workers() if workers is None else workers) <= 1:
        yield None
        return
    with early_worker(PRINTER_MODULES, warm_printer) as process:
        yield Printer(process)


def warm_printer() -> str | None:
    """The printer's first job: read matplotlib's fonts and load WeasyPrint; why no PDF can be printed, if so."""
    from .figures import warm

    warm()
    return pdf_unavailable()
