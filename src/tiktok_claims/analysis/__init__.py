"""The whole analysis, computed once into one results object that every report renders.

:func:`analyze` loads and validates the data, chooses the model family from the
outcome's values, explores the data, then runs the analysis of that kind:
:func:`~tiktok_claims.analysis.binary.analyze_binary` (logistic regression) or
:func:`~tiktok_claims.analysis.families.analyze_family` (ordinal, count, continuous).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable

import pandas as pd

from .. import config
from ..approach import Approach, OutcomeKind
from ..config import Balance, Engine, Outcome, Transform
from ..data.load import Dataset, dataset_from_frame, load_dataset
from ..data.synthetic import make_synthetic
from ..diagnostics.families import check_family
from ..diagnostics.logistic import check_logistic
from ..eda import EdaResult, explore
from ..errors import OptionsError
from ..evaluation.metrics import ThresholdRule
from ..model.features import FeatureSpec, select_features
from ..model.formula import parse_formula
from ..model.logistic import fit_inference
from ..model.split import encode_target, split
from ..timing import Progress, StageClock
from .binary import Analysis, TestPartResults, analyze_binary
from .families import FamilyAnalysis, analyze_family
from .options import AnalysisOptions
from .preflight import preflight

__all__ = [
    "Analysis", "AnalysisOptions", "FamilyAnalysis", "TestPartResults", "analyze", "check_assumptions", "load_input", "with_options",
]


def analyze(
    data: str | os.PathLike | pd.DataFrame | None = None,
    options: AnalysisOptions | None = None,
    *,
    target: Outcome | None = None,
    seed: int | None = None,
    balance: Balance | None = None,
    threshold_rule: ThresholdRule | None = None,
    cv_folds: int | None = None,
    cv_repeats: int | None = None,
    bootstrap: int | None = None,
    calibrate: bool | None = None,
    transform: Transform | None = None,
    engine: Engine | None = None,
    spark_master: str | None = None,
    spark_tmp: str | None = None,
    stability_refits: int | None = None,
    workers: int | None = None,
    command: str | None = None,
    formula: str | None = None,
    progress: Progress | None = None,
    on_explored: Callable[[Dataset, Approach, EdaResult], object] | None = None,
    on_evaluated: Callable[[Approach, TestPartResults], object] | None = None,
) -> Analysis | FamilyAnalysis:
    """Run the whole analysis and return one results object.

    Every option is a keyword of its own, and a field of :class:`AnalysisOptions` (which
    states each one's allowed values): a keyword left at ``None`` takes its value from
    ``options``, or from ``AnalysisOptions()`` without it.

    Parameters
    ----------
    data : str, Path, DataFrame or None
        A CSV (``.csv``, ``.csv.gz``) or Parquet file, a DataFrame with the schema's
        columns, or ``None`` for the built-in synthetic dataset.
    options : AnalysisOptions, optional
        Every choice of the analysis at once; the keywords below override its fields.
    target : str, optional
        The outcome column, one of :data:`Outcome` (default ``"verified_status"``); its
        values decide the model family.
    seed : int, optional
        Seed of the split, resampling, folds, bootstrap and synthetic data (default 42).
    balance : {"class-weights", "upsample", "smote", "none"}, optional
        How a binary classifier handles class imbalance (default ``"class-weights"``).
    threshold_rule : ThresholdRule, optional
        How the decision threshold is chosen on training scores (default
        ``ThresholdRule("f1")``).
    cv_folds : int, optional
        Stratified cross-validation folds on the training part, 2-20 (default 5).
    cv_repeats : int, optional
        Repeats of the cross-validation, 1-20 (default 1).
    bootstrap : int, optional
        Bootstrap resamples of the test metrics' confidence intervals, 100-100,000
        (default 1,000).
    calibrate : bool, optional
        Recalibrate scores by Platt scaling on out-of-fold training scores (default False).
    transform : {"none", "log1p"}, optional
        ``"log1p"`` enters the engagement counts as log(1 + count) (default ``"none"``).
    engine : {"local", "spark"}, optional
        ``"spark"`` also fits and evaluates a binary model on Apache Spark (default
        ``"local"``).
    spark_master : str, optional
        Spark's master URL (default ``"local[*]"``).
    spark_tmp : str, optional
        Spark's scratch location (``engine="spark"`` only).
    stability_refits : int, optional
        Bootstrap refits measuring each finding's stability, 0-10,000 (default 200).
    workers : int, optional
        Processes for independent stages (default: one per available core, at most 4).
    command : str, optional
        The command line that asked for the analysis, recorded in ``metrics.json``.
    formula : str, optional
        A model formula in the conventional syntax, e.g. ``"verified_status ~
        claim_status * author_ban_status + np.log1p(video_view_count)"``: columns,
        ``C(category)``, ``np.log1p(column)``, ``np.log(column)``, ``I(column ** 2)``,
        joined by ``+``, ``:`` and ``*``. Its outcome is the target (a binary outcome).
        Default: the default model (every predictor, the VIF rule).
    progress : callable, optional
        Called with a short description as each stage starts.
    on_explored : callable, optional
        Called with the data read, the modeling approach and the exploratory results as
        soon as they exist, before any model is fitted: a caller may start work on them
        meanwhile (``run`` has its printer draw the exploratory figures). What it returns
        is ignored; what it raises stops the analysis.
    on_evaluated : callable, optional
        A binary outcome's: called with the modeling approach and the test part's
        results with the assumption checks (:class:`~tiktok_claims.analysis.binary.TestPartResults`,
        the objects the result then holds) as soon as they exist, while the
        cross-validation still runs (``run`` has its printer draw the model's figures).
        What it returns is ignored; what it raises stops the analysis.

    Returns
    -------
    Analysis or FamilyAnalysis
        A binary ``target`` gives an :class:`Analysis` (logistic regression,
        cross-validation, threshold, leakage audit); any other outcome a
        :class:`FamilyAnalysis` (ordinal, count or OLS model).

    Raises
    ------
    OptionsError
        A ``ValueError``: if ``data`` or ``options`` is of another kind, an option is
        outside its allowed values, ``target`` is no outcome column, ``engine="spark"``
        is asked of a non-binary outcome, or ``formula`` holds anything but the allowed
        terms. Checked before any fit.
    DataError
        A ``ValueError``: if the data are unreadable or do not fit the schema.
    AnalysisError
        If the analysis cannot proceed honestly (e.g. too few rows of a class, a fit
        that does not converge).

    See Also
    --------
    Analysis.summary : the results as text.
    Analysis.write : every file the ``run`` command writes.

    Examples
    --------
    >>> from tiktok_claims import analyze
    >>> result = analyze(seed=1, cv_folds=2)  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP
    >>> result.write("out")  # doctest: +SKIP
    """
    options = with_options(
        options,
        target=target, seed=seed, balance=balance, threshold_rule=threshold_rule, cv_folds=cv_folds,
        cv_repeats=cv_repeats, bootstrap=bootstrap, calibrate=calibrate, transform=transform, engine=engine,
        spark_master=spark_master, spark_tmp=spark_tmp, stability_refits=stability_refits, workers=workers,
        command=command, formula=formula,
    )
    _check_data_argument(data)
    clock = StageClock(progress)
    clock.start("load", "Loading and validating the data")
    dataset = load_input(data, options.seed)
    clock.start("approach", "Choosing the modeling approach")
    approach = preflight(dataset, options)
    if options.engine != "local" and approach.kind is not OutcomeKind.BINARY:
        raise OptionsError(
            f"--engine {options.engine} fits binary outcomes only; {options.target!r} calls for {approach.label}. "
            "Use engine='local' (the default) for this outcome.",
            "engine",
        )
    clock.start("eda", "Exploring the data")
    eda = explore(dataset.all_rows, dataset.frame, options.target)
    if on_explored is not None:
        on_explored(dataset, approach, eda)
    if approach.kind is OutcomeKind.BINARY:
        return analyze_binary(dataset, approach, eda, options, clock, on_evaluated)
    return analyze_family(dataset, approach, eda, options, clock)


def with_options(options: AnalysisOptions | None, **values) -> AnalysisOptions:
    """``options`` (default ``AnalysisOptions()``) with every value that is not ``None`` put in, validated.

    A ``formula`` without a ``target`` sets the target to the formula's outcome.
    """
    if values.get("formula") is not None and values.get("target") is None:
        values["target"] = parse_formula(values["formula"]).outcome
    if options is None:
        options = AnalysisOptions()
    elif not isinstance(options, AnalysisOptions):
        raise OptionsError(
            f"options must be an AnalysisOptions (or None); got {type(options).__name__}. Give each option as a "
            "keyword instead, e.g. analyze(data, target='claim_status').",
            "options",
        )
    return dataclasses.replace(options, **{name: value for name, value in values.items() if value is not None})


def _check_data_argument(data) -> None:
    if data is not None and not isinstance(data, (str, os.PathLike, pd.DataFrame)):
        raise OptionsError(
            f"data must be a path (str or Path) to a CSV or Parquet file, a pandas DataFrame, or None for the "
            f"built-in synthetic data; got {type(data).__name__}.",
            "data",
        )


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
    options = with_options(options, **option_values)
    say = progress or (lambda stage: None)
    say("Loading and validating the data")
    dataset = load_input(data, options.seed)
    approach = preflight(dataset, options, cross_validated=False)
    parts = split(dataset.frame, approach.stratify_on, options.seed)
    spec = select_features(
        dataset.frame.loc[parts.train], options.target, transform=options.transform, source=dataset.source,
        formula=options.parsed_formula,
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
