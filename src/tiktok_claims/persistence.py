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

* a file that is not JSON or not an artifact of this tool (its ``format`` field);
* another format version than :data:`FORMAT_VERSION`;
* a payload whose SHA-256 differs from the one recorded beside it (altered or
  corrupted; the digest detects accidents and naive edits, it is not a signature);
* a payload whose schema does not fit: a missing or mistyped field, a column or a
  category this tool does not know, a column whose kind differs from
  :data:`tiktok_claims.data.schema.SCHEMA`, a coefficient count that differs from
  the feature count, non-finite numbers.

The model card (``model_card.json`` and ``model_card.md`` beside ``model.json``) is
rendered from the payload, so the card always describes exactly the artifact.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from . import __version__, config
from .data.rules import check_values
from .data.schema import SPEC_BY_NAME, ColumnSpec
from .errors import DataError, ModelFileError
from .escaping import escape_markdown

FORMAT = "tiktok-claims-model"
FORMAT_VERSION = 2
# Written when an input carries a transform (log1p): a reader of version 2 alone, which
# would ignore the transform and score raw counts, refuses the file instead.
TRANSFORM_FORMAT_VERSION = 3
READABLE_VERSIONS = (FORMAT_VERSION, TRANSFORM_FORMAT_VERSION)
# The transforms an input may name, and the function each applies before standardizing.
INPUT_TRANSFORMS = {"log1p": np.log1p}
IDENTIFIERS: tuple[str, ...] = (config.ID_COLUMN, config.VIDEO_ID)
INTENDED_USE = (
    "Rank reported videos so that moderators review the most likely positives first. "
    "The probabilities are associations learned from past reports, not causes; a "
    "threshold decision is a triage aid, never an automatic verdict."
)
# The number syntax pyarrow's string-to-float cast accepts (and pandas' to_numeric after
# trimming spaces): used to find the values that are not numbers without failing a chunk.
REPORTED_BAD_ROWS = 5
EMPTY_ROW = "no value in any column the model reads"


# ----------------------------------------------------------------------------- saving


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
    pipeline = analysis.model.pipeline
    scaler = pipeline.named_steps["preprocess"].named_transformers_["continuous"]
    coef, intercept = analysis.model.linear_predictor()
    spec = analysis.features
    metrics = analysis.metrics() if metrics is None else metrics
    scaling = {name: (float(m), float(s)) for name, m, s in zip(spec.continuous, scaler.mean_, scaler.scale_)}
    inputs = [{"name": name, "kind": "identifier"} for name in IDENTIFIERS]
    for name in spec.continuous:
        mean, scale = scaling[name]
        column = {"name": name, "kind": SPEC_BY_NAME[name].kind, "mean": mean, "scale": scale}
        if name in scaler.log1p:
            column["transform"] = "log1p"
        inputs.append(column)
    for name in spec.categorical:
        inputs.append({"name": name, "kind": "category", "categories": list(config.CATEGORIES[name])})
    negative = next(c for c in config.CATEGORIES[analysis.target] if c != analysis.approach.positive_class)
    return {
        "target": analysis.target,
        "positive_class": analysis.approach.positive_class,
        "negative_class": negative,
        "model_family": analysis.approach.family,
        "balance": analysis.balance,
        "threshold": {key: metrics["threshold"][key] for key in ("value", "rule", "chosen_on", "description")},
        "inputs": inputs,
        "features": list(analysis.model.feature_names),
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
        "versions": dict(analysis.versions),
        "tool_version": __version__,
        "created": analysis.created,
    }


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
    transformed = any("transform" in item for item in payload["inputs"])
    document = {
        "format": FORMAT,
        "format_version": TRANSFORM_FORMAT_VERSION if transformed else FORMAT_VERSION,
        "payload_sha256": _digest(payload),
        "payload": payload,
    }
    path = Path(path)
    path.write_text(json.dumps(document, indent=2, sort_keys=True, allow_nan=False), encoding="utf-8")
    model = LoadedModel(_validated(payload), payload_sha256=document["payload_sha256"], source=path.name)
    card = model.card()
    card_json = path.with_name(f"{path.stem}_card.json")
    card_md = path.with_name(f"{path.stem}_card.md")
    card_json.write_text(json.dumps(card, indent=2, allow_nan=False), encoding="utf-8")
    card_md.write_text(card_markdown(card), encoding="utf-8")
    return {path.name: path, card_json.name: card_json, card_md.name: card_md}


def _digest(payload) -> str:
    body = json.dumps(payload, sort_keys=True, allow_nan=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------- loading


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
        If the file is unreadable, not an artifact of this tool, of another format
        version, altered since it was written, or its content does not fit the schema.

    Examples
    --------
    >>> model = load_model("out/model.json")  # doctest: +SKIP
    >>> model.predict_proba(frame)  # doctest: +SKIP
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(
            f"{path}: not a tiktok-claims model artifact ({exc}); expected the model.json that 'run' writes."
        ) from None
    if isinstance(document, dict) and document.get("kind") == "tiktok-claims model description":
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
            f"{' and '.join(map(str, READABLE_VERSIONS))}. Re-create the model with this version's 'run'."
        )
    payload = document.get("payload")
    recorded = document.get("payload_sha256")
    try:
        actual = _digest(payload)
    except (TypeError, ValueError):
        actual = None
    if actual is None or actual != recorded:
        raise ModelFileError(
            f"{path}: the model's content does not match its SHA-256 checksum, so it was altered or "
            "corrupted after it was written; re-create it with 'run' or use an untouched copy."
        )
    try:
        validated = _validated(payload)
        if version == FORMAT_VERSION and any("transform" in item for item in validated["inputs"]):
            raise _Unfit(f"version {FORMAT_VERSION} artifacts carry no transforms (those are version {TRANSFORM_FORMAT_VERSION})")
    except _Unfit as exc:
        raise ModelFileError(
            f"{path}: the model's content does not fit this tool's schema: {exc}. "
            "Re-create the model with this version's 'run'."
        ) from None
    return LoadedModel(validated, payload_sha256=recorded, source=str(path))


def _refuse_constant(name: str):
    raise ValueError(f"non-standard JSON constant {name}")


class _Unfit(Exception):
    """A payload that does not fit the artifact schema; the message says where."""


def _validated(payload) -> dict:
    """``payload`` unchanged if it fits the artifact schema, else :class:`_Unfit`."""
    _require(payload, dict, "payload")
    target = _field(payload, "target", str, "payload")
    if target not in config.CATEGORIES or len(config.CATEGORIES[target]) != 2:
        raise _Unfit(f"target {target!r} is not one of this tool's binary outcomes {_names(config.POSITIVE_CLASS)}")
    positive = _field(payload, "positive_class", str, "payload")
    negative = _field(payload, "negative_class", str, "payload")
    if sorted([positive, negative]) != sorted(config.CATEGORIES[target]):
        raise _Unfit(
            f"classes {positive!r}/{negative!r} are not the two categories of {target!r} "
            f"({_names(config.CATEGORIES[target])})"
        )
    _field(payload, "model_family", str, "payload")
    _field(payload, "balance", str, "payload")
    threshold = _field(payload, "threshold", dict, "payload")
    if not 0.0 <= _number(threshold, "value", "payload.threshold") <= 1.0:
        raise _Unfit(f"payload.threshold.value {threshold['value']!r} is not a probability in [0, 1]")
    _field(threshold, "rule", str, "payload.threshold")

    inputs = _field(payload, "inputs", list, "payload")
    seen: set[str] = set()
    for number, column in enumerate(inputs):
        _validate_input(column, f"payload.inputs[{number}]", target, seen)
    absent = [name for name in IDENTIFIERS if name not in seen]
    if absent:
        raise _Unfit(f"payload.inputs lack the identifier column(s) {_names(absent)}")

    features = _field(payload, "features", list, "payload")
    coef = _field(payload, "coef", list, "payload")
    if len(coef) != len(features):
        raise _Unfit(f"{len(coef)} coefficient(s) for {len(features)} feature(s); expected one per feature")
    for index in range(len(coef)):
        _number(coef, index, "payload.coef")
    _number(payload, "intercept", "payload")
    expected = _encoded_names(inputs)
    if features != expected:
        raise _Unfit(f"features {features!r} are not the encoding of the inputs; expected {expected!r}")

    data = _field(payload, "training_data", dict, "payload")
    if not re.fullmatch(r"[0-9a-f]{64}", _field(data, "sha256", str, "payload.training_data")):
        raise _Unfit("payload.training_data.sha256 is not a SHA-256 hex digest")
    for key in ("rows_read", "rows_used", "train_rows", "test_rows"):
        if _field(data, key, int, "payload.training_data") < 0:
            raise _Unfit(f"payload.training_data.{key} is negative")
    metrics = _field(payload, "metrics", dict, "payload")
    _field(metrics, "test", dict, "payload.metrics")
    _field(metrics, "test_ci", dict, "payload.metrics")
    _field(payload, "versions", dict, "payload")
    _field(payload, "tool_version", str, "payload")
    _field(payload, "created", str, "payload")
    return payload


def _validate_input(column, where: str, target: str, seen: set[str]) -> None:
    _require(column, dict, where)
    name = _field(column, "name", str, where)
    kind = _field(column, "kind", str, where)
    spec = SPEC_BY_NAME.get(name)
    if spec is None or spec.kind == "text" or name == target:
        raise _Unfit(f"{where}: {name!r} is not a model input this tool knows")
    if name in seen:
        raise _Unfit(f"{where}: column {name!r} is listed twice")
    seen.add(name)
    if kind != spec.kind:
        raise _Unfit(f"{where}: column {name!r} has kind {kind!r}; this tool's schema says {spec.kind!r}")
    if kind == "category":
        categories = _field(column, "categories", list, where)
        unknown = [c for c in categories if c not in spec.categories]
        if unknown:
            raise _Unfit(f"{where}: unknown categor(y/ies) {unknown!r} for {name!r}; expected {list(spec.categories)!r}")
        if categories != list(spec.categories):
            raise _Unfit(f"{where}: categories {categories!r} for {name!r}; expected {list(spec.categories)!r}")
    elif kind != "identifier":
        _number(column, "mean", where)
        if not _number(column, "scale", where) > 0:
            raise _Unfit(f"{where}: the scale of {name!r} is not positive")
        if "transform" in column and column["transform"] not in INPUT_TRANSFORMS:
            raise _Unfit(
                f"{where}: transform {column['transform']!r} of {name!r} is not one this tool applies; "
                f"expected {_names(INPUT_TRANSFORMS)} or no transform"
            )


def _encoded_names(inputs: list[dict]) -> list[str]:
    """Feature names of the design, in its column order (continuous, then dummies)."""
    continuous = [c["name"] for c in inputs if c["kind"] not in ("identifier", "category")]
    dummies = [f"{c['name']}_{level}" for c in inputs if c["kind"] == "category" for level in c["categories"][1:]]
    return continuous + dummies


def _require(value, kind: type, where: str):
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = {dict: "an object", list: "a list", str: "text", int: "a whole number"}[kind]
        raise _Unfit(f"{where} is {type(value).__name__}; expected {expected}")
    return value


def _field(container: dict, key: str, kind: type, where: str):
    if key not in container:
        raise _Unfit(f"{where} lacks the field {key!r}")
    return _require(container[key], kind, f"{where}.{key}")


def _number(container: dict | list, key: str | int, where: str) -> float:
    if isinstance(container, dict) and key not in container:
        raise _Unfit(f"{where} lacks the field {key!r}")
    value = container[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        label = f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}"
        raise _Unfit(f"{label} is {value!r}; expected a finite number")
    return float(value)


def _names(values) -> str:
    return ", ".join(repr(v) for v in values)


@dataclass(frozen=True)
class CheckedRows:
    """Rows checked against the model's inputs.

    Attributes
    ----------
    values : dict of str to ndarray
        Each column's values (see :class:`tiktok_claims.data.rules.ColumnCheck`).
    bad : ndarray of bool
        Rows with at least one problem.
    reasons : ndarray of object
        One reason per bad row, in row order: the problems joined by ``"; "``, or
        :data:`EMPTY_ROW` when no column has a value.
    """

    values: dict[str, np.ndarray]
    bad: np.ndarray
    reasons: np.ndarray


# --------------------------------------------------------------------------- the model


class LoadedModel:
    """A model read back from its artifact.

    Attributes
    ----------
    target, positive_class, negative_class : str
        The outcome and its two classes.
    threshold : float
        Scores at or above it are predicted ``positive_class``.
    inputs : tuple of ColumnSpec
        Every column the model reads: the identifiers ``#`` and ``video_id``, then
        the predictors, with their kinds and categories.
    predictors : tuple of ColumnSpec
        The inputs without the identifiers.
    payload : dict
        The artifact's validated content.
    payload_sha256 : str
        Its digest, as recorded in the artifact.
    source : str
        The file it was read from.
    """

    def __init__(self, payload: dict, *, payload_sha256: str, source: str):
        self.payload = payload
        self.payload_sha256 = payload_sha256
        self.source = source
        self.target = payload["target"]
        self.positive_class = payload["positive_class"]
        self.negative_class = payload["negative_class"]
        self.threshold = float(payload["threshold"]["value"])
        self.inputs = tuple(
            ColumnSpec(c["name"], c["kind"], tuple(c.get("categories", ()))) for c in payload["inputs"]
        )
        self.predictors = tuple(spec for spec in self.inputs if spec.kind != "identifier")
        coef = iter(payload["coef"])
        continuous = [c for c in payload["inputs"] if c["kind"] in ("count", "duration")]
        # z = intercept + sum_j coef_j * (t_j(x_j) - mean_j) / scale_j + coefficient of each row's level,
        # where t_j is the input's transform (log1p) or the identity
        self._slopes = {c["name"]: (next(coef) / c["scale"], c["mean"]) for c in continuous}
        self._transforms = {c["name"]: INPUT_TRANSFORMS[c["transform"]] for c in continuous if "transform" in c}
        self._levels = {
            c["name"]: np.array([0.0, *(next(coef) for _ in c["categories"][1:])])
            for c in payload["inputs"]
            if c["kind"] == "category"
        }
        self._intercept = float(payload["intercept"])

    def __repr__(self) -> str:
        return f"LoadedModel(target={self.target!r}, source={self.source!r})"

    def check(self, table: pa.Table, columns: tuple[ColumnSpec, ...]) -> CheckedRows:
        """Check ``columns`` of ``table`` row by row (see :func:`check_values`).

        A row's reason lists its missing columns first (``"missing a, b"``), then its
        other problems, joined by ``"; "``, columns in the file's order (as ``load.py``
        names them); a row without any value gets :data:`EMPTY_ROW`.
        """
        in_file_order = sorted(columns, key=lambda spec: config.COLUMNS.index(spec.name))
        checks = {spec.name: check_values(table.column(spec.name), spec) for spec in in_file_order}
        bad = np.zeros(table.num_rows, dtype=bool)
        empty = np.ones(table.num_rows, dtype=bool)
        for check in checks.values():
            empty &= check.missing
            bad |= check.missing
            for _, mask in check.problems:
                bad |= mask
        missing = np.full(int(bad.sum()), "", dtype=object)
        for name, check in checks.items():
            _append(missing, check.missing[bad], name, ", ")
        reasons = np.where(missing == "", "", "missing " + missing).astype(object)
        for check in checks.values():
            for reason, mask in check.problems:
                _append(reasons, mask[bad], reason, "; ")
        reasons[empty[bad]] = EMPTY_ROW
        return CheckedRows({name: check.values for name, check in checks.items()}, bad, reasons)

    def probabilities(self, values: dict[str, np.ndarray]) -> np.ndarray:
        """Scores from checked values (see :meth:`check`); meaningful for rows without problems.

        The same arithmetic as the fitted pipeline: log(1 + x) of the inputs whose
        ``transform`` is ``log1p``, standardize, dummy-code, the linear predictor, then
        the logistic function 1 / (1 + exp(-z)).
        """
        n = len(next(iter(values.values())))
        logits = np.full(n, self._intercept)
        # Rows with problems may hold NaN, infinities or negative counts: their results are
        # meaningless but must not warn. exp(-z) overflows to inf for z < -709, giving
        # probability 0.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for name, (slope, mean) in self._slopes.items():
                x = values[name]
                if name in self._transforms:
                    x = self._transforms[name](x)
                logits += slope * (x - mean)
            for name, table in self._levels.items():
                logits += table.take(values[name], mode="clip")
            return 1.0 / (1.0 + np.exp(-logits))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of the positive class for each row of ``frame``.

        Parameters
        ----------
        frame : DataFrame
            At least the predictor columns (extra columns are ignored), as numbers
            or text.

        Returns
        -------
        ndarray of float64
            One probability per row, in row order.

        Raises
        ------
        DataError
            If a predictor column is absent, or a value breaks its rule (missing,
            not a number, negative count, unknown category, ...); the message names
            the first rows and their reasons.
        """
        absent = [spec.name for spec in self.predictors if spec.name not in frame.columns]
        if absent:
            raise DataError(
                f"the data lack the model's column(s) {_names(absent)}; expected {_names(s.name for s in self.predictors)}."
            )
        try:
            table = pa.table({spec.name: pa.Array.from_pandas(frame[spec.name]) for spec in self.predictors})
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise DataError(f"the data's predictor columns are neither numbers nor text ({exc}).") from None
        checked = self.check(table, self.predictors)
        if checked.bad.any():
            labels = frame.index[checked.bad]
            shown = [f"row {label!r}: {reason}" for label, reason in list(zip(labels, checked.reasons))[:REPORTED_BAD_ROWS]]
            more = f" and {len(labels) - len(shown)} more" if len(labels) > len(shown) else ""
            raise DataError(
                f"{len(labels)} row(s) do not fit the model's schema ({'; '.join(shown)}{more}); expected "
                + "; ".join(f"{s.name}: {s.expected}" for s in self.predictors)
                + "."
            )
        return self.probabilities(checked.values)

    def card(self) -> dict:
        """The model card's content, from the payload (what ``model_card.json`` holds)."""
        p = self.payload
        inputs = []
        for column in p["inputs"]:
            spec = SPEC_BY_NAME[column["name"]]
            entry = {"name": spec.name, "kind": spec.kind, "expected": spec.expected}
            if spec.kind == "identifier":
                entry["role"] = "identifier (copied to the scored output, not a predictor)"
            elif spec.kind == "category":
                entry["categories"] = column["categories"]
                entry["role"] = f"predictor, dummy-coded against the reference {column['categories'][0]!r}"
            elif column.get("transform") == "log1p":
                entry["transform"] = "log1p"
                entry["role"] = (
                    f"predictor, entered as log(1 + {spec.name}) and standardized with mean {column['mean']:.6g} "
                    f"and scale {column['scale']:.6g} of log(1 + {spec.name})"
                )
            else:
                entry["role"] = f"predictor, standardized with mean {column['mean']:.6g} and scale {column['scale']:.6g}"
            inputs.append(entry)
        return {
            "model": {
                "format": FORMAT,
                "format_version": TRANSFORM_FORMAT_VERSION if any("transform" in c for c in p["inputs"]) else FORMAT_VERSION,
                "payload_sha256": self.payload_sha256,
            },
            "tool": {"name": "tiktok-claims", "version": p["tool_version"], "created": p["created"]},
            "target": {"column": p["target"], "positive_class": p["positive_class"], "negative_class": p["negative_class"]},
            "model_family": p["model_family"],
            "balance": p["balance"],
            "intended_use": INTENDED_USE,
            "inputs": inputs,
            "coefficients": [
                {"feature": name, "coefficient": coef}
                for name, coef in zip(["intercept", *p["features"]], [p["intercept"], *p["coef"]])
            ],
            "threshold": p["threshold"],
            "training_data": p["training_data"],
            "metrics": p["metrics"],
            "versions": p["versions"],
        }


def _append(texts: np.ndarray, hit: np.ndarray, item: str, separator: str) -> None:
    """Append ``item`` to the texts where ``hit``, with ``separator`` after non-empty ones."""
    if hit.any():
        current = texts[hit]
        texts[hit] = np.where(current == "", item, current + separator + item)


# ------------------------------------------------------------------------ model card

def card_markdown(card: dict) -> str:
    """The model card as Markdown, from :meth:`LoadedModel.card`'s content."""
    target, data, metrics = card["target"], card["training_data"], card["metrics"]
    lines = [
        f"# Model card: {escape_markdown(target['column'])}",
        "",
        f"- **Model**: {escape_markdown(card['model_family'])} ({escape_markdown(card['balance'])}), predicting "
        f"P({escape_markdown(target['column'])} = {escape_markdown(target['positive_class'])}); the other class is "
        f"{escape_markdown(target['negative_class'])}.",
        f"- **Created**: {escape_markdown(card['tool']['created'])} by tiktok-claims {escape_markdown(card['tool']['version'])}; "
        f"artifact format {card['model']['format_version']}, payload SHA-256 `{card['model']['payload_sha256']}`.",
        f"- **Intended use**: {escape_markdown(card['intended_use'])}",
        "",
        "## Inputs",
        "",
        "| column | expected | role |",
        "|---|---|---|",
        *(f"| {escape_markdown(c['name'])} | {escape_markdown(c['expected'])} | {escape_markdown(c['role'])} |" for c in card["inputs"]),
        "",
        "Rows that break these rules are rejected with their reason by `tiktok-claims score`.",
        "",
        "## Training data",
        "",
        f"- source: {escape_markdown(data['source'])}{' (SYNTHETIC)' if data['synthetic'] else ''}",
        f"- SHA-256: `{data['sha256']}`",
        f"- rows read {data['rows_read']:,}; used {data['rows_used']:,}; training part {data['train_rows']:,}; "
        f"test part {data['test_rows']:,} (seed {data['seed']})",
        *(f"- set aside: {escape_markdown(reason)}: {n:,}" for reason, n in data["rows_set_aside"].items()),
        "",
        "## Test metrics (95% bootstrap confidence intervals)",
        "",
        "| metric | estimate | CI low | CI high |",
        "|---|---|---|---|",
        *(
            f"| {escape_markdown(name)} | {_fmt(ci['estimate'])} | {_fmt(ci['ci_low'])} | {_fmt(ci['ci_high'])} |"
            for name, ci in metrics["test_ci"].items()
        ),
        "",
        f"Threshold: **{_fmt(card['threshold']['value'])}** ({escape_markdown(card['threshold']['rule'])} rule, chosen on "
        f"{escape_markdown(card['threshold']['chosen_on'])}): {escape_markdown(card['threshold']['description'])}.",
        "",
        "## Coefficients (standardized continuous predictors)",
        "",
        *(
            [
                "Inputs whose role reads log(1 + …) enter as the logarithm of one plus the count, then standardized; "
                "their coefficients are per standard deviation of that logarithm.",
                "",
            ]
            if any(c.get("transform") == "log1p" for c in card["inputs"])
            else []
        ),
        "| feature | coefficient |",
        "|---|---|",
        *(f"| {escape_markdown(c['feature'])} | {_fmt(c['coefficient'])} |" for c in card["coefficients"]),
        "",
        "## Library versions",
        "",
        *(f"- {escape_markdown(name)}: {escape_markdown(version)}" for name, version in card["versions"].items()),
        "",
    ]
    return "\n".join(lines)


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.4f}"
