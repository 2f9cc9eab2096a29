"""The artifact's file format: its name, versions, checksum and the schema its payload must fit.

``model.json`` is ``{"format", "format_version", "payload_sha256", "payload"}``. A
continuous input may carry ``"transform": "log1p"``: the model reads it as log(1 + x),
and its ``mean`` and ``scale`` are those of log(1 + x) on the training part. Without the
field the input enters as it is (so artifacts written before the field existed read as
before); artifacts with a transform are written as version 3, so a reader of version 2
alone refuses them instead of scoring raw counts.

A model fitted from a formula is written as version 4, with ``"formula": {"text", "design"}``:
its inputs are the columns the formula reads (without scaling), and ``design`` lists the
design's columns (name, statsmodels' name, parts; ``mean`` and ``scale`` for those with a
numeric part), in the order of ``features`` and ``coef``. The formula is parsed again
and held to the rules of :func:`tiktok_claims.model.formula.parse_formula` (never
evaluated), and the design it gives must be the one recorded.
"""

from __future__ import annotations

import hashlib
import json
import math
import re

import numpy as np

from .. import config
from ..data.schema import SPEC_BY_NAME
from ..errors import OptionsError
from ..model.formula import design_columns, parse_formula

FORMAT = "tiktok-claims-model"
FORMAT_VERSION = 2
TRANSFORM_FORMAT_VERSION = 3
FORMULA_FORMAT_VERSION = 4
READABLE_VERSIONS = (FORMAT_VERSION, TRANSFORM_FORMAT_VERSION, FORMULA_FORMAT_VERSION)
# The transforms an input may name, and the function each applies before standardizing.
INPUT_TRANSFORMS = {"log1p": np.log1p}
IDENTIFIERS: tuple[str, ...] = (config.ID_COLUMN, config.VIDEO_ID)
# The classifier's output: probabilities (calibrated, or unweighted) or scores that only rank.
OUTPUT_NAMES = ("probability", "score")


def format_version(payload: dict) -> int:
    """The version a payload is written as: 4 with a formula, 3 when an input carries a transform, else 2."""
    if "formula" in payload:
        return FORMULA_FORMAT_VERSION
    return TRANSFORM_FORMAT_VERSION if any("transform" in item for item in payload["inputs"]) else FORMAT_VERSION


def digest(payload) -> str:
    body = json.dumps(payload, sort_keys=True, allow_nan=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class Unfit(Exception):
    """A payload that does not fit the artifact schema; the message says where."""


def validated(payload) -> dict:
    """``payload`` unchanged if it fits the artifact schema, else :class:`Unfit`."""
    _require(payload, dict, "payload")
    target = _field(payload, "target", str, "payload")
    if target not in config.CATEGORIES or len(config.CATEGORIES[target]) != 2:
        raise Unfit(f"target {target!r} is not one of this tool's binary outcomes {_names(config.POSITIVE_CLASS)}")
    positive = _field(payload, "positive_class", str, "payload")
    negative = _field(payload, "negative_class", str, "payload")
    if sorted([positive, negative]) != sorted(config.CATEGORIES[target]):
        raise Unfit(
            f"classes {positive!r}/{negative!r} are not the two categories of {target!r} "
            f"({_names(config.CATEGORIES[target])})"
        )
    _field(payload, "model_family", str, "payload")
    _field(payload, "balance", str, "payload")
    threshold = _field(payload, "threshold", dict, "payload")
    if not 0.0 <= _number(threshold, "value", "payload.threshold") <= 1.0:
        raise Unfit(f"payload.threshold.value {threshold['value']!r} is not a probability in [0, 1]")
    _field(threshold, "rule", str, "payload.threshold")

    inputs = _field(payload, "inputs", list, "payload")
    seen: set[str] = set()
    for number, column in enumerate(inputs):
        _validate_input(column, f"payload.inputs[{number}]", target, seen, scaled="formula" not in payload)
    absent = [name for name in IDENTIFIERS if name not in seen]
    if absent:
        raise Unfit(f"payload.inputs lack the identifier column(s) {_names(absent)}")

    features = _field(payload, "features", list, "payload")
    coef = _field(payload, "coef", list, "payload")
    if len(coef) != len(features):
        raise Unfit(f"{len(coef)} coefficient(s) for {len(features)} feature(s); expected one per feature")
    for index in range(len(coef)):
        _number(coef, index, "payload.coef")
    _number(payload, "intercept", "payload")
    expected = _encoded_names(inputs) if "formula" not in payload else _formula_names(payload["formula"], target, inputs)
    if features != expected:
        raise Unfit(f"features {features!r} are not the encoding of the inputs; expected {expected!r}")

    data = _field(payload, "training_data", dict, "payload")
    if not re.fullmatch(r"[0-9a-f]{64}", _field(data, "sha256", str, "payload.training_data")):
        raise Unfit("payload.training_data.sha256 is not a SHA-256 hex digest")
    for key in ("rows_read", "rows_used", "train_rows", "test_rows"):
        if _field(data, key, int, "payload.training_data") < 0:
            raise Unfit(f"payload.training_data.{key} is negative")
    metrics = _field(payload, "metrics", dict, "payload")
    _field(metrics, "test", dict, "payload.metrics")
    _field(metrics, "test_ci", dict, "payload.metrics")
    _field(payload, "versions", dict, "payload")
    _field(payload, "tool_version", str, "payload")
    _field(payload, "created", str, "payload")
    # What the output is and what it is for (written since the model card states the verdict;
    # artifacts written before lack them).
    if "output" in payload:
        output = _field(payload, "output", dict, "payload")
        if _field(output, "name", str, "payload.output") not in OUTPUT_NAMES:
            raise Unfit(f"payload.output.name {output['name']!r} is not one of {_names(OUTPUT_NAMES)}")
        _field(output, "description", str, "payload.output")
    if "use" in payload:
        use = _field(payload, "use", dict, "payload")
        for key in ("verdict", "verdict_headline", "intended_use"):
            _field(use, key, str, "payload.use")
        for index, item in enumerate(_field(use, "limitations", list, "payload.use")):
            _require(item, str, f"payload.use.limitations[{index}]")
    return payload


def _validate_input(column, where: str, target: str, seen: set[str], *, scaled: bool = True) -> None:
    _require(column, dict, where)
    name = _field(column, "name", str, where)
    kind = _field(column, "kind", str, where)
    spec = SPEC_BY_NAME.get(name)
    if spec is None or spec.kind == "text" or name == target:
        raise Unfit(f"{where}: {name!r} is not a model input this tool knows")
    if name in seen:
        raise Unfit(f"{where}: column {name!r} is listed twice")
    seen.add(name)
    if kind != spec.kind:
        raise Unfit(f"{where}: column {name!r} has kind {kind!r}; this tool's schema says {spec.kind!r}")
    if kind == "category":
        categories = _field(column, "categories", list, where)
        unknown = [c for c in categories if c not in spec.categories]
        if unknown:
            raise Unfit(f"{where}: unknown categor(y/ies) {unknown!r} for {name!r}; expected {list(spec.categories)!r}")
        if categories != list(spec.categories):
            raise Unfit(f"{where}: categories {categories!r} for {name!r}; expected {list(spec.categories)!r}")
    elif kind != "identifier" and not scaled:
        if any(key in column for key in ("mean", "scale", "transform")):
            raise Unfit(f"{where}: {name!r} carries a mean, scale or transform; a formula's design columns carry those")
    elif kind != "identifier":
        _number(column, "mean", where)
        if not _number(column, "scale", where) > 0:
            raise Unfit(f"{where}: the scale of {name!r} is not positive")
        if "transform" in column and column["transform"] not in INPUT_TRANSFORMS:
            raise Unfit(
                f"{where}: transform {column['transform']!r} of {name!r} is not one this tool applies; "
                f"expected {_names(INPUT_TRANSFORMS)} or no transform"
            )


def _encoded_names(inputs: list[dict]) -> list[str]:
    """Feature names of the design, in its column order (continuous, then dummies)."""
    continuous = [c["name"] for c in inputs if c["kind"] not in ("identifier", "category")]
    dummies = [f"{c['name']}_{level}" for c in inputs if c["kind"] == "category" for level in c["categories"][1:]]
    return continuous + dummies


def _formula_names(section, target: str, inputs: list[dict]) -> list[str]:
    """The names of the formula's design columns, once the formula and its recorded design are checked."""
    _require(section, dict, "payload.formula")
    text = _field(section, "text", str, "payload.formula")
    try:
        formula = parse_formula(text)
    except OptionsError as exc:
        raise Unfit(f"payload.formula.text: {exc}") from None
    if formula.outcome != target:
        raise Unfit(f"payload.formula.text: its outcome {formula.outcome!r} is not the target {target!r}")
    read = [c["name"] for c in inputs if c["kind"] != "identifier"]
    if read != list(formula.columns):
        raise Unfit(f"the inputs {read!r} are not the columns the formula reads, {list(formula.columns)!r}")
    recorded = _field(section, "design", list, "payload.formula")
    expected = design_columns(formula)
    if len(recorded) != len(expected):
        raise Unfit(f"payload.formula.design has {len(recorded)} column(s); the formula's design has {len(expected)}")
    for number, (item, column) in enumerate(zip(recorded, expected)):
        where = f"payload.formula.design[{number}]"
        _require(item, dict, where)
        if {key: item.get(key) for key in ("name", "statsmodels_name", "parts")} != column.record():
            raise Unfit(f"{where} is not the formula's design column {column.name!r} ({column.statsmodels_name})")
        if column.numeric:
            _number(item, "mean", where)
            if not _number(item, "scale", where) > 0:
                raise Unfit(f"{where}: the scale of {column.name!r} is not positive")
        elif "mean" in item or "scale" in item:
            raise Unfit(f"{where}: {column.name!r} is a 0/1 column; it carries no mean or scale")
    return [column.name for column in expected]


def _require(value, kind: type, where: str):
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = {dict: "an object", list: "a list", str: "text", int: "a whole number"}[kind]
        raise Unfit(f"{where} is {type(value).__name__}; expected {expected}")
    return value


def _field(container: dict, key: str, kind: type, where: str):
    if key not in container:
        raise Unfit(f"{where} lacks the field {key!r}")
    return _require(container[key], kind, f"{where}.{key}")


def _number(container: dict | list, key: str | int, where: str) -> float:
    if isinstance(container, dict) and key not in container:
        raise Unfit(f"{where} lacks the field {key!r}")
    value = container[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
        label = f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}"
        raise Unfit(f"{label} is {value!r}; expected a finite number")
    return float(value)


def _finite(value: int | float) -> bool:
    """Whether a JSON number is finite as a float (a whole number of 400 digits is not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _names(values) -> str:
    return ", ".join(repr(v) for v in values)
