"""Save and load the fitted model as plain JSON, with its model card.

The artifact (``model.json``) holds the model's input schema, the preprocessing
parameters (means and scales of the continuous predictors, category levels with the
reference first), the logistic regression's coefficients, and what the model card
reports (training data digest and row counts, test metrics with confidence
intervals, the threshold, library versions, creation time). Loading it never
unpickles or executes anything, so an artifact from any source is safe to open.

A continuous input may carry ``"transform": "log1p"``: the model reads it as
log(1 + x), and its ``mean`` and ``scale`` are those of log(1 + x) on the training
part. Without the field the input enters as it is (so artifacts written before the
field existed read as before). Negative counts never reach the transform: the
scorer rejects them (:func:`tiktok_claims.data.rules.check_values`).

:func:`load_model` refuses, with :class:`~tiktok_claims.errors.ModelFileError`:

* a path that is not a regular file (a device such as ``/dev/zero``, a FIFO), or a
  file larger than :data:`~tiktok_claims.data.files.SMALL_FILE_LIMIT` (an artifact is
  kilobytes), before reading it (:func:`tiktok_claims.data.files.read_json_file`);
* a file that is not JSON (or JSON nested too deeply to read) or not an artifact of
  this tool (its ``format`` field);
* another format version than :data:`FORMAT_VERSION`;
* a payload whose SHA-256 differs from the one recorded beside it (altered or
  corrupted; the digest detects accidents and naive edits, it is not a signature);
* a payload whose schema does not fit: a missing or mistyped field, a column or a
  category this tool does not know, a column whose kind differs from
  :data:`tiktok_claims.data.schema.SCHEMA`, a coefficient count that differs from
  the feature count, non-finite numbers.

The model card (``model_card.json`` and ``model_card.md`` beside ``model.json``) is
rendered from the payload (:mod:`tiktok_claims.artifact.card`).
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import config
from .._version import __version__
from ..approach import OutcomeKind
from ..data.files import read_json_file
from ..data.schema import SPEC_BY_NAME
from ..errors import ModelFileError
from .card import card, card_markdown
from .description import DESCRIPTION_KIND, save_description
from .model import LoadedModel
from .schema import (
    FORMAT,
    FORMAT_VERSION,
    FORMULA_FORMAT_VERSION,
    IDENTIFIERS,
    READABLE_VERSIONS,
    TRANSFORM_FORMAT_VERSION,
    Unfit,
    digest,
    format_version,
    validated,
)


def model_payload(analysis, metrics: dict | None = None) -> dict:
    """The artifact's content, from a finished analysis.

    Parameters
    ----------
    analysis : Analysis
        The results of :func:`tiktok_claims.analysis.analyze`.
    metrics : dict, optional
        ``analysis.metrics()`` when the caller has it already.

    Returns
    -------
    dict
        Plain JSON values only. Ordered things (inputs, features, coefficients) are
        lists, so writing with sorted keys never reorders them.
    """
    pipeline = analysis.classifier.pipeline
    coef, intercept = analysis.classifier.linear_predictor()
    spec = analysis.features
    metrics = analysis.metrics() if metrics is None else metrics
    if spec.formula is None:
        inputs, formula = _inputs(spec, pipeline.named_steps["preprocess"].named_transformers_["continuous"]), None
    else:
        inputs, formula = _formula_inputs(spec, pipeline.named_steps["preprocess"])
    negative = next(c for c in config.CATEGORIES[analysis.target] if c != analysis.approach.positive_class)
    return {
        "target": analysis.target,
        "positive_class": analysis.approach.positive_class,
        "negative_class": negative,
        "model_family": analysis.approach.label,
        "balance": analysis.balance,
        "threshold": {key: metrics["threshold"][key] for key in ("value", "rule", "chosen_on", "description")},
        "inputs": inputs,
        "features": list(analysis.classifier.feature_names),
        "coef": [float(c) for c in coef],
        "intercept": float(intercept),
        "training_data": {
            **{
                key: metrics["data"][key]
                for key in ("source", "synthetic", "sha256", "rows_read", "rows_used", "rows_set_aside")
            },
            "train_rows": metrics["split"]["train_rows"],
            "test_rows": metrics["split"]["test_rows"],
            "seed": analysis.seed,
        },
        "metrics": {"test": metrics["test"], "test_ci": metrics["test_ci"]},
        "output": dict(metrics["output"]),
        "use": {
            "verdict": metrics["story"]["verdict"]["level"],
            "verdict_headline": metrics["story"]["verdict"]["headline"],
            "intended_use": metrics["story"]["intended_use"],
            "limitations": list(metrics["story"]["limitations"]),
        },
        "versions": dict(analysis.versions),
        "tool_version": __version__,
        "created": analysis.created,
        **({"formula": formula} if formula is not None else {}),
    }


def _inputs(spec, scaler) -> list[dict]:
    """The default model's inputs: each continuous one with its transform, mean and scale; each category with its levels."""
    inputs = [{"name": name, "kind": "identifier"} for name in IDENTIFIERS]
    for name, mean, scale in zip(spec.continuous, scaler.mean_, scaler.scale_):
        column = {"name": name, "kind": SPEC_BY_NAME[name].kind, "mean": float(mean), "scale": float(scale)}
        if name in scaler.log1p:
            column["transform"] = "log1p"
        inputs.append(column)
    for name in spec.categorical:
        inputs.append({"name": name, "kind": "category", "categories": list(config.CATEGORIES[name])})
    return inputs


def _formula_inputs(spec, design) -> tuple[list[dict], dict]:
    """A formula model's inputs (the columns it reads) and its formula section (the design's columns and their scaling)."""
    inputs = [{"name": name, "kind": "identifier"} for name in IDENTIFIERS]
    for name in spec.formula.columns:
        column = {"name": name, "kind": SPEC_BY_NAME[name].kind}
        if name in config.CATEGORIES:
            column["categories"] = list(config.CATEGORIES[name])
        inputs.append(column)
    columns = [
        {**column.record(), **({"mean": float(mean), "scale": float(scale)} if column.numeric else {})}
        for column, mean, scale in zip(design.design_, design.mean_, design.scale_)
    ]
    return inputs, {"text": spec.formula.text, "design": columns}


def save_model(analysis, path: str | Path, metrics: dict | None = None) -> dict[str, Path]:
    """Write the model artifact at ``path`` and its model card beside it.

    Parameters
    ----------
    analysis : Analysis
        A finished analysis.
    path : str or Path
        The artifact's file, conventionally ``model.json``. The card goes to
        ``<stem>_card.json`` and ``<stem>_card.md`` in the same directory.
    metrics : dict, optional
        ``analysis.metrics()`` when the caller has it already (it is not recomputed).

    Returns
    -------
    dict of str to Path
        The three files written, by file name (e.g. ``model.json``, ``model_card.json``,
        ``model_card.md``).

    Examples
    --------
    >>> written = save_model(analysis, "out/model.json")  # doctest: +SKIP
    >>> load_model(written["model.json"]).predict_proba(frame)  # doctest: +SKIP
    """
    payload = model_payload(analysis, metrics)
    document = {
        "format": FORMAT,
        "format_version": format_version(payload),
        "payload_sha256": digest(payload),
        "payload": payload,
    }
    path = Path(path)
    path.write_text(json.dumps(document, indent=2, sort_keys=True, allow_nan=False), encoding="utf-8")
    model = LoadedModel(validated(payload), payload_sha256=document["payload_sha256"], source=path.name)
    content = card(model)
    card_json = path.with_name(f"{path.stem}_card.json")
    card_md = path.with_name(f"{path.stem}_card.md")
    card_json.write_text(json.dumps(content, indent=2, allow_nan=False), encoding="utf-8")
    card_md.write_text(card_markdown(content), encoding="utf-8")
    return {path.name: path, card_json.name: card_json, card_md.name: card_md}


def load_model(path: str | Path) -> LoadedModel:
    """Read an artifact written by :func:`save_model`, refusing anything else.

    Parameters
    ----------
    path : str or Path
        The ``model.json`` file.

    Returns
    -------
    LoadedModel

    Raises
    ------
    ModelFileError
        If the file is missing, not a regular file (a device, a FIFO), larger than
        16 MiB, not an artifact of this tool (e.g. not JSON, or JSON nested too deeply),
        of another format version, altered since it was written, or its content does
        not fit the schema.

    Examples
    --------
    >>> model = load_model("out/model.json")  # doctest: +SKIP
    >>> model.predict_proba(frame)  # doctest: +SKIP
    """
    path = Path(path)
    document = read_json_file(
        path,
        "not a tiktok-claims model artifact",
        "a model artifact (the model.json that 'run' writes)",
        error=ModelFileError,
    )
    if isinstance(document, dict) and document.get("kind") == DESCRIPTION_KIND:
        raise ModelFileError(
            f"{path}: describes a {document.get('model_family')} of {document.get('target')!r}; 'score' ranks "
            "videos with a binary model. Use the model.json of 'run --target verified_status' (or claim_status)."
        )
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(
            f"{path}: not a tiktok-claims model artifact (expected a JSON object with format {FORMAT!r}); "
            "use the model.json that 'run' writes."
        )
    version = document.get("format_version")
    if version not in READABLE_VERSIONS:
        raise ModelFileError(
            f"{path}: model format version {version!r}; this tool reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS[:-1]))} and {READABLE_VERSIONS[-1]}. Re-create the model with this version's 'run'."
        )
    payload = document.get("payload")
    recorded = document.get("payload_sha256")
    try:
        actual = digest(payload)
    except (TypeError, ValueError, RecursionError):
        actual = None
    if actual is None or actual != recorded:
        raise ModelFileError(
            f"{path}: the model's content does not match its SHA-256 checksum, so it was altered or "
            "corrupted after it was written; re-create it with 'run' or use an untouched copy."
        )
    try:
        content = validated(payload)
        if version == FORMAT_VERSION and any("transform" in item for item in content["inputs"]):
            raise Unfit(f"version {FORMAT_VERSION} artifacts carry no transforms (those are version {TRANSFORM_FORMAT_VERSION})")
        if (version == FORMULA_FORMAT_VERSION) != ("formula" in content):
            raise Unfit(f"formulas are carried by version {FORMULA_FORMAT_VERSION} artifacts, and only by them")
    except Unfit as exc:
        raise ModelFileError(
            f"{path}: the model's content does not fit this tool's schema: {exc}. "
            "Re-create the model with this version's 'run'."
        ) from None
    return LoadedModel(content, payload_sha256=recorded, source=str(path))


ARTIFACT_FILES = ("model.json", "model_card.json", "model_card.md")
"""The files :func:`save_artifact` may write."""


def save_artifact(analysis, out: str | Path, metrics: dict) -> dict[str, Path]:
    """Write a finished analysis's ``model.json`` (and, for a binary model, its card) into ``out``.

    A binary outcome gets the scoring artifact (:func:`save_model`); any other outcome a
    description of its fit (:func:`tiktok_claims.artifact.description.save_description`).
    Returns the files written by name.
    """
    path = Path(out) / "model.json"
    if analysis.approach.kind is OutcomeKind.BINARY:
        return save_model(analysis, path, metrics)
    return save_description(analysis, path, metrics)

