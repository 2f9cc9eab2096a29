"""The ``model.json`` of a non-binary outcome: the fitted model described for reading.

``score`` ranks videos with binary models only, and refuses this file by its ``kind``
(:data:`DESCRIPTION_KIND`). Inputs use the artifact's convention: a continuous input
carries ``"transform": "log1p"`` only when it enters as log(1 + x).
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import config

DESCRIPTION_KIND = "tiktok-claims model description"


def model_description(analysis, metrics: dict) -> dict:
    """The fitted non-binary model as plain JSON, from a finished analysis and its metrics record."""
    fit, spec = analysis.model, analysis.features
    scaler = fit.preprocessor.named_transformers_["continuous"]
    inputs = []
    for name, mean, scale in zip(spec.continuous, scaler.mean_, scaler.scale_):
        column = {"name": name, "mean": float(mean), "scale": float(scale)}
        if name in spec.log1p:
            column["transform"] = "log1p"
        inputs.append(column)
    inputs += [{"name": name, "categories": list(config.CATEGORIES[name])} for name in spec.categorical]
    return {
        "kind": DESCRIPTION_KIND,
        "target": analysis.target,
        "model_family": analysis.approach.label,
        "estimator": fit.estimator,
        "inputs": inputs,
        "coefficients_per_sd": {row["name"]: row["coef_per_sd"] for row in metrics["coefficients"]},
        "extra_parameters": fit.extra_parameters,
        "training_data": {key: metrics["data"][key] for key in ("source", "synthetic", "sha256", "rows_read", "rows_used")},
        "seed": analysis.seed,
        "tool_version": metrics["tool"]["version"],
    }


def save_description(analysis, path: str | Path, metrics: dict) -> dict[str, Path]:
    """Write :func:`model_description` at ``path``; returns it by file name."""
    path = Path(path)
    path.write_text(json.dumps(model_description(analysis, metrics), indent=2), encoding="utf-8")
    return {path.name: path}
