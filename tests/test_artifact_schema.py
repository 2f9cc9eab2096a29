"""The artifact's file format (``artifact/schema.py``): the SHA-256 of its payload, its
version, and the schema a payload must fit, each refusal naming its reason.

The payload edits start from the real model (conftest ``real_model``) and the
claim-status model (conftest ``claim_model``); the checksum is recomputed here with
hashlib (conftest ``write_artifact``), so that only the schema can refuse them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re

import pytest

from tiktok_claims import config
from tiktok_claims.artifact.schema import (
    FORMAT_VERSION,
    TRANSFORM_FORMAT_VERSION,
    Unfit,
    digest,
    format_version,
    validated,
)
from tiktok_claims.artifact.store import load_model
from tiktok_claims.errors import ModelFileError

TARGET = config.CLAIM


@pytest.fixture()
def document(claim_model):
    """The claim-status model's artifact, as JSON (a fresh copy per test)."""
    return json.loads(claim_model.written["model.json"].read_text(encoding="utf-8"))


@pytest.fixture()
def real_document(real_model):
    return json.loads(real_model["model.json"].read_text(encoding="utf-8"))


# ---------------------------------------------------------------- digest and version


def test_digest_is_the_sha256_of_the_payload_as_sorted_json(document):
    payload = document["payload"]
    by_hand = hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()

    assert digest(payload) == by_hand == document["payload_sha256"]
    assert digest(dict(reversed(list(payload.items())))) == by_hand  # key order does not matter
    with pytest.raises(ValueError):
        digest({**payload, "intercept": math.nan})  # never a digest of non-standard JSON


def test_format_version_is_3_exactly_when_an_input_carries_a_transform(document):
    payload = copy.deepcopy(document["payload"])
    assert (FORMAT_VERSION, TRANSFORM_FORMAT_VERSION) == (2, 3)
    assert format_version(payload) == 2

    next(c for c in payload["inputs"] if c["name"] == config.VIEWS)["transform"] = "log1p"

    assert format_version(payload) == 3


def test_a_fitting_payload_is_returned_unchanged(document):
    payload = document["payload"]

    assert validated(payload) is payload


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p["inputs"].append(dict(p["inputs"][2])), "is listed twice"),
        (lambda p: p.update(intercept=True), "payload.intercept is True; expected a finite number"),
        (lambda p: p["training_data"].update(rows_used=2.5), "payload.training_data.rows_used is float; expected a whole number"),
        (lambda p: p.update(target=config.BAN), "not one of this tool's binary outcomes"),
        (lambda p: p.pop("metrics"), "payload lacks the field 'metrics'"),
    ],
    ids=["duplicate column", "boolean intercept", "fractional rows", "three-level target", "no metrics"],
)
def test_validated_names_what_does_not_fit(document, edit, message):
    payload = copy.deepcopy(document["payload"])
    edit(payload)

    with pytest.raises(Unfit, match=re.escape(message)):
        validated(payload)


# ---------------------------------------------------------------- refused through load_model


def _set_input(name: str, key: str, value):
    def edit(payload):
        next(c for c in payload["inputs"] if c["name"] == name)[key] = value

    return edit


WRONG_SCHEMAS = {
    "missing key": (lambda p: p.pop("intercept"), "lacks the field 'intercept'"),
    "wrong type": (lambda p: p.update(coef="1,2,3"), "payload.coef is str; expected a list"),
    "coefficient count": (lambda p: p["coef"].append(0.5), "9 coefficient(s) for 8 feature(s)"),
    "non-finite coefficient": (lambda p: p["coef"].__setitem__(0, None), "expected a finite number"),
    "coefficient beyond any float": (lambda p: p["coef"].__setitem__(0, 10**400), "expected a finite number"),
    "unknown category": (_set_input(config.BAN, "categories", ["active", "under review", "suspended"]), "unknown categor"),
    "kind mismatch": (_set_input(config.VIEWS, "kind", "duration"), "has kind 'duration'"),
    "unknown column": (
        lambda p: p["inputs"].append({"name": "mood", "kind": "count", "mean": 0.0, "scale": 1.0}),
        "'mood' is not a model input",
    ),
    "target as input": (
        lambda p: p["inputs"].append({"name": TARGET, "kind": "category", "categories": ["claim", "opinion"]}),
        "not a model input",
    ),
    "no identifier": (lambda p: p["inputs"].pop(0), "lack the identifier column(s) '#'"),
    "features": (lambda p: p["features"].reverse(), "not the encoding of the inputs"),
    "classes": (lambda p: p.update(positive_class="verified"), "are not the two categories"),
    "digest": (lambda p: p["training_data"].update(sha256="abc"), "not a SHA-256"),
    "row count": (lambda p: p["training_data"].update(rows_read=-1), "negative"),
}


@pytest.mark.parametrize("edit, message", WRONG_SCHEMAS.values(), ids=WRONG_SCHEMAS.keys())
def test_an_artifact_whose_schema_does_not_fit_is_refused_with_the_reason(document, tmp_path, edit, message, write_artifact):
    edit(document["payload"])

    with pytest.raises(ModelFileError, match="does not fit this tool's schema") as refused:
        load_model(write_artifact(tmp_path / "model.json", document, fix_checksum=True))
    assert message in str(refused.value)


def _drop_coefficient(payload):
    payload["coef"].pop()


def _reverse_categories(payload):
    ban = next(c for c in payload["inputs"] if c["name"] == config.BAN)
    ban["categories"].reverse()


def _zero_scale(payload):
    next(c for c in payload["inputs"] if c["kind"] in ("count", "duration"))["scale"] = 0.0


def _unknown_column(payload):
    payload["inputs"].append({"name": "video_mood", "kind": "count", "mean": 1.0, "scale": 1.0})


@pytest.mark.parametrize(
    "edit",
    [
        lambda p: p.pop("coef"),
        _drop_coefficient,
        _reverse_categories,
        _zero_scale,
        _unknown_column,
        lambda p: p.update(target="video_view_count"),
        lambda p: p["threshold"].update(value=1.5),
    ],
    ids=["no coef", "coef count", "category order", "zero scale", "unknown column", "target", "threshold range"],
)
def test_a_payload_that_does_not_fit_the_schema_is_refused_even_with_its_checksum(real_document, tmp_path, edit, write_artifact):
    edited = copy.deepcopy(real_document)
    edit(edited["payload"])

    with pytest.raises(ModelFileError, match="schema"):
        load_model(write_artifact(tmp_path / "edited.json", edited, fix_checksum=True))
