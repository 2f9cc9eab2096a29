"""The whole analysis, computed once into one results object that every report renders."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pandas as pd

from . import __version__, config
from .approach import Approach, choose_approach
from .data.load import Dataset, dataset_from_frame, load_dataset
from .eda import EdaResult, explore
from .evaluation import Evaluation, evaluate
from .features import FeatureSpec, select_features
from .interpretation import coefficient_table, key_findings
from .modeling import FittedModel, Split, encode_target, fit, split

Progress = Callable[[str], None]

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
    test_scores: pd.Series = field(repr=False)
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)

    def metrics(self) -> dict:
        """The machine-readable record of every number a report shows (``metrics.json``)."""
        ds = self.dataset
        return {
            "tool": {"name": "tiktok-claims", "version": __version__, "created": self.created},
            "data": {
                "source": ds.source,
                "synthetic": ds.synthetic,
                "sha256": ds.sha256,
                "rows_read": ds.rows_read,
                "rows_used": ds.rows_used,
                "rows_set_aside": ds.rows_set_aside,
                "notes": list(ds.notes),
            },
            "target": self.target,
            "positive_class": self.approach.positive_class,
            "model_family": self.approach.family,
            "approach_reason": self.approach.reason,
            "seed": self.seed,
            "balance": self.balance,
            "split": {
                "test_size": self.split.test_size,
                "train_rows": len(self.split.train),
                "test_rows": len(self.split.test),
                "stratified_on": self.target,
            },
            "features": {
                "continuous": list(self.features.continuous),
                "categorical": list(self.features.categorical),
                "encoded": list(self.model.feature_names),
                "dropped": self.features.dropped,
                "rule": self.features.rule,
                "vif": _records(self.features.vif_rounds),
                "correlated_pairs": _records(self.features.correlated_pairs),
            },
            "convergence": {
                "sklearn_lbfgs_iterations": self.model.sklearn_iterations,
                "statsmodels_converged": self.model.inference_converged,
                "statsmodels_newton_iterations": self.model.inference_iterations,
            },
            "fit": {
                "train_log_likelihood": float(self.model.inference.llf),
                "null_log_likelihood": float(self.model.inference.llnull),
                "mcfadden_pseudo_r2": float(self.model.inference.prsquared),
                "llr_p_value": float(self.model.inference.llr_pvalue),
            },
            "coefficients": _records(self.coefficients),
            "findings": self.findings,
            "test": self.evaluation.metrics,
            "test_confusion_matrix": {
                "labels": list(self.evaluation.labels),
                "matrix": self.evaluation.confusion.to_numpy().tolist(),
            },
            "test_per_class": _records(self.evaluation.per_class),
            "eda": {
                "duplicates": _records(self.eda.duplicates),
                "class_balance": _records(self.eda.class_balance),
                "outliers": _records(self.eda.outliers),
                "missing": _records(self.eda.overview[["column", "missing"]]),
            },
            "versions": self.versions,
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
    progress: Progress | None = None,
) -> Analysis:
    """Run the whole analysis and return one results object.

    ``data`` is a path (CSV, .csv.gz, Parquet), a DataFrame with the schema's
    columns, or ``None`` for the built-in synthetic dataset.

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
    say("Exploring the data")
    eda = explore(dataset.all_rows, frame, target)
    say("Splitting (stratified) and selecting features on the training part")
    parts = split(frame, target, seed)
    train, test = frame.loc[parts.train], frame.loc[parts.test]
    spec = select_features(train, target)
    y_train = encode_target(train[target], approach.positive_class)
    y_test = encode_target(test[target], approach.positive_class)
    say(f"Fitting the {approach.family} ({balance})")
    model = fit(train, y_train, spec, balance, seed)
    say("Evaluating on the untouched test part")
    scores = pd.Series(model.predict_proba(test[spec.columns]), index=test.index, name="score")
    negative = next(level for level in config.CATEGORIES[target] if level != approach.positive_class)
    evaluation = evaluate(
        y_test, scores, labels=(negative, approach.positive_class), threshold=config.DECISION_THRESHOLD
    )
    say("Interpreting the coefficients")
    coefficients = coefficient_table(model.inference, model.train_scales)
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
        test_scores=scores,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        versions=library_versions(),
    )


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
