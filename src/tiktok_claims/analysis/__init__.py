"""The whole analysis, computed once into one results object that every report renders.

:func:`analyze` loads and validates the data, chooses the model family from the
outcome's values, explores the data, then runs the analysis of that kind:
:func:`~tiktok_claims.analysis.binary.analyze_binary` (logistic regression) or
:func:`~tiktok_claims.analysis.families.analyze_family` (ordinal, count, continuous).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from .. import config
from ..approach import Approach, OutcomeKind
from ..data.load import Dataset, dataset_from_frame, load_dataset
from ..data.synthetic import make_synthetic
from ..diagnostics.families import check_family
from ..diagnostics.logistic import check_logistic
from ..eda import explore
from ..errors import AnalysisError
from ..model.features import FeatureSpec, select_features
from ..model.logistic import fit_inference
from ..model.split import encode_target, split
from ..timing import Progress, StageClock
from .binary import Analysis, analyze_binary
from .families import FamilyAnalysis, analyze_family
from .options import AnalysisOptions
from .preflight import preflight

__all__ = ["Analysis", "AnalysisOptions", "FamilyAnalysis", "analyze", "check_assumptions", "load_input"]


def analyze(
    data: str | Path | pd.DataFrame | None = None,
    options: AnalysisOptions | None = None,
    *,
    progress: Progress | None = None,
    **option_values,
) -> Analysis | FamilyAnalysis:
    """Run the whole analysis and return one results object.

    Parameters
    ----------
    data : str, Path, DataFrame or None
        A CSV (``.csv``, ``.csv.gz``) or Parquet file, a DataFrame with the schema's
        columns, or ``None`` for the built-in synthetic dataset.
    options : AnalysisOptions, optional
        Every choice of the analysis; default ``AnalysisOptions()``.
    progress : callable, optional
        Called with a short description as each stage starts.
    **option_values
        Any field of :class:`AnalysisOptions` (``target``, ``seed``, ``balance``,
        ``cv_folds``, ...), overriding ``options``.

    Returns
    -------
    Analysis or FamilyAnalysis
        A binary ``target`` gives an :class:`Analysis` (logistic regression,
        cross-validation, threshold, leakage audit); any other outcome a
        :class:`FamilyAnalysis` (ordinal, count or OLS model).

    Raises
    ------
    OptionsError
        If an option is outside its allowed values.
    DataError
        If the data are unreadable or do not fit the schema.
    AnalysisError
        If the analysis cannot proceed honestly (e.g. a fit does not converge).

    Examples
    --------
    >>> from tiktok_claims import analyze
    >>> result = analyze(seed=1, cv_folds=2)  # doctest: +SKIP
    >>> result.metrics()["test"]["roc_auc"]  # doctest: +SKIP
    """
    options = dataclasses.replace(options or AnalysisOptions(), **option_values)
    clock = StageClock(progress)
    clock.start("load", "Loading and validating the data")
    dataset = load_input(data, options.seed)
    clock.start("approach", "Choosing the modeling approach")
    approach = preflight(dataset, options)
    if options.engine != "local" and approach.kind is not OutcomeKind.BINARY:
        raise AnalysisError(
            f"--engine {options.engine} fits binary outcomes only; {options.target!r} calls for {approach.label}."
        )
    clock.start("eda", "Exploring the data")
    eda = explore(dataset.all_rows, dataset.frame, options.target)
    if approach.kind is OutcomeKind.BINARY:
        return analyze_binary(dataset, approach, eda, options, clock)
    return analyze_family(dataset, approach, eda, options, clock)


def check_assumptions(
    data: str | Path | pd.DataFrame | None = None,
    options: AnalysisOptions | None = None,
    *,
    progress: Progress | None = None,
    **option_values,
) -> tuple[Dataset, Approach, FeatureSpec, list[dict]]:
    """The assumption checklist alone, for any target, as ``run`` computes it: load, choose the
    approach, select features on the training part, fit the inference model on every used
    row, check. Returns the checks as records (as in ``metrics.json``)."""
    options = dataclasses.replace(options or AnalysisOptions(), **option_values)
    say = progress or (lambda stage: None)
    say("Loading and validating the data")
    dataset = load_input(data, options.seed)
    approach = preflight(dataset, options, cross_validated=False)
    parts = split(dataset.frame, approach.stratify_on, options.seed)
    spec = select_features(
        dataset.frame.loc[parts.train], options.target, transform=options.transform, source=dataset.source
    )
    say(f"Fitting the {approach.label} on every used row and checking its assumptions")
    frame = dataset.frame
    if approach.kind is not OutcomeKind.BINARY:
        return dataset, approach, spec, [check.to_record() for check in check_family(frame, spec, approach)]
    y = encode_target(frame[options.target], approach.positive_class)
    inference = fit_inference(frame, y, spec)
    return dataset, approach, spec, check_logistic(frame, y, spec, inference.result, inference.separation).records()


def load_input(data: str | Path | pd.DataFrame | None, seed: int) -> Dataset:
    """A path, a DataFrame, or ``None`` (the built-in synthetic data, made with ``seed``) as a :class:`Dataset`."""
    if data is None:
        return dataset_from_frame(
            make_synthetic(config.SYNTHETIC_DEFAULT_ROWS, seed=seed),
            source=f"synthetic (built-in generator, seed {seed})",
            synthetic=True,
        )
    if isinstance(data, pd.DataFrame):
        return dataset_from_frame(data, source="in-memory DataFrame")
    return load_dataset(data)
