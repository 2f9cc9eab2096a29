"""The analysis of a non-binary outcome: ordinal, count or continuous."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from ..approach import Approach, Family, OutcomeKind
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
    eda_record,
    features_record,
    header_record,
    json_safe,
    library_versions,
    records,
)
from .results import Results, Wrapped, coefficient_table, number_text, prose, text_table

KEY_METRICS = {OutcomeKind.ORDINAL: "accuracy", OutcomeKind.COUNT: "d2_poisson_deviance", OutcomeKind.CONTINUOUS: "r2"}
"""The headline test metric of each kind (what ``repr`` shows)."""


@dataclass(frozen=True, repr=False)
class FamilyAnalysis(Results):
    """The results of a non-binary outcome's analysis (ordinal, count or continuous).

    The same stages as :class:`~tiktok_claims.analysis.binary.Analysis` where they apply
    (data, EDA, features with the target's own leakage guard, split, fit, assumptions,
    interpretation, test evaluation); reports render from :meth:`metrics` alone.
    :meth:`summary` gives the results as text, :meth:`write` every file of ``run``.

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
        The training and test rows.
    model : FamilyFit
        The fit on every used row: what the coefficients, findings and checks describe.
    test_model : FamilyFit
        The fit on the training part alone: what the untouched test part evaluates.
    coefficients : DataFrame
        One row per term: ``coef, se, z, p_value, ci_low, ci_high`` per readable unit
        (``unit``) and the family's effect (``effect``, ``effect_ci_low``, ``effect_ci_high``).
    evaluation : FamilyEvaluation
        The test metrics beside their no-predictor baselines, and the test table.
    findings : list of dict
        The key findings, with their numbers.
    assumptions : list of Check
        The family's assumption checklist.
    cut_coefficients : DataFrame
        Ordinal outcomes: each cut's own coefficients (empty otherwise).
    proportional_odds_holds : bool or None
        Ordinal outcomes: whether the proportional-odds check passed (None otherwise).
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

    @property
    def key_metric(self) -> tuple[str, float]:
        """The headline test metric: accuracy (ordinal), the share of deviance explained (count) or R² (continuous)."""
        name = KEY_METRICS.get(self.approach.kind, next(iter(self.evaluation.test)))
        return name, self.evaluation.test[name]

    @property
    def _statistic(self) -> str:
        return "t" if self.approach.family in (Family.OLS, Family.LOG_OLS) else "z"

    def _effect(self) -> tuple[str, str]:
        return "effect", EFFECT_NAMES[self.approach.family]

    def _model_facts(self) -> list[tuple[str, str]]:
        model = self.model
        facts = [
            ("Estimator", model.estimator + ("" if model.converged else " (did NOT converge)")),
            (
                "Fit (every used row)",
                ", ".join(f"{name.replace('_', ' ')} {number_text(value)}" for name, value in model.fit_statistics.items()),
            ),
        ]
        facts += [(name, number_text(value)) for name, value in model.extra_parameters.items()]
        if self.features.log1p:
            facts.append(("Transform", f"log(1 + x) of {', '.join(self.features.log1p)}"))
        if self.proportional_odds_holds is not None:
            facts.append(("Proportional odds", "holds" if self.proportional_odds_holds else "does NOT hold (see the cuts)"))
        return facts

    def _test_sections(self) -> list[list[str | Wrapped]]:
        test = self.evaluation.test
        lines = [
            *prose(
                f"Test metrics: the model fitted on the training part, on the untouched test part "
                f"({len(self.split.test):,} rows), each beside its no-predictor baseline."
            ),
            *text_table(["", "value"], [[name, number_text(value)] for name, value in test.items()]),
        ]
        if self.evaluation.majority_level is not None:
            lines += prose(f"Majority level (the baseline's guess): {self.evaluation.majority_level!r}.")
        sections = [lines]
        if len(self.cut_coefficients):
            cuts = prose("Each step's own logit of reaching at least a level (what to read where proportional odds fail):")
            for cut, rows in self.cut_coefficients.groupby("cut", sort=False):
                cuts += ["", f"At least {cut!r}:", *coefficient_table(rows, "effect", "odds ratio")]
            sections.append(cuts)
        return sections

    def metrics(self) -> dict:
        """The machine-readable record of every number a report shows (``metrics.json``).

        Returns
        -------
        dict
            Plain JSON values only (non-finite numbers as ``None``).
        """
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
