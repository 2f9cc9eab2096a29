"""The pieces of ``metrics.json`` that every analysis kind shares, as plain JSON values."""

from __future__ import annotations

import math
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

import pandas as pd

from .. import config
from .._version import __version__
from ..data.load import Dataset
from ..eda import EdaResult
from ..evaluation.cross_validation import paired_differences
from ..model.features import FeatureSpec


class ReadsOptions:
    """The options every analysis kind is read by: its target and its seed."""

    @property
    def target(self) -> str:
        return self.options.target

    @property
    def seed(self) -> int:
        return self.options.seed


LIBRARIES = ("numpy", "pandas", "scipy", "scikit-learn", "statsmodels", "imbalanced-learn", "matplotlib", "pyarrow")


def header_record(analysis) -> dict:
    """The fields every ``metrics.json`` starts with: tool, data, target and the approach."""
    return {
        "tool": {
            "name": "tiktok-claims",
            "version": __version__,
            "metrics_schema": config.METRICS_SCHEMA,
            "created": analysis.created,
        },
        "data": data_record(analysis.dataset),
        "target": analysis.target,
        "outcome_type": analysis.approach.kind.value,
        "outcome_label": analysis.approach.kind.label,
        "family": analysis.approach.family.value,
        "model_family": analysis.approach.label,
        "approach_reason": analysis.approach.reason,
    }


def data_record(ds: Dataset) -> dict:
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


def features_record(spec: FeatureSpec, encoded) -> dict:
    return {
        "continuous": list(spec.continuous),
        "categorical": list(spec.categorical),
        "log1p": list(spec.log1p),
        "encoded": list(encoded),
        "dropped": spec.dropped,
        "vif_dropped": list(spec.vif_dropped),
        "unestimable": list(spec.unestimable),
        "rule": spec.rule,
        "vif": records(spec.vif_rounds),
        "correlated_pairs": records(spec.correlated_pairs),
    }


def eda_record(eda: EdaResult) -> dict:
    return {
        "rows": eda.n_rows,
        "columns": eda.n_columns,
        "overview": records(eda.overview),
        "describe": records(eda.describe),
        "duplicates": records(eda.duplicates),
        "repeated_transcripts": records(eda.repeated_transcripts),
        "class_balance": records(eda.class_balance),
        "outliers": records(eda.outliers),
        "pearson": records(eda.pearson.rename_axis("column").reset_index()),
        "spearman": records(eda.spearman.rename_axis("column").reset_index()),
        "text_length": records(eda.text_length),
        "by_category": records(eda.by_category),
    }


def json_safe(value):
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def cv_record(cv) -> dict:
    summary = {}
    for row in records(cv.summary):
        summary.setdefault(row["model"], {})[row["metric"]] = {k: row[k] for k in ("mean", "sd", "ci_low", "ci_high")}
    return {
        "folds": cv.folds,
        "repeats": cv.repeats,
        "threshold_rule": cv.threshold_rule,
        "default_model": cv.default_model,
        "default_reason": cv.default_reason,
        "models": summary,
        # Each model's ROC-AUC less the default model's on the same folds (the interval to compare them by).
        "paired_roc_auc": {
            row["model"]: {k: row[k] for k in ("mean", "sd", "ci_low", "ci_high")}
            for row in records(paired_differences(cv.fold_metrics, cv.default_model))
        },
    }


def records(frame: pd.DataFrame) -> list[dict]:
    return [
        {key: (value.item() if hasattr(value, "item") else value) for key, value in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries whose numbers the analysis depends on."""

    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
