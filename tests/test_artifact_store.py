"""The JSON model artifact: round trip, and refusal of anything this tool did not write."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from tiktok_claims import config
from tiktok_claims.artifact.schema import FORMAT_VERSION, TRANSFORM_FORMAT_VERSION
from tiktok_claims.artifact.schema import digest as _digest
from tiktok_claims.artifact.store import load_model, save_model
from tiktok_claims.errors import DataError, ModelFileError


@pytest.fixture(scope="session")
def written(real_analysis, tmp_path_factory):
    return save_model(real_analysis, tmp_path_factory.mktemp("model") / "model.json")


@pytest.fixture(scope="session")
def artifact(written):
    return written["model.json"]


@pytest.fixture(scope="session")
def test_rows(real_analysis):
    return real_analysis.dataset.frame.loc[real_analysis.split.test]


@pytest.fixture()
def document(artifact):
    return json.loads(artifact.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- round trip


def test_round_trip_scores_the_test_rows_like_the_pipeline(real_analysis, artifact, test_rows):
    expected = real_analysis.model.pipeline.predict_proba(test_rows[list(real_analysis.features.columns)])[:, 1]

    loaded = load_model(artifact)

    np.testing.assert_allclose(loaded.predict_proba(test_rows), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(loaded.predict_proba(test_rows), real_analysis.test_scores.loc[test_rows.index], rtol=0, atol=1e-9)


def test_round_trip_keeps_the_threshold_and_provenance(real_analysis, artifact):
    loaded = load_model(artifact)

    assert loaded.threshold == real_analysis.evaluation.threshold == real_analysis.threshold.threshold
    assert (loaded.target, loaded.positive_class, loaded.negative_class) == (config.VERIFIED, "verified", "not verified")
    assert loaded.payload["training_data"]["sha256"] == real_analysis.dataset.sha256
    assert loaded.payload["features"] == list(real_analysis.model.feature_names)


def test_scores_equal_a_hand_computed_logistic_function(real_analysis, artifact, test_rows):
    """Standardize with the training means/SDs, dummy-code, apply the classifier's coefficients."""
    train = real_analysis.dataset.frame.loc[real_analysis.split.train]
    classifier = real_analysis.model.pipeline.named_steps["classifier"]
    columns = []
    for name in real_analysis.features.continuous:
        values = train[name].astype(float)
        columns.append((test_rows[name].astype(float) - values.mean()) / values.std(ddof=0))
    for name in real_analysis.features.categorical:
        columns += [(test_rows[name] == level).astype(float) for level in config.CATEGORIES[name][1:]]
    logits = np.column_stack(columns) @ classifier.coef_.ravel() + classifier.intercept_[0]

    np.testing.assert_allclose(load_model(artifact).predict_proba(test_rows), 1 / (1 + np.exp(-logits)), rtol=0, atol=1e-9)


def test_artifact_and_card_are_plain_json(written, document):
    card = json.loads(written["model_card.json"].read_text(encoding="utf-8"))

    assert set(document) == {"format", "format_version", "payload_sha256", "payload"}
    assert document["format_version"] == FORMAT_VERSION
    assert all(isinstance(c, float) for c in document["payload"]["coef"])
    assert [c["coefficient"] for c in card["coefficients"]] == [document["payload"]["intercept"], *document["payload"]["coef"]]
    assert card["model"]["payload_sha256"] == document["payload_sha256"]


# ---------------------------------------------------------------- refusals


def test_tampered_coefficient_is_refused(document, tmp_path, write_artifact):
    document["payload"]["coef"][0] += 0.5

    with pytest.raises(ModelFileError, match="checksum"):
        load_model(write_artifact(tmp_path / "tampered.json", document))


def test_tampered_threshold_is_refused(document, tmp_path, write_artifact):
    document["payload"]["threshold"]["value"] = 0.0

    with pytest.raises(ModelFileError, match="checksum"):
        load_model(write_artifact(tmp_path / "tampered.json", document))


@pytest.mark.parametrize("content", [{"a": 1}, [1, 2, 3], "model", None, {"format": "something-else", "format_version": 1}])
def test_json_that_is_not_an_artifact_is_refused(content, tmp_path, write_artifact):
    with pytest.raises(ModelFileError, match="not a tiktok-claims model artifact"):
        load_model(write_artifact(tmp_path / "other.json", content))


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n\x00\x00", b"not json at all", b"", b"\xff\xfe{", b'{"a": NaN}'])
def test_a_file_that_is_not_json_is_refused(content, tmp_path):
    path = tmp_path / "model.json"
    path.write_bytes(content)

    with pytest.raises(ModelFileError):
        load_model(path)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "absent.json")


@pytest.mark.parametrize("version", [TRANSFORM_FORMAT_VERSION + 1, FORMAT_VERSION - 1, str(FORMAT_VERSION), None])
def test_wrong_format_version_is_refused(document, tmp_path, version, write_artifact):
    document["format_version"] = version

    with pytest.raises(ModelFileError, match="version"):
        load_model(write_artifact(tmp_path / "versioned.json", document))


def test_a_version_2_artifact_carrying_a_transform_is_refused(document, tmp_path, write_artifact):
    """Version 2 readers ignore transforms, so a transform marks the file as version 3."""
    continuous = next(item for item in document["payload"]["inputs"] if "mean" in item)
    continuous["transform"] = "log1p"
    document["payload_sha256"] = _digest(document["payload"])
    assert document["format_version"] == FORMAT_VERSION
    with pytest.raises(ModelFileError, match="transform"):
        load_model(write_artifact(tmp_path / "v2.json", document))
    document["format_version"] = TRANSFORM_FORMAT_VERSION
    load_model(write_artifact(tmp_path / "v3.json", document))


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
def test_a_payload_that_does_not_fit_the_schema_is_refused_even_with_its_checksum(document, tmp_path, edit, write_artifact):
    edited = copy.deepcopy(document)
    edit(edited["payload"])

    with pytest.raises(ModelFileError, match="schema"):
        load_model(write_artifact(tmp_path / "edited.json", edited, fix_checksum=True))


def test_missing_columns_are_named(artifact, test_rows):
    with pytest.raises(DataError, match=config.VIEWS):
        load_model(artifact).predict_proba(test_rows.drop(columns=[config.VIEWS]))


def test_unknown_category_level_is_refused_not_scored_as_the_reference(artifact, test_rows):
    rows = test_rows.iloc[:3].copy()
    rows[config.BAN] = ["Banned", "suspended", "active"]

    with pytest.raises(DataError, match="unknown category"):
        load_model(artifact).predict_proba(rows)
