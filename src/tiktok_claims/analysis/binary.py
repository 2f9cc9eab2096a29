"""The analysis of a binary outcome: logistic regression, cross-validation, threshold, leakage audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import numpy as np
import pandas as pd

from .. import config
from ..approach import Approach
from ..data.load import Dataset
from ..diagnostics.logistic import LogisticChecks, check_logistic
from ..eda import EdaResult
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
from ..interpretation import (
    coefficient_table,
    key_findings,
    outcome_phrase,
    plain_insights,
)
from ..model.features import FeatureSpec, select_features
from ..model.logistic import FittedModel, fit
from ..model.split import Split, encode_target, split
from ..parallel import default_workers, worker_pool
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

Progress = Callable[[str], None]
# Libraries the parallel stages use, imported once before the workers fork.
WORKER_MODULES = ("statsmodels.api", "imblearn.pipeline", "sklearn.ensemble", "sklearn.linear_model", "scipy.optimize")


@dataclass(frozen=True)
class Analysis:
    """Everything ``run`` computed; reports and the notebook only read from it."""

    dataset: Dataset
    options: AnalysisOptions
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
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return self.options.target

    @property
    def seed(self) -> int:
        return self.options.seed

    @property
    def balance(self) -> str:
        return self.options.balance

    def metrics(self) -> dict:
        """The machine-readable record of every number a report shows (``metrics.json``).

        Non-finite numbers (e.g. the threshold of a baseline that never flags) become
        ``None`` so the record is strict JSON.
        """
        record = json_safe({
            **header_record(self),
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
            "features": features_record(self.features, self.model.feature_names),
            "estimation": estimation_record(self.model),
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
                "box_tidwell": records(self.assumptions.box_tidwell),
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
            "coefficients": records(self.spark.coefficients),
            "test_roc_auc": self.spark.test_roc_auc,
            "parity": {
                "max_abs_coef_difference_inference": float((theirs["coef_per_sd"] - ours).abs().max()),
                "max_abs_coef_difference_classifier": float(np.abs(self.spark.classifier_coef - classifier).max()),
                "roc_auc_difference": self.spark.test_roc_auc - self.evaluation.metrics["roc_auc"],
            },
        }


def estimation_record(model: FittedModel) -> dict:
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




def analyze_binary(
    dataset: Dataset, approach: Approach, eda: EdaResult, options: AnalysisOptions, say: Progress
) -> Analysis:
    """Split, select features, fit, check, cross-validate, evaluate and interpret a binary outcome."""
    frame, target, seed = dataset.frame, approach.target, options.seed
    say("Splitting (stratified) and selecting features on the training part")
    parts = split(frame, approach.stratify_on, seed)
    train, test = frame.loc[parts.train], frame.loc[parts.test]
    spec = select_features(train, target, transform=options.transform)
    y_train = encode_target(train[target], approach.positive_class)
    y_test = encode_target(test[target], approach.positive_class)
    rule = options.threshold_rule
    with worker_pool(default_workers() if options.workers is None else options.workers, preload=WORKER_MODULES) as pool:
        say("Reproducing the course's recipe (leakage audit) alongside the fit")
        course = pool.submit(course_recipe, frame, target, approach.positive_class, spec, seed)
        say(f"Checking separation and fitting the {approach.label} ({options.balance})")
        model = fit(train, y_train, spec, options.balance, seed, calibrate=options.calibrate)
        threshold = rule.choose(y_train, model.predict_proba(train[spec.columns]))
        say("Checking assumptions and cross-validating strategies, baselines and the reference model")
        checks = pool.submit(check_logistic, train, y_train, spec, model.inference, model.separation)
        pending_cv = start_cross_validation(
            train, y_train, spec, seed=seed, folds=options.cv_folds, repeats=options.cv_repeats,
            threshold_rule=rule, default_balance=options.balance, executor=pool, penalized=model.penalized,
        )
        say(f"Evaluating on the untouched test part ({options.bootstrap:,} bootstrap resamples) and calibration")
        scores = pd.Series(model.predict_proba(test[spec.columns]), index=test.index, name="score")
        negative = next(level for level in config.CATEGORIES[target] if level != approach.positive_class)
        evaluation = evaluate(y_test, scores, labels=(negative, approach.positive_class), threshold=threshold.threshold)
        intervals = bootstrap_intervals(
            y_test, scores, threshold=threshold.threshold, n_resamples=options.bootstrap, seed=seed
        )
        curve, calibration_summary = calibration(y_test, scores)
        cv = pending_cv.result()
        leakage = explain(course.result(), evaluation.metrics, approach.positive_class)
        checks = checks.result()
    spark = None
    if options.engine == "spark":
        from ..spark.fit import fit_spark

        say("Fitting and evaluating the same model on Spark")
        spark = fit_spark(
            frame, parts.train, target, approach.positive_class, spec,
            master=options.spark_master, scratch=options.spark_tmp,
        )
    say("Interpreting the coefficients")
    coefficients = coefficient_table(model.inference, model.train_scales, log1p=spec.log1p)
    return Analysis(
        dataset=dataset,
        options=options,
        approach=approach,
        eda=eda,
        features=spec,
        split=parts,
        model=model,
        coefficients=coefficients,
        findings=key_findings(coefficients, outcome_phrase=outcome_phrase(approach)),
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
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        versions=library_versions(),
    )
