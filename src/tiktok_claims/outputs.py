"""The files of a run, written as a whole: the one way both ``run`` and :meth:`Analysis.write
<tiktok_claims.analysis.results.Results.write>` write them.

A run's folder (:func:`run_folder`) is checked and locked before the work; the documents
(:func:`tiktok_claims.reporting.render.write_outputs`) and the model
(:func:`tiktok_claims.artifact.store.save_artifact`) are written into its private staging
folder and moved into place together (:class:`tiktok_claims.folders.OutputFolder`). With
``notebook=True`` the course notebook, executed against the run's data and options
(:mod:`tiktok_claims.reporting.notebook`), is staged with them.
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path

from .artifact.store import ARTIFACT_FILES, save_artifact
from .folders import FIGURES, OutputFolder
from .reporting.kinds import RUN_FILES
from .reporting.notebook import write_notebook
from .reporting.render import write_outputs
from .timing import Progress

RUN_OUTPUTS: tuple[str, ...] = (*RUN_FILES, *ARTIFACT_FILES)
"""Every file a run may write at the top of its folder (besides the figures)."""


def run_folder(out: str | Path) -> OutputFolder:
    """The output folder of a run, to enter (check and lock) before the work starts; its ``figures/`` is the run's whole."""
    return OutputFolder(out, RUN_OUTPUTS, owned=(FIGURES,))


def write_into(
    folder: OutputFolder, analysis, metrics: dict | None = None, progress: Progress | None = None, *,
    notebook: bool = False, notes: list[str] | None = None, printer: Executor | None = None,
) -> dict[str, Path]:
    """Write a finished analysis's documents and model into an entered ``folder`` and commit them.

    ``metrics`` is ``analysis.metrics()`` when the caller has it already (the renderer adds
    the figures and its timings to it). ``notebook``: also execute the course notebook
    against this run (it re-runs the analysis in a kernel); a one-line note on a notebook
    that was not written (or stopped at an error), and the folder's notes (a killed run's
    move completed, manifest entries left alone), are appended to ``notes``. ``printer``
    (:func:`tiktok_claims.reporting.printer.printer_process`) draws the figures and prints the
    executive summary. Returns every file of the folder's new manifest, by its path
    relative to the folder.
    """
    metrics = analysis.metrics() if metrics is None else metrics
    write_outputs(analysis, folder.staging, metrics, progress=progress, printer=printer)
    save_artifact(analysis, folder.staging, metrics)
    if notebook:
        if progress is not None:
            progress("Executing the notebook (it re-runs the analysis in a kernel)")
        _, note = write_notebook(analysis, folder.staging)
        if note is not None and notes is not None:
            notes.append(note)
    written = {name: folder.out / name for name in folder.commit()}
    if notes is not None:
        notes.extend(folder.notes)
    return written


def write_run(
    analysis, out: str | Path, *, progress: Progress | None = None, notebook: bool = False, notes: list[str] | None = None
) -> dict[str, Path]:
    """Write every file of ``run`` for a finished analysis into ``out``, as a whole (see :func:`write_into`)."""
    with run_folder(out) as folder:
        return write_into(folder, analysis, progress=progress, notebook=notebook, notes=notes)
