"""The analysis of a binary outcome: logistic regression, cross-validation, threshold, leakage audit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from .. import config
from ..approach import Approach
from ..data.load import Dataset
from ..diagnostics.logistic import LogisticChecks, check_logistic
from ..eda import EdaResult
from ..errors import AnalysisError
from ..evaluation.cross_validation import CrossValidation, start_cross_validation
from ..evaluation.leakage import LeakageAudit, course_recipe, explain
from ..evaluation.metrics import (
    Evaluation,
    ThresholdChoice,
    bootstrap_intervals,
    calibration,
    evaluate,
    per_thousand,
)
from ..interpretation.effects import (
    coefficient_table,
    formula_probability_changes,
    is_compound,
    probability_changes,
)
from ..interpretation.findings import key_findings, outcome_phrase
from ..interpretation.separation import (
    describe_separation,
    estimation_reason,
    separating_rule,
    single_class_groups,
)
from ..interpretation.story import binary_story
from ..model.features import FeatureSpec, select_features
from ..model.formula import design_columns
from ..model.logistic import Classifier, Inference, fit_models
from ..model.split import Split, encode_target, split
from ..model.stability import bootstrap_stability
from ..parallel import default_workers, worker_pool
from ..timing import StageClock
from .options import AnalysisOptions
from .records import (
    cv_record,
    eda_record,
    features_record,
    header_record,
    json_safe,
    library_versions,
    records,
)
from .results import Results, Wrapped, p_text, prose, text_table

# Libraries the parallel stages use: imported before the workers start (forked workers inherit
# them) and by each worker as it starts (spawned workers have them before their first job).
WORKER_MODULES = (
    "statsmodels.stats.outliers_influence", "imblearn.pipeline", "imblearn.over_sampling", "sklearn.ensemble",
    "sklearn.linear_model", "scipy.optimize",
)
ALPHA = 0.05


@dataclass(frozen=True)
class TestPartResults:
    """The test part's results and the assumption checks, as soon as they exist (the ``on_evaluated`` hook's argument).

    The same objects the :class:`Analysis` then holds under these names, given while
    the cross-validation still runs.
    """

    evaluation: Evaluation
    calibration_curve: pd.DataFrame = field(repr=False)
    calibration_summary: dict
    assumptions: LogisticChecks = field(repr=False)


@dataclass(frozen=True, repr=False)
class Analysis(Results):
    """The results of a binary outcome's analysis: everything ``run`` computed.

    Made by :func:`tiktok_claims.analyze`; reports and the notebook only read from it.
    :meth:`summary` gives the results as text, :meth:`write` every file of ``run``,
    :meth:`metrics` every number as a JSON-ready record.

    Attributes
    ----------
    dataset : Dataset
        The rows read, used and set aside, with their provenance.
    options : AnalysisOptions
        Every choice the analysis made.
    approach : Approach
        The outcome's kind and model family, and why.
    eda : EdaResult
        The exploratory summaries (tidy tables).
    features : FeatureSpec
        The predictors kept and dropped, and why.
    split : Split
        The training and test rows (stratified on the outcome).
    classifier : Classifier
        The prediction pipeline, fitted on the training part only.
    inference : Inference
        The inference model, fitted on every used row (statsmodels results or Firth).
    coefficients : DataFrame
        One row per term: ``coef, se, z, p_value, ci_low, ci_high`` per readable unit
        (``unit``), odds ratios and their intervals, per-SD coefficients, stability.
    findings : list of dict
        The key findings, with their numbers.
    evaluation : Evaluation
        The classifier on the untouched test part: metrics, confusion matrix, curves.
    threshold : ThresholdChoice
        The decision threshold, chosen on training scores, and its rule.
    assumptions : LogisticChecks
        The assumption checklist of the inference model.
    test_intervals : DataFrame
        Bootstrap confidence intervals of the test metrics.
    calibration_curve : DataFrame
        Observed against predicted rates per bin on the test part.
    calibration_summary : dict
        Calibration in numbers (mean predicted, calibration slope, ...).
    cross_validation : CrossValidation or None
        Cross-validated strategies, baselines and the reference model.
    leakage : LeakageAudit or None
        The course recipe's inflated metrics beside the honest ones.
    separating_rule : dict or None
        The single-characteristic rule behind a separation, if any.
    test_scores : Series
        The classifier's score of each test row.
    spark : object
        The Spark fit (``engine="spark"``), or None.
    created : str
        When the analysis finished (ISO 8601, UTC).
    versions : dict
        The versions of Python and of the numeric libraries.
    timings : dict
        Wall seconds of each stage.
    """

    dataset: Dataset
    options: AnalysisOptions
    approach: Approach
    eda: EdaResult
    features: FeatureSpec
    split: Split
    classifier: Classifier
    inference: Inference
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
    separating_rule: dict | None = None
    test_scores: pd.Series = field(repr=False, default=None)
    spark: object = field(repr=False, default=None)
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    """Wall seconds of each stage of the analysis (the rendering adds its own in ``metrics.json``)."""

    @property
    def balance(self) -> str:
        """How the classifier handled class imbalance (``options.balance``)."""
        return self.options.balance

    @property
    def key_metric(self) -> tuple[str, float]:
        """The test part's ROC AUC, ``("roc_auc", value)``."""
        return "roc_auc", self.evaluation.metrics["roc_auc"]

    def _effect(self) -> tuple[str, str]:
        return "odds_ratio", "odds ratio"

    def _model_facts(self) -> list[tuple[str, str]]:
        result, classifier = self.inference.result, self.classifier
        output = output_record(self.options, self.evaluation.metrics["base_rate"], self.calibration_summary)["name"]
        facts = [
            ("Estimator", self.inference.estimator),
            (
                "Fit (every used row)",
                f"{self.inference.rows:,} rows, log-likelihood {result.llf:.3f}, McFadden pseudo-R² "
                f"{result.prsquared:.4f}, LLR p {p_text(result.llr_pvalue)}",
            ),
            (
                "Classifier",
                f"training part only, balance {self.balance}, output: {output}"
                + (", Platt-calibrated" if classifier.calibration is not None else "")
                + (", Firth-penalized" if classifier.penalized else ""),
            ),
        ]
        if self.features.formula is not None:
            facts.append(("Formula", self.features.formula.text))
        elif self.features.log1p:
            facts.append(("Transform", f"log(1 + x) of {', '.join(self.features.log1p)}"))
        if self.inference.separation.kind != "none":
            facts.append(("Separation", self.inference.separation.kind))
        return facts

    def _test_sections(self) -> list[list[str | Wrapped]]:
        metrics, intervals = self.evaluation.metrics, self.test_intervals
        resamples = int(intervals["resamples"].min()) if len(intervals) else 0
        table = text_table(
            ["", "estimate", "[0.025", "0.975]"],
            [
                [row["metric"], f"{row['estimate']:.4f}", f"{row['ci_low']:.4f}", f"{row['ci_high']:.4f}"]
                for row in intervals.to_dict(orient="records")
            ],
        )
        threshold = self.threshold
        return [
            [
                *prose(
                    f"Test metrics: the classifier on the untouched test part, {metrics['n']:,} rows "
                    f"({metrics['n_positive']:,} {self.approach.positive_class!r}); 95% bootstrap intervals "
                    f"({resamples:,} resamples)."
                ),
                *table,
            ],
            [
                *prose(
                    f"Threshold: {threshold.threshold:.4f}, rule {threshold.rule!r}: {threshold.description}; "
                    "chosen on the training part's scores, never the test part's."
                ),
                *prose(
                    f"At it, on the test part: {metrics['predicted_positive']:,} of {metrics['n']:,} rows flagged, "
                    f"precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f}, F1 {metrics['f1']:.3f}."
                ),
            ],
        ]

    def metrics(self) -> dict:
        """The machine-readable record of every number a report shows (``metrics.json``).

        Returns
        -------
        dict
            Plain JSON values only: non-finite numbers (e.g. the threshold of a baseline
            that never flags) become ``None`` so the record is strict JSON.
        """
        record = json_safe({
            **header_record(self),
            "positive_class": self.approach.positive_class,
            "seed": self.seed,
            "balance": self.balance,
            "calibrated": self.classifier.calibration is not None,
            "platt_scaling": (
                None if self.classifier.calibration is None
                else {"slope": self.classifier.calibration[0], "intercept": self.classifier.calibration[1]}
            ),
            "output": output_record(self.options, self.evaluation.metrics["base_rate"], self.calibration_summary),
            "split": {
                "test_size": self.split.test_size,
                "train_rows": len(self.split.train),
                "test_rows": len(self.split.test),
                "stratified_on": self.target,
            },
            "features": features_record(self.features, self.classifier.feature_names),
            "estimation": estimation_record(self.inference, self.classifier, self.separating_rule),
            "convergence": {
                "sklearn_newton_iterations": self.classifier.iterations,
                "statsmodels_converged": True,
                "statsmodels_newton_iterations": self.inference.iterations,
            },
            "fit": {
                "rows": self.inference.rows,
                "log_likelihood": float(self.inference.result.llf),
                "null_log_likelihood": float(self.inference.result.llnull),
                "mcfadden_pseudo_r2": float(self.inference.result.prsquared),
                "llr_p_value": float(self.inference.result.llr_pvalue),
            },
            "stability": {"refits": self.options.stability_refits, "alpha": ALPHA},
            "assumptions": self.assumptions.records(),
            "assumption_tables": {
                "box_tidwell": records(self.assumptions.box_tidwell),
                "raw_box_tidwell": (
                    None if self.assumptions.raw_box_tidwell is None else records(self.assumptions.raw_box_tidwell)
                ),
                "influential": records(self.assumptions.influential),
                "refit_shift": records(self.assumptions.refit_shift),
                "hosmer_lemeshow": records(self.assumptions.hosmer_lemeshow),
                "separation": {
                    "kind": self.assumptions.separation.kind,
                    "misclassified_share": self.assumptions.separation.misclassified_share,
                    "leading_predictor": self.assumptions.separation.leading_predictor,
                },
            },
            "coefficients": records(self.coefficients),
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
                for row in records(self.test_intervals)
            },
            "calibration": {**self.calibration_summary, "curve": records(self.calibration_curve)},
            "cv": cv_record(self.cross_validation),
            "leakage_audit": {
                "course": self.leakage.course,
                "inflated": self.leakage.inflated,
                "honest": {k: self.evaluation.metrics[k] for k in ("accuracy", "precision", "recall", "f1", "roc_auc", "base_rate")},
                "explanation": self.leakage.explanation,
            },
            "test_confusion_matrix": {
                "labels": list(self.evaluation.labels),
                "matrix": self.evaluation.confusion.to_numpy().tolist(),
            },
            "test_per_class": records(self.evaluation.per_class),
            "eda": eda_record(self.eda),
            "engine": self._engine_record(),
            "command": self.options.command,
            "versions": self.versions,
            "timings": dict(self.timings),
        })
        if self.features.formula is not None:
            record["formula"] = formula_record(self.features)
        record["story"] = binary_story(record)
        return record

    def _engine_record(self) -> dict:
        """Which engine fitted the model; with Spark, its estimates beside the in-process ones."""
        if self.spark is None:
            return {"name": "in-process (scikit-learn + statsmodels)"}
        ours = self.coefficients.set_index("name")["coef_per_sd"]
        theirs = self.spark.coefficients.set_index("name")
        classifier = self.classifier.pipeline.named_steps["classifier"].coef_.ravel()
        return {
            "name": "spark",
            "master": self.spark.master,
            "coefficients": records(self.spark.coefficients),
            "test_roc_auc": self.spark.test_roc_auc,
            "parity": {
                "max_abs_coef_difference_inference": float((theirs["coef_per_sd"] - ours).abs().max()),
                "max_abs_coef_difference_classifier": float(np.abs(self.spark.classifier_coef - classifier).max()),
                "roc_auc_difference": self.spark.test_roc_auc - self.evaluation.metrics["roc_auc"],
            },
        }


def formula_record(spec: FeatureSpec) -> dict:
    """The formula fitted: as written, with every term spelled out, and each design column with statsmodels' name for it."""
    return {
        "text": spec.formula.text,
        "expanded": spec.formula.expanded,
        "outcome": spec.formula.outcome,
        "columns": list(spec.formula.columns),
        "design": [column.record() for column in design_columns(spec.formula)],
    }


def estimation_record(inference: Inference, classifier: Classifier, rule: dict | None) -> dict:
    """How the coefficients were estimated, on which rows, and why (Firth under separation)."""
    separation = inference.separation
    return {
        "penalized": inference.penalized,
        "classifier_penalized": classifier.penalized,
        "estimator": inference.estimator,
        "rows": inference.rows,
        "separation": separation.kind,
        "misclassified_share": separation.misclassified_share,
        "leading_predictor": separation.leading_predictor if separation.kind != "none" else None,
        "firth_shift": inference.firth_shift,
        "separating_rule": rule,
        "reason": estimation_reason(
            separation.kind,
            penalized=inference.penalized,
            rows=inference.rows,
            leading=separation.leading_predictor,
            misclassified_share=separation.misclassified_share,
            infinite=separation.infinite,
            firth_shift=inference.firth_shift,
            classifier_penalized=classifier.penalized,
            wald_fallback=getattr(inference.result, "wald_fallback", ()),
        ),
        "wald_fallback": list(getattr(inference.result, "wald_fallback", ())),
    }


def output_record(options: AnalysisOptions, base_rate: float, calibration_summary: dict) -> dict:
    """What the deployed classifier's output is: a probability, or a score that only ranks."""
    mean = calibration_summary.get("mean_predicted", float("nan"))
    if options.calibrate:
        return {
            "name": "probability",
            "description": (
                "probabilities: the classifier's scores recalibrated by Platt scaling on out-of-fold training "
                f"scores (on the test part they average {mean:.3f} against a base rate of {base_rate:.3f})"
            ),
        }
    if options.balance == "none":
        return {
            "name": "probability",
            "description": (
                "probabilities from an unweighted fit on the training part (on the test part they average "
                f"{mean:.3f} against a base rate of {base_rate:.3f})"
            ),
        }
    return {
        "name": "score",
        "description": (
            f"scores for ranking, not probabilities: the classifier was fitted with {options.balance}, which does not "
            f"target calibrated probabilities (its scores average {mean:.3f} on the test part against a base rate of "
            f"{base_rate:.3f}); higher means more likely, but a score of 0.7 need not mean a 70% chance (use "
            "--calibrate for probabilities)"
        ),
    }


def analyze_binary(
    dataset: Dataset, approach: Approach, eda: EdaResult, options: AnalysisOptions, clock: StageClock,
    on_evaluated: Callable[[Approach, TestPartResults], object] | None = None,
) -> Analysis:
    """Split, select features, fit, check, cross-validate, evaluate and interpret a binary outcome.

    ``on_evaluated`` is called with the test part's results and the checks once they
    exist, before waiting for the cross-validation (see :func:`tiktok_claims.analyze`).
    """
    frame, target, seed = dataset.frame, approach.target, options.seed
    clock.start("split_and_features", "Splitting (stratified) and selecting features on the training part")
    parts = split(frame, approach.stratify_on, seed)
    train, test = frame.loc[parts.train], frame.loc[parts.test]
    spec = select_features(train, target, transform=options.transform, source=dataset.source, formula=options.parsed_formula)
    y_all = encode_target(frame[target], approach.positive_class)
    y_train, y_test = y_all.loc[parts.train], y_all.loc[parts.test]
    rule = options.threshold_rule
    with worker_pool(default_workers() if options.workers is None else options.workers, preload=WORKER_MODULES) as pool:
        clock.start("start_parallel_stages", "Reproducing the course's recipe (leakage audit) alongside the fits")
        course = pool.submit(course_recipe, frame, target, approach.positive_class, spec, seed)
        clock.start(
            "classifier",
            f"Fitting the classifier on the training part ({options.balance}) and the inference model on every used "
            "row, on one design",
        )
        classifier, inference = fit_models(
            frame, y_all, parts.train_positions, spec, options.balance, seed, calibrate=options.calibrate
        )
        threshold = rule.choose(y_train, train_scores := classifier.predict_proba(train[spec.columns]))
        _refuse_if_flags_none(threshold, train_scores, "training")
        # The longest jobs first: the workers take them in this order, and the many short
        # cross-validation folds fill the time around them.
        clock.start("start_checks", "Checking the inference model's assumptions and the stability of its estimates")
        design = inference_design(inference.result)
        stability = pool.submit(
            bootstrap_stability, design, y_all, inference.result.params, penalized=inference.penalized,
            refits=options.stability_refits, seed=seed, alpha=ALPHA,
        )
        checks = pool.submit(check_logistic, frame, y_all, spec, inference.result, inference.separation)
        clock.start("start_cross_validation", "Cross-validating strategies, baselines and the reference model")
        pending_cv = start_cross_validation(
            train, y_train, spec, seed=seed, folds=options.cv_folds, repeats=options.cv_repeats,
            threshold_rule=rule, default_balance=options.balance, executor=pool, penalized=classifier.penalized,
            untransformed=select_features(train, target) if spec.log1p and spec.formula is None else None,
        )
        clock.start("evaluation", f"Evaluating on the untouched test part ({options.bootstrap:,} bootstrap resamples) and calibration")
        scores = pd.Series(classifier.predict_proba(test[spec.columns]), index=test.index, name="score")
        negative = next(level for level in config.CATEGORIES[target] if level != approach.positive_class)
        evaluation = evaluate(y_test, scores, labels=(negative, approach.positive_class), threshold=threshold.threshold)
        _refuse_if_flags_none(threshold, scores.to_numpy(), "test")
        intervals = bootstrap_intervals(
            y_test, scores, threshold=threshold.threshold, n_resamples=options.bootstrap, seed=seed
        )
        curve, calibration_summary = calibration(y_test, scores)
        # The checks and the stability refits were submitted before the folds: done first.
        clock.start("wait_checks_and_stability")
        checks, stability = checks.result(), stability.result()
        if on_evaluated is not None:
            on_evaluated(approach, TestPartResults(evaluation, curve, calibration_summary, checks))
        clock.start("wait_cross_validation")
        cv = pending_cv.result()
        precision = intervals.set_index("metric").loc["precision"]
        leakage = explain(
            course.result(), evaluation.metrics, approach.positive_class,
            (float(precision["ci_low"]), float(precision["ci_high"])),
        )
    spark = None
    if options.engine == "spark":
        from ..spark.fit import fit_spark

        clock.start("spark", "Fitting and evaluating the same model on Spark")
        spark = fit_spark(
            frame, parts.train, target, approach.positive_class, spec,
            master=options.spark_master, scratch=options.spark_tmp,
        )
    clock.start("interpretation", "Interpreting the coefficients")
    coefficients = coefficient_table(inference.result, inference.scales, log1p=spec.log1p, log=spec.log)
    changes = (
        probability_changes(inference.result, design, coefficients) if spec.formula is None
        else formula_probability_changes(inference.result, frame, spec, coefficients)
    )
    coefficients = coefficients.merge(
        changes.rename_axis("name").reset_index(), on="name", how="left"
    ).merge(
        stability.rename(columns={"same_sign": "stable_sign", "significant": "stable_significance"}), on="name", how="left"
    )
    separating = _separating_rule(frame, y_all, inference.separation, approach.positive_class, negative)
    return Analysis(
        dataset=dataset,
        options=options,
        approach=approach,
        eda=eda,
        features=spec,
        split=parts,
        classifier=classifier,
        inference=inference,
        coefficients=coefficients,
        findings=key_findings(coefficients, outcome_phrase=outcome_phrase(approach), alpha=ALPHA),
        evaluation=evaluation,
        threshold=threshold,
        assumptions=checks,
        test_intervals=intervals,
        calibration_curve=curve,
        calibration_summary=calibration_summary,
        cross_validation=cv,
        leakage=leakage,
        separating_rule=separating,
        test_scores=scores,
        spark=spark,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        versions=library_versions(),
        timings=dict(clock.stop()),
    )


def _refuse_if_flags_none(choice: ThresholdChoice, scores: np.ndarray, part: str) -> None:
    """Refuse a decision threshold that flags none of the part's videos (``scores``), naming its rule.

    A filter that flags nothing has no precision and no rate per flagged video: every
    sentence about its flags would be empty. It happens when a cost makes flagging never
    worth it (e.g. ``--cost-fn 0``); the rule is refused before the documents.
    """
    if not np.any(np.asarray(scores) >= choice.threshold):
        raise AnalysisError(
            f"the decision threshold ({choice.description}: {choice.threshold:.4g}) flags none of the {len(scores):,} "
            f"{part} videos, so the model's flags cannot be evaluated; choose a rule that flags some, e.g. a cost of "
            "a missed video above zero (--cost-fn) or --threshold-rule f1."
        )


def inference_design(result) -> pd.DataFrame:
    """The design an inference result was fitted on (its constant included), with its row labels."""
    return pd.DataFrame(
        np.asarray(result.model.exog, dtype=float),
        index=result.model.data.row_labels,
        columns=list(result.model.exog_names),
    )


def _separating_rule(frame: pd.DataFrame, y: pd.Series, separation, positive: str, negative: str) -> dict | None:
    """What separates the classes, in words: every predictor of the design tried on its own
    (the best threshold of a continuous one, the best level of a category against the
    others), the one that sorts the classes best named only if it (nearly) decides the
    outcome by the separation check's standard; else the groups of one class only, else
    the combination. ``None`` when no separation was found."""
    if separation.kind == "none":
        return None
    rules, groups, seen = [], [], set()
    for name in separation.rule.index:
        if name == "const" or is_compound(name):
            continue
        values = _predictor_values(frame, name)
        if name in frame.columns:
            rules.append(separating_rule(values, y, name, positive, negative))
            continue
        column = str(values.name)
        if column in seen:
            continue
        seen.add(column)
        reference, *levels = config.CATEGORIES[column]
        present = set(values.astype(str))
        for level in (level for level in (*levels, reference) if level in present):
            rules.append(separating_rule(values, y, f"{column}_{level}", positive, negative))
        groups += single_class_groups(values, y, column, positive, negative)
    return describe_separation(
        separation.kind, [rule for rule in rules if rule is not None], groups, separation.misclassified_share
    )


def _predictor_values(frame: pd.DataFrame, design_column: str) -> pd.Series:
    """The raw column behind a design column (a dummy's categorical column)."""
    if design_column in frame.columns:
        return frame[design_column]
    column = next(c for c in config.CATEGORIES if design_column.startswith(f"{c}_"))
    return frame[column]
