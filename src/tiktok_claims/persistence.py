"""Save and load the fitted model as plain JSON: nothing executable, safe from any source.

The artifact holds the preprocessing parameters (means, scales, category levels) and
the logistic regression's coefficients, so loading it never unpickles anything. A
SHA-256 of the payload detects tampering or corruption.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__, config
from .errors import ModelFileError

FORMAT = "tiktok-claims-model"
FORMAT_VERSION = 1


def model_payload(analysis) -> dict:
    """The artifact's content, from a finished analysis."""
    pipeline = analysis.model.pipeline
    preprocess = pipeline.named_steps["preprocess"]
    scaler = preprocess.named_transformers_["continuous"]
    classifier = pipeline.named_steps["classifier"]
    spec = analysis.features
    return {
        "target": analysis.target,
        "positive_class": analysis.approach.positive_class,
        "model_family": analysis.approach.family,
        "balance": analysis.balance,
        "threshold": analysis.evaluation.threshold,
        "continuous": {
            name: {"mean": float(m), "scale": float(s)}
            for name, m, s in zip(spec.continuous, scaler.mean_, scaler.scale_)
        },
        "categorical": {name: list(config.CATEGORIES[name]) for name in spec.categorical},
        "features": list(analysis.model.feature_names),
        "coef": [float(c) for c in classifier.coef_.ravel()],
        "intercept": float(classifier.intercept_[0]),
        "training_data_sha256": analysis.dataset.sha256,
        "tool_version": __version__,
    }


def save_model(analysis, path: str | Path) -> Path:
    """Write the model artifact as JSON and return its path."""
    payload = model_payload(analysis)
    body = json.dumps(payload, sort_keys=True)
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "payload_sha256": hashlib.sha256(body.encode("utf-8")).hexdigest(),
        "payload": payload,
    }
    path = Path(path)
    path.write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")
    return path


class LoadedModel:
    """A model read back from its artifact: ``predict_proba(frame)`` scores new rows."""

    def __init__(self, payload: dict):
        self.payload = payload
        self.target = payload["target"]
        self.threshold = float(payload["threshold"])
        self._coef = np.asarray(payload["coef"], dtype=float)
        self._intercept = float(payload["intercept"])

    def design(self, frame: pd.DataFrame) -> np.ndarray:
        """Standardized continuous columns and dummy-coded categories, in fitted order."""
        columns = []
        for name, params in self.payload["continuous"].items():
            columns.append((frame[name].to_numpy(dtype=float) - params["mean"]) / params["scale"])
        for name, levels in self.payload["categorical"].items():
            values = frame[name].to_numpy()
            for level in levels[1:]:
                columns.append((values == level).astype(float))
        return np.column_stack(columns)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability (score) of the positive class for each row."""
        missing = [c for c in [*self.payload["continuous"], *self.payload["categorical"]] if c not in frame.columns]
        if missing:
            raise ModelFileError(f"the data lack the model's column(s) {', '.join(missing)}.")
        logits = self.design(frame) @ self._coef + self._intercept
        return 1.0 / (1.0 + np.exp(-logits))


def load_model(path: str | Path) -> LoadedModel:
    """Read an artifact written by :func:`save_model`, refusing anything else."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: not a tiktok-claims model artifact ({exc}).") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a tiktok-claims model artifact (expected format {FORMAT!r}).")
    if document.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {document.get('format_version')!r}; this tool reads version {FORMAT_VERSION}."
        )
    payload = document.get("payload")
    body = json.dumps(payload, sort_keys=True)
    if hashlib.sha256(body.encode("utf-8")).hexdigest() != document.get("payload_sha256"):
        raise ModelFileError(f"{path}: the model's content does not match its checksum (altered or corrupted).")
    return LoadedModel(payload)
