"""A model read back from its artifact (``artifact/model.py``): its scores against a
hand-computed logistic function, the row rules it applies before scoring, each
reason written out here from the documented rule, and its labels (``predict``) against
the ``predicted_label`` that ``score`` writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tiktok_claims import config
from tiktok_claims.artifact.model import REPORTED_BAD_ROWS
from tiktok_claims.artifact.store import load_model
from tiktok_claims.data.rules import EMPTY_ROW, check_rows
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.errors import DataError
from tiktok_claims.scoring.local import score_file


@pytest.fixture(scope="session")
def artifact(real_model):
    return real_model["model.json"]


@pytest.fixture(scope="session")
def test_rows(real_analysis):
    return real_analysis.dataset.frame.loc[real_analysis.split.test]


def test_scores_equal_a_hand_computed_logistic_function(real_analysis, artifact, test_rows):
    """Standardize with the training means/SDs, dummy-code, apply the classifier's coefficients."""
    train = real_analysis.dataset.frame.loc[real_analysis.split.train]
    classifier = real_analysis.classifier.pipeline.named_steps["classifier"]
    columns = []
    for name in real_analysis.features.continuous:
        values = train[name].astype(float)
        columns.append((test_rows[name].astype(float) - values.mean()) / values.std(ddof=0))
    for name in real_analysis.features.categorical:
        columns += [(test_rows[name] == level).astype(float) for level in config.CATEGORIES[name][1:]]
    logits = np.column_stack(columns) @ classifier.coef_.ravel() + classifier.intercept_[0]

    np.testing.assert_allclose(load_model(artifact).predict_proba(test_rows), 1 / (1 + np.exp(-logits)), rtol=0, atol=1e-9)


def test_missing_columns_are_named(artifact, test_rows):
    with pytest.raises(DataError, match=config.VIEWS):
        load_model(artifact).predict_proba(test_rows.drop(columns=[config.VIEWS]))


def test_unknown_category_level_is_refused_not_scored_as_the_reference(artifact, test_rows):
    rows = test_rows.iloc[:3].copy()
    rows[config.BAN] = ["Banned", "suspended", "active"]

    with pytest.raises(DataError, match="unknown category"):
        load_model(artifact).predict_proba(rows)


def test_text_cells_and_extra_columns_score_like_numbers(artifact, test_rows):
    rows = test_rows.head(50)
    as_text = rows.astype(str).assign(unused_column="anything")

    np.testing.assert_array_equal(load_model(artifact).predict_proba(as_text), load_model(artifact).predict_proba(rows))


def test_many_bad_rows_are_counted_and_the_first_few_named(artifact, test_rows):
    rows = test_rows.head(REPORTED_BAD_ROWS + 3).copy()
    rows[config.VIEWS] = -1
    labels = [int(label) for label in rows.index]

    with pytest.raises(DataError) as refused:
        load_model(artifact).predict_proba(rows)

    message = str(refused.value)
    assert message.startswith(f"{REPORTED_BAD_ROWS + 3} row(s) do not fit the model's schema")
    assert f"(row {labels[0]}: {config.VIEWS}: negative; row {labels[1]}: " in message
    assert f"row {labels[REPORTED_BAD_ROWS - 1]}: " in message
    assert f"row {labels[REPORTED_BAD_ROWS]}: " not in message
    assert "and 3 more" in message


def test_the_models_predictors_are_checked_missing_columns_first_then_problems(artifact):
    """The row rules (data.rules.check_rows) applied to the columns this model reads."""
    model = load_model(artifact)
    columns = (config.DURATION, config.VIEWS, config.SHARES, config.BAN)
    specs = tuple(spec for spec in model.predictors if spec.name in columns)
    table = pa.table(
        {
            config.DURATION: ["12", None, "0", None, "30"],
            config.VIEWS: ["1000", None, "-5", None, "12"],
            config.SHARES: ["3", "2.5", "1", None, "4"],
            config.BAN: ["active", "banned", "suspended", None, "under review"],
        }
    )

    checked = check_rows(table, specs)

    assert checked.bad.tolist() == [False, True, True, True, False]
    assert list(checked.reasons) == [
        # columns in the file's order: duration, author_ban_status, then the counts
        f"missing {config.DURATION}, {config.VIEWS}; {config.SHARES}: not a whole number",
        f"{config.DURATION}: not positive; {config.BAN}: unknown category; {config.VIEWS}: negative",
        EMPTY_ROW,
    ]
    assert checked.values[config.VIEWS][0] == 1000.0 and checked.values[config.BAN][4] == 1


# ---------------------------------------------------------------- labels


@pytest.fixture(scope="module")
def backlog(claim_model, tmp_path_factory):
    """200 made-up backlog rows (every input valid), as a frame and as the CSV that ``score`` reads."""
    frame = make_synthetic(200, seed=4).dropna().reset_index(drop=True)
    path = tmp_path_factory.mktemp("backlog") / "backlog.csv"
    frame.to_csv(path, index=False)
    return frame, path


def test_predict_gives_the_label_score_writes_for_each_row(claim_model, backlog, tmp_path):
    frame, path = backlog
    model = load_model(claim_model.written["model.json"])

    result = score_file(claim_model.written["model.json"], path, tmp_path / "scored.csv")

    scored = pd.read_csv(tmp_path / "scored.csv", keep_default_na=False)
    assert result.rows_scored == len(frame) == len(scored)
    labels = model.predict(frame)
    assert labels.dtype == object and labels.shape == (len(frame),)
    assert labels.tolist() == scored["predicted_label"].tolist()
    assert set(labels) == {model.positive_class, model.negative_class}


def test_predict_labels_a_score_at_the_threshold_positive(claim_model, backlog):
    frame, _ = backlog
    model = load_model(claim_model.written["model.json"])
    scores = model.predict_proba(frame)
    model.threshold = float(np.sort(scores)[len(scores) // 2])  # a threshold equal to a row's score

    labels = model.predict(frame)

    expected = np.where(scores >= model.threshold, model.positive_class, model.negative_class)
    assert labels.tolist() == expected.tolist()
    at_threshold = scores == model.threshold
    assert at_threshold.any() and set(labels[at_threshold]) == {model.positive_class}


def test_predict_refuses_what_predict_proba_refuses(claim_model, backlog):
    frame, _ = backlog
    model = load_model(claim_model.written["model.json"])

    with pytest.raises(DataError, match=config.VIEWS):
        model.predict(frame.drop(columns=[config.VIEWS]))
