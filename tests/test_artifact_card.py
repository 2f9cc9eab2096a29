"""The model card beside the artifact (``artifact/card.py``), and the claim-status model in use.

The model here predicts ``claim_status`` (the backlog's real need) from a small
synthetic frame in which a fifth of the claim labels were flipped (conftest
``claim_model``). Every expected value is read from the analysis object, never from
the card code. The artifact's refusals are in test_artifact_store.py and
test_artifact_schema.py.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pandas as pd
import pytest

from tiktok_claims import config
from tiktok_claims.artifact.card import card as card_content
from tiktok_claims.artifact.card import card_markdown
from tiktok_claims.artifact.schema import FORMAT, FORMAT_VERSION
from tiktok_claims.artifact.store import load_model
from tiktok_claims.data.schema import SPEC_BY_NAME
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.scoring.local import score_file

TARGET = config.CLAIM


@pytest.fixture(scope="module")
def analysis(claim_model):
    return claim_model.analysis


@pytest.fixture(scope="module")
def written(claim_model):
    return claim_model.written


@pytest.fixture(scope="module")
def card(written):
    return json.loads(written["model_card.json"].read_text(encoding="utf-8"))


# ---------------------------------------------------------------- the card


def test_the_artifact_and_both_cards_are_written_side_by_side(written):
    assert sorted(written) == ["model.json", "model_card.json", "model_card.md"]
    assert len({path.parent for path in written.values()}) == 1
    assert all(path.is_file() for path in written.values())


def test_card_names_target_family_threshold_and_provenance(analysis, card, written):
    metrics = analysis.metrics()
    document = json.loads(written["model.json"].read_text(encoding="utf-8"))

    assert card["target"] == {"column": TARGET, "positive_class": "claim", "negative_class": "opinion"}
    assert card["model_family"] == analysis.approach.label
    assert card["threshold"]["value"] == analysis.threshold.threshold == analysis.evaluation.threshold
    assert card["threshold"]["rule"] == analysis.threshold.rule
    assert card["tool"]["created"] == analysis.created
    assert card["versions"] == analysis.versions
    assert card["model"] == {"format": FORMAT, "format_version": FORMAT_VERSION, "payload_sha256": document["payload_sha256"]}
    data = card["training_data"]
    assert data["sha256"] == analysis.dataset.sha256
    assert (data["rows_read"], data["rows_used"]) == (analysis.dataset.rows_read, analysis.dataset.rows_used)
    assert (data["train_rows"], data["test_rows"]) == (len(analysis.split.train), len(analysis.split.test))
    assert data["rows_set_aside"] == analysis.dataset.rows_set_aside
    assert card["metrics"] == {"test": metrics["test"], "test_ci": metrics["test_ci"]}


def test_card_lists_every_input_with_its_type_and_categories(analysis, card):
    expected = [config.ID_COLUMN, config.VIDEO_ID, *analysis.features.continuous, *analysis.features.categorical]

    assert [c["name"] for c in card["inputs"]] == expected
    for column in card["inputs"]:
        spec = SPEC_BY_NAME[column["name"]]
        assert (column["kind"], column["expected"]) == (spec.kind, spec.expected)
        assert column.get("categories") == (list(config.CATEGORIES[spec.name]) if spec.kind == "category" else None)
    assert TARGET not in expected


def test_card_coefficients_are_the_fitted_classifier(analysis, card):
    classifier = analysis.classifier.pipeline.named_steps["classifier"]

    assert [c["feature"] for c in card["coefficients"]] == ["intercept", *analysis.classifier.feature_names]
    np.testing.assert_array_equal(
        [c["coefficient"] for c in card["coefficients"]], [classifier.intercept_[0], *classifier.coef_.ravel()]
    )


def test_markdown_card_shows_the_same_numbers(analysis, card, written):
    text = written["model_card.md"].read_text(encoding="utf-8")

    assert text == card_markdown(card)
    assert analysis.dataset.sha256 in text
    assert f"**{analysis.threshold.threshold:.4f}**" in text
    for name, interval in analysis.metrics()["test_ci"].items():
        cells = [f"{interval[k]:.4f}" for k in ("estimate", "ci_low", "ci_high")]
        assert f"| {name.replace('_', chr(92) + '_')} | {' | '.join(cells)} |" in text
    for column in card["inputs"]:
        assert column["name"].replace("_", "\\_").replace("#", "\\#") in text
    assert f"rows read {analysis.dataset.rows_read:,}" in text


def test_markdown_card_escapes_text_that_came_from_outside(card):
    hostile = copy.deepcopy(card)
    hostile["training_data"]["source"] = "data|<script>alert(1)</script>_[x](y)"

    text = card_markdown(hostile)

    assert "<script>" not in text
    assert "data\\|\\<script\\>alert(1)\\</script\\>\\_\\[x\\](y)" in text


def test_the_card_is_a_rendering_of_the_artifact(card, written):
    assert card_content(load_model(written["model.json"])) == card


# ---------------------------------------------------------------- the claim model in use


def test_the_claim_model_scores_a_backlog_like_any_other(analysis, written, tmp_path):
    frame = make_synthetic(200, seed=4)
    frame = frame[frame[config.VIEWS].notna()].reset_index(drop=True)
    frame.loc[[0, 5], TARGET] = pd.NA  # the outcome is not an input: still scored
    frame.loc[9, config.VERIFIED] = "maybe"
    path = tmp_path / "backlog.csv"
    frame.to_csv(path, index=False)

    result = score_file(written["model.json"], path, tmp_path / "scored.csv")

    scored = pd.read_csv(tmp_path / "scored.csv")
    assert (result.rows_read, result.rows_scored, result.rows_rejected) == (len(frame), len(frame) - 1, 1)
    assert result.rejected == {f"{config.VERIFIED}: unknown category": 1}
    kept = frame.drop(index=9)
    expected = analysis.classifier.pipeline.predict_proba(kept[list(analysis.features.columns)])[:, 1]
    np.testing.assert_allclose(scored["score"], expected, rtol=0, atol=1e-12)
    assert set(scored["predicted_label"]) <= {"claim", "opinion"}
    assert math.isclose(result.threshold, analysis.threshold.threshold)
