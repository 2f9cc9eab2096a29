"""The ``model.json`` of a non-binary outcome (``artifact/description.py``): the fitted model
described for reading, its numbers against the training part (numpy) and the metrics
record, and ``load_model`` refusing it by its kind."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tiktok_claims import config
from tiktok_claims.analysis import FamilyAnalysis, analyze
from tiktok_claims.artifact.description import (
    DESCRIPTION_KIND,
    model_description,
    save_description,
)
from tiktok_claims.artifact.store import load_model, save_artifact
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.errors import ModelFileError

TARGET = config.DURATION


@pytest.fixture(scope="module")
def analysis():
    """An OLS of the duration with the engagement counts entered as log(1 + count)."""
    return analyze(make_synthetic(3000, seed=2), target=TARGET, transform="log1p", workers=1)


@pytest.fixture(scope="module")
def metrics(analysis):
    return analysis.metrics()


@pytest.fixture(scope="module")
def description(analysis, metrics):
    return model_description(analysis, metrics)


def test_the_description_names_its_kind_target_family_and_estimator(analysis, description):
    assert isinstance(analysis, FamilyAnalysis)
    assert description["kind"] == DESCRIPTION_KIND == "tiktok-claims model description"
    assert (description["target"], description["model_family"]) == (TARGET, analysis.approach.label)
    assert description["estimator"] == analysis.model.estimator
    assert description["seed"] == config.DEFAULT_SEED


def test_inputs_carry_the_means_and_scales_of_every_used_row_as_entered(analysis, description):
    """The description is of the model the coefficients come from: fitted on every used row."""
    train = analysis.dataset.frame
    spec = analysis.features
    continuous = [item for item in description["inputs"] if "mean" in item]

    assert [item["name"] for item in continuous] == list(spec.continuous)
    assert spec.log1p  # the counts kept enter as log(1 + count)
    for item in continuous:
        values = train[item["name"]].to_numpy(dtype=float)
        if item["name"] in spec.log1p:
            assert item["transform"] == "log1p"
            values = np.log1p(values)
        else:
            assert "transform" not in item
        assert item["mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert item["scale"] == pytest.approx(values.std(), rel=1e-12)
    categories = [item for item in description["inputs"] if "categories" in item]
    assert {item["name"]: item["categories"] for item in categories} == {c: list(config.CATEGORIES[c]) for c in spec.categorical}


def test_coefficients_and_training_data_are_those_of_the_metrics_record(analysis, metrics, description):
    assert description["coefficients_per_sd"] == {row["name"]: row["coef_per_sd"] for row in metrics["coefficients"]}
    assert set(description["coefficients_per_sd"]) == set(analysis.coefficients["name"])
    assert description["extra_parameters"] == analysis.model.extra_parameters
    assert description["training_data"] == {
        key: metrics["data"][key] for key in ("source", "synthetic", "sha256", "rows_read", "rows_used")
    }
    assert description["training_data"]["sha256"] == analysis.dataset.sha256
    assert description["tool_version"] == metrics["tool"]["version"]


def test_the_saved_file_is_the_description_as_json(analysis, metrics, description, tmp_path):
    written = save_description(analysis, tmp_path / "model.json", metrics)

    assert written == {"model.json": tmp_path / "model.json"}
    assert json.loads((tmp_path / "model.json").read_text(encoding="utf-8")) == json.loads(json.dumps(description))


def test_save_artifact_writes_the_description_for_a_non_binary_outcome(analysis, metrics, tmp_path):
    written = save_artifact(analysis, tmp_path, metrics)

    assert sorted(written) == ["model.json"]  # no model card: nothing here scores videos
    assert json.loads(written["model.json"].read_text(encoding="utf-8"))["kind"] == DESCRIPTION_KIND


def test_load_model_refuses_a_description_naming_its_family_and_target(analysis, metrics, tmp_path):
    path = save_description(analysis, tmp_path / "model.json", metrics)["model.json"]

    with pytest.raises(ModelFileError) as refused:
        load_model(path)

    message = str(refused.value)
    assert f"describes a {analysis.approach.label} of {TARGET!r}" in message
    assert "'score' ranks videos with a binary model" in message
