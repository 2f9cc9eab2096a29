"""Saving and loading the JSON model artifact (``artifact/store.py``): round trip, and
refusal of anything this tool did not write (another tool's file, another version, an
edited payload whose checksum no longer matches).

The refusals of payloads that do not fit the schema are in test_artifact_schema.py, the
scores and row rules of a loaded model in test_artifact_model.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tiktok_claims import config
from tiktok_claims.artifact.schema import FORMAT_VERSION, TRANSFORM_FORMAT_VERSION
from tiktok_claims.artifact.schema import digest as _digest
from tiktok_claims.artifact.store import load_model
from tiktok_claims.data.files import SMALL_FILE_LIMIT
from tiktok_claims.errors import ModelFileError


@pytest.fixture(scope="session")
def written(real_model):
    """The real analysis saved (conftest ``real_model``)."""
    return real_model


@pytest.fixture(scope="session")
def artifact(written):
    return written["model.json"]


@pytest.fixture(scope="session")
def test_rows(real_analysis):
    return real_analysis.dataset.frame.loc[real_analysis.split.test]


@pytest.fixture()
def document(artifact):
    return json.loads(artifact.read_text(encoding="utf-8"))


@pytest.fixture()
def claim_document(claim_model):
    """The claim-status model's artifact (conftest ``claim_model``), as JSON."""
    return json.loads(claim_model.written["model.json"].read_text(encoding="utf-8"))


# ---------------------------------------------------------------- round trip


def test_round_trip_scores_the_test_rows_like_the_pipeline(real_analysis, artifact, test_rows):
    expected = real_analysis.classifier.pipeline.predict_proba(test_rows[list(real_analysis.features.columns)])[:, 1]

    loaded = load_model(artifact)

    np.testing.assert_allclose(loaded.predict_proba(test_rows), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(loaded.predict_proba(test_rows), real_analysis.test_scores.loc[test_rows.index], rtol=0, atol=1e-9)


def test_round_trip_keeps_the_threshold_and_provenance(real_analysis, artifact):
    loaded = load_model(artifact)

    assert loaded.threshold == real_analysis.evaluation.threshold == real_analysis.threshold.threshold
    assert (loaded.target, loaded.positive_class, loaded.negative_class) == (config.VERIFIED, "verified", "not verified")
    assert loaded.payload["training_data"]["sha256"] == real_analysis.dataset.sha256
    assert loaded.payload["features"] == list(real_analysis.classifier.feature_names)


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


# ---------------------------------------------------------------- refusals of the claim-status model


def test_a_tampered_artifact_is_refused(claim_document, tmp_path, write_artifact):
    claim_document["payload"]["inputs"][2]["mean"] *= 1.01

    with pytest.raises(ModelFileError, match="altered or corrupted"):
        load_model(write_artifact(tmp_path / "model.json", claim_document, fix_checksum=False))


@pytest.mark.parametrize("version", [1, 5, "2", None])
def test_another_format_version_is_refused(claim_document, tmp_path, version, write_artifact):
    claim_document["format_version"] = version

    with pytest.raises(ModelFileError, match=f"this tool reads versions {FORMAT_VERSION}, 3 and 4"):
        load_model(write_artifact(tmp_path / "model.json", claim_document, fix_checksum=False))


def test_a_file_from_another_tool_is_refused(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"format": "sklearn-pickle", "payload": {}}), encoding="utf-8")

    with pytest.raises(ModelFileError, match="not a tiktok-claims model artifact"):
        load_model(path)


# ---------------------------------------------------------------- files that are not artifacts at all


def test_a_device_a_fifo_and_a_directory_are_refused_before_reading(fifo, tmp_path):
    for path, kind in ((fifo("model.json"), "a FIFO"), (tmp_path, "a directory"), (Path(os.devnull), "a character device")):
        if os.name == "nt" and kind == "a character device":
            continue
        with pytest.raises(ModelFileError, match=f"{kind}.*not a regular file; expected a model artifact"):
            load_model(path)


def test_a_file_far_larger_than_an_artifact_is_refused_unread(tmp_path):
    path = tmp_path / "model.json"
    with path.open("wb") as handle:
        handle.truncate(SMALL_FILE_LIMIT + 1)

    with pytest.raises(ModelFileError, match="larger than 16 MiB"):
        load_model(path)


@pytest.mark.parametrize("opening, closing", [("[", "]"), ('{"a": ', "}")])
def test_json_nested_too_deeply_is_refused_not_a_recursion_error(opening, closing, tmp_path):
    path = tmp_path / "model.json"
    path.write_text(opening * 200_000 + "1" + closing * 200_000, encoding="utf-8")

    with pytest.raises(ModelFileError, match="nested too deeply"):
        load_model(path)
