"""The analysis of a non-binary outcome: ordinal, count or continuous."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from ..approach import Approach, OutcomeKind
from ..data.load import Dataset
from ..diagnostics.check import Check
from ..diagnostics.families import check_family
from ..eda import EdaResult
from ..evaluation.families import FamilyEvaluation, evaluate_family
from ..interpretation.effects import EFFECT_NAMES, cut_coefficients, family_coefficients
from ..interpretation.family_story import family_story
from ..interpretation.findings import cut_findings, family_findings, outcome_phrase
from ..model.families import FamilyFit, fit_family
from ..model.features import FeatureSpec, select_features
from ..model.split import Split, split
from ..timing import StageClock
from .options import AnalysisOptions
from .records import (
    ReadsOptions,
    eda_record,
    features_record,
    header_record,
    json_safe,
    library_versions,
    records,
)


@dataclass(frozen=True)
class FamilyAnalysis(ReadsOptions):
    """What ``run`` computed for a non-binary outcome (ordinal, count or continuous).

    The same stages as :class:`~tiktok_claims.analysis.binary.Analysis` where they apply
    (data, EDA, features with the target's own leakage guard, split, fit, assumptions,
    interpretation, test evaluation); reports render from :meth:`metrics` alone.
    """

    dataset: Dataset
    options: AnalysisOptions
    approach: Approach
    eda: EdaResult
    features: FeatureSpec
    split: Split
    model: FamilyFit
    """The fit on every used row: what the coefficients, findings and checks describe."""
    test_model: FamilyFit
    """The fit on the training part alone: what the untouched test part evaluates."""
    coefficients: pd.DataFrame = field(repr=False)
    evaluation: FamilyEvaluation = field(repr=False)
    findings: list[dict] = field(default_factory=list)
    assumptions: list[Check] = field(repr=False, default_factory=list)
    cut_coefficients: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    proportional_odds_holds: bool | None = None
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def metrics(self) -> dict:
        """The machine-readable record of every number a report shows (``metrics.json``)."""
        model = self.model
        record = json_safe({
            **header_record(self),
            "approach_statistics": self.approach.statistics,
            "seed": self.seed,
            "split": {
                "test_size": self.split.test_size,
                "train_rows": len(self.split.train),
                "test_rows": len(self.split.test),
                "stratified_on": self.approach.stratify_on,
            },
            "features": features_record(self.features, model.feature_names),
            "estimation": {
                "rows": len(self.dataset.frame),
                "estimator": model.estimator,
                "converged": model.converged,
                "iterations": model.iterations,
                "effect_name": EFFECT_NAMES[self.approach.family],
                "extra_parameters": model.extra_parameters,
            },
            "fit": {"rows": len(self.dataset.frame), **model.fit_statistics},
            "assumptions": [check.to_record() for check in self.assumptions],
            "coefficients": records(self.coefficients),
            "cut_coefficients": records(self.cut_coefficients),
            "proportional_odds_holds": self.proportional_odds_holds,
            "findings": self.findings,
            "test": self.evaluation.test,
            "test_majority_level": self.evaluation.majority_level,
            "test_table": records(self.evaluation.test_table),
            "eda": eda_record(self.eda),
            "engine": {"name": "in-process (statsmodels)"},
            "command": self.options.command,
            "versions": self.versions,
            "timings": dict(self.timings),
        })
        record["story"] = family_story(record)
        return record


def analyze_family(
    dataset: Dataset, approach: Approach, eda: EdaResult, options: AnalysisOptions, clock: StageClock
) -> FamilyAnalysis:
    """Split, select features, fit, evaluate, check and interpret an ordinal, count or continuous outcome."""
    frame, target = dataset.frame, approach.target
    clock.start(
        "split_and_features",
        f"Splitting ({'stratified' if approach.stratify_on else 'random'}) and selecting features on the training part",
    )
    parts = split(frame, approach.stratify_on, options.seed)
    train, test = frame.loc[parts.train], frame.loc[parts.test]
    spec = select_features(train, target, transform=options.transform, source=dataset.source)
    clock.start("fit_and_evaluate", f"Fitting the {approach.label} on the training part and evaluating it on the untouched test part")
    test_model = fit_family(train, spec, approach)
    evaluation = evaluate_family(test_model, train, test)
    clock.start("inference_and_checks", "Fitting it on every used row and checking its assumptions")
    model = fit_family(frame, spec, approach)
    checks = check_family(frame, spec, approach)
    coefficients = family_coefficients(model)
    holds = None
    cuts = pd.DataFrame()
    if approach.kind is OutcomeKind.ORDINAL:
        holds = next(c.verdict == "pass" for c in checks if c.name.startswith("Proportional odds"))
        cuts = cut_coefficients(model)
    if holds is False:
        findings = cut_findings(cuts, model.levels)
    else:
        findings = family_findings(coefficients, approach.family, outcome_phrase(approach))
    return FamilyAnalysis(
        dataset=dataset,
        options=options,
        approach=approach,
        eda=eda,
        features=spec,
        split=parts,
        model=model,
        test_model=test_model,
        coefficients=coefficients,
        evaluation=evaluation,
        findings=findings,
        assumptions=checks,
        cut_coefficients=cuts,
        proportional_odds_holds=holds,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        versions=library_versions(),
        timings=dict(clock.stop()),
    )
