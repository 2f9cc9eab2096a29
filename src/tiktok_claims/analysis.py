"""The whole analysis, computed once into one results object that every report renders."""

from __future__ import annotations

import math
import platform
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from . import __version__, config
from .approach import Approach, choose_approach
from .assumptions import LogisticChecks, check_family, check_logistic
from .cross_validation import CrossValidation, start_cross_validation
from .data.load import Dataset, dataset_from_frame, load_dataset
from .eda import EdaResult, explore
from .errors import AnalysisError
from .evaluation import (
    Evaluation,
    ThresholdChoice,
    ThresholdRule,
    bootstrap_intervals,
    calibration,
    evaluate,
    per_thousand,
)
from .families import FamilyModel, family_findings, fit_family, outcome_phrase
from .features import FeatureSpec, select_features
from .interpretation import coefficient_table, key_findings, plain_insights
from .leakage import LeakageAudit, course_recipe, explain
from .modeling import FittedModel, Split, encode_target, fit, split
from .parallel import default_workers, worker_pool

Progress = Callable[[str], None]
# Libraries the parallel stages use, imported once before the workers fork.
WORKER_MODULES = ("statsmodels.api", "imblearn.pipeline", "sklearn.ensemble", "sklearn.linear_model", "scipy.optimize")

LIBRARIES = ("numpy", "pandas", "scipy", "scikit-learn", "statsmodels", "imbalanced-learn", "matplotlib", "pyarrow")


@dataclass(frozen=True)
class Analysis:
    """Everything ``run`` computed; reports and the notebook only read from it."""

    dataset: Dataset
    target: str
    seed: int
    balance: str
    approach: Approach
    eda: EdaResult
    features: FeatureSpec
    split: Split
    model: FittedModel
    coefficients: pd.DataFrame
    findings: list[dict]
    evaluation: Evaluation
    threshold: ThresholdChoice
    assumptions: LogisticChecks = field(repr=False)
    test_intervals: pd.DataFrame = field(repr=False)
    calibration_curve: pd.DataFrame = field(repr=False)
    calibration_summary: dict[str, float] = field(default_factory=dict)
    cross_validation: CrossValidation | None = None
    leakage: LeakageAudit | None = None
    test_scores: pd.Series = field(repr=False, default=None)
    spark: object = field(repr=False, default=None)
    command: str = ""
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)

    def metrics(self) -> dict:
        """The machine-readable record of every number a report shows (``metrics.json``).

        Non-finite numbers (e.g. the threshold of a baseline that never flags) become
        ``None`` so the record is strict JSON.
        """
        record = _json_safe({
            **_header_record(self),
            "positive_class": self.approach.positive_class,
            "seed": self.seed,
            "balance": self.balance,
            "calibrated": self.model.calibration is not None,
            "platt_scaling": (
                None if self.model.calibration is None
                else {"slope": self.model.calibration[0], "intercept": self.model.calibration[1]}
            ),
            "split": {
                "test_size": self.split.test_size,
                "train_rows": len(self.split.train),
                "test_rows": len(self.split.test),
                "stratified_on": self.target,
            },
            "features": _features_record(self.features, self.model.feature_names),
            "estimation": _estimation_record(self.model),
            "convergence": {
                "sklearn_newton_iterations": self.model.sklearn_iterations,
                "statsmodels_converged": self.model.inference_converged,
                "statsmodels_newton_iterations": self.model.inference_iterations,
            },
            "fit": {
                "train_log_likelihood": float(self.model.inference.llf),
                "null_log_likelihood": float(self.model.inference.llnull),
                "mcfadden_pseudo_r2": float(self.model.inference.prsquared),
                "llr_p_value": float(self.model.inference.llr_pvalue),
            },
            "assumptions": self.assumptions.records(),
            "assumption_tables": {
                "box_tidwell": _records(self.assumptions.box_tidwell),
                "influential": _records(self.assumptions.influential),
                "refit_shift": _records(self.assumptions.refit_shift),
                "hosmer_lemeshow": _records(self.assumptions.hosmer_lemeshow),
                "separation": {
                    "kind": self.assumptions.separation.kind,
                    "misclassified_share": self.assumptions.separation.misclassified_share,
                    "leading_predictor": self.assumptions.separation.leading_predictor,
                },
            },
            "coefficients": _records(self.coefficients),
            "findings": self.findings,
            "threshold": {
                "value": self.threshold.threshold,
                "rule": self.threshold.rule,
                "chosen_on": "training part scores (never the test part)",
                "description": self.threshold.description,
                "per_1000_videos": per_thousand(self.evaluation.metrics),
            },
            "test": self.evaluation.metrics,
            "test_ci": {
                row["metric"]: {k: row[k] for k in ("estimate", "ci_low", "ci_high", "resamples")}
                for row in _records(self.test_intervals)
            },
            "calibration": {**self.calibration_summary, "curve": _records(self.calibration_curve)},
            "cv": _cv_record(self.cross_validation),
            "leakage_audit": {
                "course": self.leakage.course,
                "honest": {k: self.evaluation.metrics[k] for k in ("accuracy", "precision", "recall", "f1", "roc_auc", "base_rate")},
                "explanation": self.leakage.explanation,
            },
            "test_confusion_matrix": {
                "labels": list(self.evaluation.labels),
                "matrix": self.evaluation.confusion.to_numpy().tolist(),
            },
            "test_per_class": _records(self.evaluation.per_class),
            "eda": _eda_record(self.eda),
            "engine": self._engine_record(),
            "command": self.command,
            "versions": self.versions,
        })
        record["insights"] = plain_insights(record)
        return record

    def _engine_record(self) -> dict:
        """Which engine fitted the model; with Spark, its estimates beside the in-process ones."""
        if self.spark is None:
            return {"name": "in-process (scikit-learn + statsmodels)"}
        ours = self.coefficients.set_index("name")["coef_per_sd"]
        theirs = self.spark.coefficients.set_index("name")
        classifier = self.model.pipeline.named_steps["classifier"].coef_.ravel()
        return {
            "name": "spark",
            "master": self.spark.master,
            "coefficients": _records(self.spark.coefficients),
            "test_roc_auc": self.spark.test_roc_auc,
            "parity": {
                "max_abs_coef_difference_inference": float((theirs["coef_per_sd"] - ours).abs().max()),
                "max_abs_coef_difference_classifier": float(np.abs(self.spark.classifier_coef - classifier).max()),
                "roc_auc_difference": self.spark.test_roc_auc - self.evaluation.metrics["roc_auc"],
            },
        }


@dataclass(frozen=True)
class FamilyAnalysis:
    """What ``run`` computed for a non-binary outcome (ordinal, count or continuous).

    The same stages as :class:`Analysis` where they apply (data, EDA, features with
    the target's own leakage guard, split, fit, assumptions, interpretation, test
    evaluation); reports render from :meth:`metrics` alone.
    """

    dataset: Dataset
    target: str
    seed: int
    approach: Approach
    eda: EdaResult
    features: FeatureSpec
    split: Split
    model: FamilyModel
    findings: list[dict]
    assumptions: list = field(repr=False)
    command: str = ""
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)

    def metrics(self) -> dict:
        """The machine-readable record of every number a report shows (``metrics.json``)."""
        model = self.model
        return _json_safe({
            **_header_record(self),
            "approach_statistics": self.approach.statistics,
            "seed": self.seed,
            "split": {
                "test_size": self.split.test_size,
                "train_rows": len(self.split.train),
                "test_rows": len(self.split.test),
                "stratified_on": self.target if self.approach.outcome_type.endswith("categories") else None,
            },
            "features": _features_record(self.features, model.feature_names),
            "estimation": {
                "estimator": model.estimator,
                "converged": model.converged,
                "iterations": model.iterations,
                "effect_name": model.effect_name,
                "extra_parameters": model.extra_parameters,
            },
            "fit": model.fit_statistics,
            "assumptions": [check.to_record() for check in self.assumptions],
            "coefficients": _records(model.coefficients),
            "findings": self.findings,
            "test": model.test,
            "test_table": _records(model.test_table),
            "eda": _eda_record(self.eda),
            "engine": {"name": "in-process (statsmodels)"},
            "command": self.command,
            "versions": self.versions,
        })


def _estimation_record(model: FittedModel) -> dict:
    """How the coefficients were estimated, and why (Firth's fit replaces ML under separation)."""
    separation = model.separation
    kind = "none" if separation is None else separation.kind
    if model.penalized:
        reason = (
            f"Separation was detected before fitting ({kind}: a linear rule led by "
            f"{separation.leading_predictor} misclassifies {separation.misclassified_share:.1%} of the training "
            "rows), so maximum-likelihood estimates would be infinite or rest on a few rows. Both the "
            "classifier and the inference model use Firth's penalized likelihood instead, which keeps "
            "every estimate finite; its standard errors are Wald, from the penalized information."
        )
    else:
        reason = (
            "No separation was detected before fitting, so the maximum-likelihood estimates exist and are "
            "finite: unweighted statsmodels Logit for inference, scikit-learn's newton-cholesky for the classifier."
        )
    return {"penalized": model.penalized, "estimator": model.estimator, "separation": kind, "reason": reason}


def _header_record(analysis: Analysis | FamilyAnalysis) -> dict:
    """The fields every ``metrics.json`` starts with: tool, data, target and the approach."""
    return {
        "tool": {
            "name": "tiktok-claims",
            "version": __version__,
            "metrics_schema": config.METRICS_SCHEMA,
            "created": analysis.created,
        },
        "data": _data_record(analysis.dataset),
        "target": analysis.target,
        "outcome_type": analysis.approach.outcome_type,
        "model_family": analysis.approach.family,
        "approach_reason": analysis.approach.reason,
    }


def _data_record(ds: Dataset) -> dict:
    return {
        "source": ds.source,
        "synthetic": ds.synthetic,
        "sha256": ds.sha256,
        "rows_read": ds.rows_read,
        "rows_used": ds.rows_used,
        "rows_set_aside": ds.rows_set_aside,
        "rows_set_aside_total": ds.rows_read - ds.rows_used,
        "notes": list(ds.notes),
    }


def _features_record(spec: FeatureSpec, encoded) -> dict:
    return {
        "continuous": list(spec.continuous),
        "categorical": list(spec.categorical),
        "log1p": list(spec.log1p),
        "encoded": list(encoded),
        "dropped": spec.dropped,
        "rule": spec.rule,
        "vif": _records(spec.vif_rounds),
        "correlated_pairs": _records(spec.correlated_pairs),
    }


def _eda_record(eda: EdaResult) -> dict:
    return {
        "rows": eda.n_rows,
        "columns": eda.n_columns,
        "overview": _records(eda.overview),
        "describe": _records(eda.describe),
        "duplicates": _records(eda.duplicates),
        "repeated_transcripts": _records(eda.repeated_transcripts),
        "class_balance": _records(eda.class_balance),
        "outliers": _records(eda.outliers),
        "pearson": _records(eda.pearson.rename_axis("column").reset_index()),
        "spearman": _records(eda.spearman.rename_axis("column").reset_index()),
        "text_length": _records(eda.text_length),
        "by_category": _records(eda.by_category),
    }


def _json_safe(value):
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _cv_record(cv: CrossValidation) -> dict:
    summary = {}
    for row in _records(cv.summary):
        summary.setdefault(row["model"], {})[row["metric"]] = {k: row[k] for k in ("mean", "sd", "ci_low", "ci_high")}
    return {
        "folds": cv.folds,
        "repeats": cv.repeats,
        "threshold_rule": cv.threshold_rule,
        "default_model": cv.default_model,
        "default_reason": cv.default_reason,
        "models": summary,
    }


def _records(frame: pd.DataFrame) -> list[dict]:
    return [
        {key: (value.item() if hasattr(value, "item") else value) for key, value in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def analyze(
    data: str | Path | pd.DataFrame | None = None,
    *,
    target: str = config.DEFAULT_TARGET,
    seed: int = config.DEFAULT_SEED,
    balance: str = config.DEFAULT_BALANCE,
    threshold_rule: ThresholdRule = ThresholdRule(),
    cv_folds: int = config.CV_FOLDS,
    cv_repeats: int = config.CV_REPEATS,
    bootstrap: int = config.BOOTSTRAP_RESAMPLES,
    workers: int | None = None,
    calibrate: bool = False,
    transform: str = "none",
    engine: str = "local",
    spark_master: str = "local[*]",
    spark_tmp: str | None = None,
    command: str = "",
    progress: Progress | None = None,
) -> Analysis | FamilyAnalysis:
    """Run the whole analysis and return one results object.

    ``data`` is a path (CSV, .csv.gz, Parquet), a DataFrame with the schema's
    columns, or ``None`` for the built-in synthetic dataset. A binary ``target`` gives
    an :class:`Analysis` (logistic regression, cross-validation, threshold, leakage
    audit); any other outcome a :class:`FamilyAnalysis` (ordinal, count or OLS model).
    ``transform="log1p"`` enters the engagement counts as log(1 + count).

    Examples
    --------
    >>> from tiktok_claims import analyze
    >>> result = analyze(seed=1)  # doctest: +SKIP
    >>> result.metrics()["test"]["roc_auc"]  # doctest: +SKIP
    """
    say = progress or (lambda stage: None)
    say("Loading and validating the data")
    dataset = _load(data, seed)
    frame = dataset.frame
    say("Choosing the modeling approach")
    approach = choose_approach(frame, target)
    if engine != "local" and approach.outcome_type != "binary":
        raise AnalysisError(f"--engine {engine} fits binary outcomes only; {target!r} calls for {approach.family}.")
    say("Exploring the data")
    eda = explore(dataset.all_rows, frame, target)
    if approach.outcome_type != "binary":
        return _analyze_family(dataset, approach, eda, seed, transform, command, say)
    say("Splitting (stratified) and selecting features on the training part")
    parts = split(frame, target, seed)
    train, test = frame.loc[parts.train], frame.loc[parts.test]
    spec = select_features(train, target, transform=transform)
    y_train = encode_target(train[target], approach.positive_class)
    y_test = encode_target(test[target], approach.positive_class)
    with worker_pool(default_workers() if workers is None else workers, preload=WORKER_MODULES) as pool:
        say("Reproducing the course's recipe (leakage audit) alongside the fit")
        course = pool.submit(course_recipe, frame, target, approach.positive_class, spec, seed)
        say(f"Fitting the {approach.family} ({balance})")
        model = fit(train, y_train, spec, balance, seed, calibrate=calibrate, executor=pool)
        threshold = threshold_rule.choose(y_train, model.predict_proba(train[spec.columns]))
        say("Checking assumptions and cross-validating strategies, baselines and the reference model")
        checks = pool.submit(check_logistic, train, y_train, spec, model.inference, model.separation)
        pending_cv = start_cross_validation(
            train, y_train, spec, seed=seed, folds=cv_folds, repeats=cv_repeats, threshold_rule=threshold_rule,
            default_balance=balance, executor=pool, penalized=model.penalized,
        )
        say(f"Evaluating on the untouched test part ({bootstrap:,} bootstrap resamples) and calibration")
        scores = pd.Series(model.predict_proba(test[spec.columns]), index=test.index, name="score")
        negative = next(level for level in config.CATEGORIES[target] if level != approach.positive_class)
        evaluation = evaluate(y_test, scores, labels=(negative, approach.positive_class), threshold=threshold.threshold)
        intervals = bootstrap_intervals(y_test, scores, threshold=threshold.threshold, n_resamples=bootstrap, seed=seed)
        curve, calibration_summary = calibration(y_test, scores)
        cv = pending_cv.result()
        leakage = explain(course.result(), evaluation.metrics, approach.positive_class)
        checks = checks.result()
    spark = None
    if engine == "spark":
        from .spark_engine import fit_spark

        say("Fitting and evaluating the same model on Spark")
        spark = fit_spark(
            frame, parts.train, target, approach.positive_class, spec, master=spark_master, scratch=spark_tmp
        )
    say("Interpreting the coefficients")
    coefficients = coefficient_table(model.inference, model.train_scales, log1p=spec.log1p)
    findings = key_findings(coefficients, outcome_phrase=_outcome_phrase(target, approach.positive_class))
    return Analysis(
        dataset=dataset,
        target=target,
        seed=seed,
        balance=balance,
        approach=approach,
        eda=eda,
        features=spec,
        split=parts,
        model=model,
        coefficients=coefficients,
        findings=findings,
        evaluation=evaluation,
        threshold=threshold,
        assumptions=checks,
        test_intervals=intervals,
        calibration_curve=curve,
        calibration_summary=calibration_summary,
        cross_validation=cv,
        leakage=leakage,
        test_scores=scores,
        spark=spark,
        command=command,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        versions=library_versions(),
    )


def _analyze_family(
    dataset: Dataset, approach: Approach, eda: EdaResult, seed: int, transform: str, command: str, say: Progress
) -> FamilyAnalysis:
    """The analysis of an ordinal, count or continuous outcome."""
    frame, target = dataset.frame, approach.target
    stratified = approach.outcome_type.endswith("categories")
    say(f"Splitting ({'stratified' if stratified else 'random'}) and selecting features on the training part")
    parts = split(frame, target if stratified else None, seed)
    train, test = frame.loc[parts.train], frame.loc[parts.test]
    spec = select_features(train, target, transform=transform)
    say(f"Fitting the {approach.family} and evaluating it on the untouched test part")
    model = fit_family(train, test, spec, approach)
    say("Checking its assumptions")
    checks = check_family(train, spec, approach)
    return FamilyAnalysis(
        dataset=dataset,
        target=target,
        seed=seed,
        approach=approach,
        eda=eda,
        features=spec,
        split=parts,
        model=model,
        findings=family_findings(model, outcome_phrase(approach)),
        assumptions=checks,
        command=command,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        versions=library_versions(),
    )


def check_assumptions(
    data: str | Path | pd.DataFrame | None = None,
    *,
    target: str = config.DEFAULT_TARGET,
    seed: int = config.DEFAULT_SEED,
    transform: str = "none",
    progress: Progress | None = None,
) -> tuple[Dataset, Approach, FeatureSpec, list[dict]]:
    """The assumption checklist alone, for any target: load, choose the approach, split,
    select features, fit, check. Returns the checks as records (as in ``metrics.json``)."""
    say = progress or (lambda stage: None)
    say("Loading and validating the data")
    dataset = _load(data, seed)
    approach = choose_approach(dataset.frame, target)
    stratify = approach.outcome_type in ("binary", "ordered categories", "unordered categories")
    parts = split(dataset.frame, target if stratify else None, seed)
    train = dataset.frame.loc[parts.train]
    spec = select_features(train, target, transform=transform)
    say(f"Fitting the {approach.family} and checking its assumptions")
    if approach.outcome_type != "binary":
        return dataset, approach, spec, [check.to_record() for check in check_family(train, spec, approach)]
    y_train = encode_target(train[target], approach.positive_class)
    model = fit(train, y_train, spec, config.DEFAULT_BALANCE, seed)
    return dataset, approach, spec, check_logistic(train, y_train, spec, model.inference).records()


def _load(data, seed: int) -> Dataset:
    if data is None:
        from .data.synthetic import make_synthetic

        return dataset_from_frame(
            make_synthetic(config.SYNTHETIC_DEFAULT_ROWS, seed=seed),
            source=f"synthetic (built-in generator, seed {seed})",
            synthetic=True,
        )
    if isinstance(data, pd.DataFrame):
        return dataset_from_frame(data, source="in-memory DataFrame")
    return load_dataset(data)


def _outcome_phrase(target: str, positive: str) -> str:
    if target == config.VERIFIED:
        return "coming from a verified account"
    return f"{target.replace('_', ' ')} being '{positive}'"


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries whose numbers the analysis depends on."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
