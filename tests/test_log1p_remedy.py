"""The log1p remedy, end to end, each step against an independent computation.

(The estimator itself is tested in test_transforms.py, the feature rule on log(1 + count)
columns in test_features.py.) The preprocessing against numpy; the fitted model against
a statsmodels Logit built here on
log1p-transformed, standardized columns; the artifact and the streaming scorer against
the fitted pipeline and a hand-computed logistic function; odds ratios per doubling
against a Logit on log2(1 + count); Box-Tidwell against a hand-built Logit with the
x·ln(x) terms of log1p(count).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit

from tiktok_claims import config
from tiktok_claims.analysis import analyze
from tiktok_claims.artifact.store import load_model, save_model
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.diagnostics.logistic import _linearity_check, check_logistic
from tiktok_claims.diagnostics.statistics import box_tidwell, empirical_logits
from tiktok_claims.errors import ModelFileError
from tiktok_claims.interpretation.effects import DOUBLING, coefficient_table
from tiktok_claims.interpretation.findings import key_findings
from tiktok_claims.model.features import (
    FeatureSpec,
    build_preprocessor,
    select_features,
)
from tiktok_claims.model.logistic import fit_classifier, fit_inference
from tiktok_claims.model.split import encode_target, split
from tiktok_claims.scoring.local import score_file

TARGET = config.VERIFIED
CATEGORICAL = [config.CLAIM, config.BAN]
SEED = config.DEFAULT_SEED


def hand_design(design_by_hand, train: pd.DataFrame, rows: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """log1p where the spec says, standardized with the training rows' mean and SD (ddof=0), dummies, constant."""
    return sm.add_constant(design_by_hand(train, rows, spec), has_constant="add")


@pytest.fixture(scope="module")
def parts():
    frame = make_synthetic(4000, seed=3).dropna()
    rows = split(frame, TARGET, SEED)
    train, test = frame.loc[rows.train], frame.loc[rows.test]
    return train, test, encode_target(train[TARGET], "verified")


@pytest.fixture(scope="module")
def log1p_spec(parts):
    return select_features(parts[0], TARGET, transform="log1p")


def test_preprocessor_keeps_readable_names_and_logs_only_the_counts(parts, design_by_hand):
    train = parts[0]
    continuous = [config.DURATION, config.VIEWS, config.SHARES]
    preprocessor = build_preprocessor(continuous, CATEGORICAL, (config.VIEWS, config.SHARES))
    design = pd.DataFrame(preprocessor.fit_transform(train), columns=preprocessor.get_feature_names_out(), index=train.index)

    spec = FeatureSpec(TARGET, tuple(continuous), tuple(CATEGORICAL), {}, pd.DataFrame(), pd.DataFrame(),
                       log1p=(config.VIEWS, config.SHARES))
    expected = hand_design(design_by_hand, train, train, spec).drop(columns="const")
    assert list(design.columns) == list(expected.columns)
    np.testing.assert_allclose(design, expected, atol=1e-12)


# ---------------------------------------------------------------- the fitted model


def test_log1p_fit_equals_a_hand_built_statsmodels_logit(parts, log1p_spec, design_by_hand):
    train, test, y = parts
    classifier = fit_classifier(train, y, log1p_spec, "none", SEED)
    inference = fit_inference(train, y, log1p_spec)
    assert not inference.penalized and not classifier.penalized  # the hand-built reference is maximum likelihood

    design = hand_design(design_by_hand, train, train, log1p_spec)
    reference = sm.Logit(y.astype(float), design).fit(method="newton", disp=False)

    np.testing.assert_allclose(inference.result.params[design.columns], reference.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(inference.result.bse[design.columns], reference.bse, rtol=1e-7)
    scores = classifier.pipeline.predict_proba(test[log1p_spec.columns])[:, 1]
    np.testing.assert_allclose(scores, reference.predict(hand_design(design_by_hand, train, test, log1p_spec)), atol=1e-7)
    for name in log1p_spec.log1p:
        assert inference.scales[name] == pytest.approx(np.log1p(train[name].to_numpy(dtype=float)).std(), rel=1e-12)


# ---------------------------------------------------------------- artifact and scorer


@pytest.fixture(scope="module", params=["log1p", "none"])
def saved(request, tmp_path_factory):
    analysis = analyze(make_synthetic(4000, seed=1), bootstrap=100, cv_folds=2, workers=1, transform=request.param)
    path = save_model(analysis, tmp_path_factory.mktemp(f"model-{request.param}") / "model.json")["model.json"]
    return analysis, path


def _rows(analysis, part: str) -> pd.DataFrame:
    frame = analysis.dataset.frame
    return frame.loc[getattr(analysis.split, part)]


def test_artifact_records_the_transform_with_log_scale_mean_and_scale(saved):
    analysis, path = saved
    train = _rows(analysis, "train")
    inputs = {c["name"]: c for c in json.loads(path.read_text(encoding="utf-8"))["payload"]["inputs"]}

    for name in analysis.features.continuous:
        values = train[name].to_numpy(dtype=float)
        if name in analysis.features.log1p:
            assert inputs[name]["transform"] == "log1p"
            values = np.log1p(values)
        else:
            assert "transform" not in inputs[name]
        assert inputs[name]["mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert inputs[name]["scale"] == pytest.approx(values.std(), rel=1e-12)


def test_artifact_scores_like_the_pipeline_and_a_hand_computed_logistic(saved, design_by_hand):
    analysis, path = saved
    train, test = _rows(analysis, "train"), _rows(analysis, "test")
    classifier = analysis.classifier.pipeline.named_steps["classifier"]
    logits = hand_design(design_by_hand, train, test, analysis.features).drop(columns="const").to_numpy() @ classifier.coef_.ravel()

    scores = load_model(path).predict_proba(test)

    np.testing.assert_allclose(scores, analysis.classifier.pipeline.predict_proba(test[analysis.features.columns])[:, 1], atol=1e-12)
    np.testing.assert_allclose(scores, expit(logits + classifier.intercept_[0]), atol=1e-12)


def test_streaming_scorer_applies_the_transform_and_rejects_negative_counts(saved, tmp_path):
    analysis, path = saved
    test = _rows(analysis, "test").head(300).copy()
    count = analysis.features.log1p[0] if analysis.features.log1p else config.VIEWS
    test[count] = test[count].astype("Int64")
    broken = test.index[5]
    test.loc[broken, count] = -4
    data = tmp_path / "backlog.csv"
    test.to_csv(data, index=False)

    result = score_file(path, data, tmp_path / "scored.csv", chunk_rows=64)

    kept = test.drop(index=broken)
    scored = pd.read_csv(tmp_path / "scored.csv")
    expected = analysis.classifier.pipeline.predict_proba(kept[analysis.features.columns])[:, 1]
    np.testing.assert_allclose(scored["score"], expected, atol=1e-12)
    assert result.rejected == {f"{count}: negative": 1}


def test_model_card_says_which_inputs_enter_as_log1p(saved):
    analysis, path = saved
    card = json.loads(path.with_name("model_card.json").read_text(encoding="utf-8"))
    markdown = path.with_name("model_card.md").read_text(encoding="utf-8")
    roles = {c["name"]: c for c in card["inputs"]}

    for name in analysis.features.continuous:
        transformed = name in analysis.features.log1p
        assert (f"entered as log(1 + {name})" in roles[name]["role"]) == transformed
        assert (roles[name].get("transform") == "log1p") == transformed
    assert ("enter as the logarithm of one plus the count" in markdown) == bool(analysis.features.log1p)


def _rewritten(write_artifact, path, tmp_path, edit) -> object:
    """The artifact at ``path`` with its payload edited and its checksum made to match."""
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document["payload"])
    return write_artifact(tmp_path / "model.json", document, fix_checksum=True)


def test_an_input_without_transform_enters_as_it_is(saved, tmp_path, write_artifact):
    """Absent = identity: the same numbers without the field give the logistic function of raw counts."""
    analysis, path = saved
    test = _rows(analysis, "test")

    def drop_transforms(payload):
        for column in payload["inputs"]:
            column.pop("transform", None)

    payload = json.loads(path.read_text(encoding="utf-8"))["payload"]
    continuous = [c for c in payload["inputs"] if c["kind"] in ("count", "duration")]
    logits = payload["intercept"] + sum(
        coef * (test[c["name"]].to_numpy(dtype=float) - c["mean"]) / c["scale"] for coef, c in zip(payload["coef"], continuous)
    )
    for coef, name in zip(payload["coef"][len(continuous):], payload["features"][len(continuous):]):
        column, level = next((c, name[len(c) + 1:]) for c in config.CATEGORIES if name.startswith(f"{c}_"))
        logits = logits + coef * (test[column] == level).to_numpy(dtype=float)

    scores = load_model(_rewritten(write_artifact, path, tmp_path, drop_transforms)).predict_proba(test)

    np.testing.assert_allclose(scores, expit(logits), atol=1e-12)


def test_an_unknown_transform_in_an_artifact_is_refused(saved, tmp_path, write_artifact):
    analysis, path = saved

    def sqrt(payload):
        next(c for c in payload["inputs"] if c["name"] == config.DURATION)["transform"] = "sqrt"

    with pytest.raises(ModelFileError, match="transform 'sqrt' of 'video_duration_sec' is not one this tool applies"):
        load_model(_rewritten(write_artifact, path, tmp_path, sqrt))


# ---------------------------------------------------------------- odds ratios per doubling


def test_odds_ratio_per_doubling_equals_a_logit_on_log2_counts():
    rng = np.random.default_rng(5)
    n = 4000
    raw = pd.DataFrame({config.DURATION: rng.uniform(5, 60, n), config.VIEWS: np.floor(rng.lognormal(8, 2, n))})
    y = rng.binomial(1, expit(-2 + 0.02 * raw[config.DURATION] + 0.25 * np.log1p(raw[config.VIEWS]))).astype(float)
    entered = raw.assign(**{config.VIEWS: np.log1p(raw[config.VIEWS])})
    scales = entered.std(ddof=0)
    fitted = sm.Logit(y, sm.add_constant((entered - entered.mean()) / scales)).fit(disp=False)

    table = coefficient_table(fitted, scales, log1p=(config.VIEWS,)).set_index("name")

    # log2(1 + views) grows by one per doubling of (1 + views): its coefficient is the one per doubling.
    reference = sm.Logit(y, sm.add_constant(raw.assign(**{config.VIEWS: np.log2(1 + raw[config.VIEWS])}))).fit(disp=False)
    views = table.loc[config.VIEWS]
    assert views["unit"] == "per doubling of (1 + views)"
    assert views["unit_size"] == pytest.approx(math.log(2))
    assert bool(views["log1p"]) and not bool(table.loc[config.DURATION, "log1p"])
    assert views["odds_ratio"] == pytest.approx(math.exp(fitted.params[config.VIEWS] / scales[config.VIEWS] * math.log(2)), rel=1e-12)
    assert views["odds_ratio"] == pytest.approx(math.exp(reference.params[config.VIEWS]), rel=1e-6)
    assert views["se"] == pytest.approx(reference.bse[config.VIEWS], rel=1e-6)
    assert (views["or_ci_low"], views["or_ci_high"]) == pytest.approx(tuple(np.exp(reference.conf_int().loc[config.VIEWS])), rel=1e-6)
    assert table.loc[config.DURATION, "unit"] == "per 10 seconds"


def test_findings_read_a_log1p_predictor_per_doubling():
    common = {"unit": "", "coef": 0.0, "sd": 1.0, "probability_change": 0.0}
    made_up = pd.DataFrame(
        [
            {**common, "name": config.SHARES, "unit_size": DOUBLING, "odds_ratio": 2.09, "or_ci_low": 1.99,
             "or_ci_high": 2.2, "p_value": 0.0, "p_adjusted": 0.0, "log1p": True},
            {**common, "name": config.COMMENTS, "unit_size": DOUBLING, "odds_ratio": 0.8, "or_ci_low": 0.7,
             "or_ci_high": 0.9, "p_value": 0.001, "p_adjusted": 0.002, "log1p": True},
            {**common, "name": config.DURATION, "unit_size": 10.0, "odds_ratio": 1.05, "or_ci_low": 0.99,
             "or_ci_high": 1.1, "p_value": 0.08, "p_adjusted": 0.08, "log1p": False},
        ]
    )

    shares, comments, duration = key_findings(made_up, outcome_phrase="being a claim")

    assert shares["sentence"] == (
        "Holding the other characteristics fixed, each doubling of (1 + shares) multiplies the odds of being a claim "
        "by 2.09 (odds ratio 2.09, 95% CI 1.99–2.20; p < 0.001; Holm-adjusted over 3 terms p < 0.001)."
    )
    assert "each doubling of (1 + comments) lowers the odds of being a claim by 20% (odds ratio 0.80" in comments["sentence"]
    assert "each additional 10 seconds raises the odds of being a claim by 5%" in duration["sentence"]


# ---------------------------------------------------------------- linearity checks


def _curved_in_counts(n: int = 4000, seed: int = 2) -> tuple[pd.DataFrame, pd.Series]:
    """A heavy-tailed count (with zeros) whose log-odds are linear in log1p(count), not in the count."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"count": np.floor(rng.lognormal(4, 1.5, n)), "size": rng.uniform(1, 100, n)})
    y = pd.Series(rng.binomial(1, expit(-3 + 0.6 * np.log1p(frame["count"]) + 0.01 * frame["size"])), name="y")
    return frame, y


def _spec(log1p=()) -> FeatureSpec:
    return FeatureSpec("y", ("count", "size"), (), {}, pd.DataFrame(), pd.DataFrame(), log1p=tuple(log1p))


def test_box_tidwell_tests_a_log1p_predictor_as_it_enters_the_model():
    frame, y = _curved_in_counts()
    assert (frame["count"] == 0).any()

    table = box_tidwell(frame, _spec(["count"]), sm.add_constant(frame), y).set_index("predictor")

    entered = np.log1p(frame["count"])
    hand = sm.add_constant(frame.assign(count=entered)).assign(
        count_xlnx=(entered + 1) * np.log(entered + 1), size_xlnx=frame["size"] * np.log(frame["size"])
    )
    reference = sm.Logit(y.astype(float), hand).fit(method="newton", disp=False)
    assert table.loc["count", "transform"] == "log1p" and table.loc["size", "transform"] == "none"
    assert table.loc["count", "shift"] == 1.0  # log1p(0) = 0
    for predictor in ("count", "size"):
        term = f"{predictor}_xlnx"
        assert table.loc[predictor, "z"] == pytest.approx(reference.tvalues[term], rel=1e-6)
        assert table.loc[predictor, "coef"] == pytest.approx(reference.params[term], rel=1e-6)
        assert table.loc[predictor, "p_value"] == pytest.approx(reference.pvalues[term], rel=1e-6)


def test_after_the_remedy_the_linearity_check_can_pass():
    frame, y = _curved_in_counts()

    before = _linearity_check(box_tidwell(frame, _spec(), sm.add_constant(frame), y))
    after = _linearity_check(box_tidwell(frame, _spec(["count"]), sm.add_constant(frame), y))

    assert before.verdict == "warn" and "--transform log1p" in before.remedy
    assert after.verdict == "pass"


def test_a_bend_left_after_the_remedy_points_to_splines():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"count": np.floor(rng.lognormal(4, 1.5, 4000)), "size": rng.uniform(1, 100, 4000)})
    z = np.log1p(frame["count"])
    y = pd.Series(rng.binomial(1, expit(-1 + 1.5 * z - 0.25 * z**2)), name="y")

    check = _linearity_check(box_tidwell(frame, _spec(["count"]), sm.add_constant(frame), y))

    assert check.verdict == "warn"
    assert "log1p(count)" in check.consequence
    assert "already enter as log1p(count)" in check.remedy and "splines" in check.remedy


def test_empirical_logits_carry_the_predictor_as_it_enters_the_model():
    frame, y = _curved_in_counts()
    p_hat = np.full(len(y), y.mean())

    table = empirical_logits(frame, y, ["count", "size"], p_hat, log1p=("count",))

    codes = pd.qcut(frame["count"], 10, labels=False, duplicates="drop")
    expected = np.log1p(frame["count"]).groupby(codes).mean()
    counts = table[table["predictor"] == "count"]
    np.testing.assert_allclose(counts["x_entered_mean"], expected.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(counts["x_mean"], frame["count"].groupby(codes).mean().to_numpy(), rtol=1e-12)
    sizes = table[table["predictor"] == "size"]
    np.testing.assert_allclose(sizes["x_entered_mean"], sizes["x_mean"], rtol=1e-12)


# ---------------------------------------------------------------- the real data


@pytest.fixture(scope="module")
def real_training_part(real_dataset):
    frame = real_dataset.frame
    rows = split(frame, TARGET, SEED)
    train = frame.loc[rows.train]
    return train, encode_target(train[TARGET], "verified")


def test_real_box_tidwell_on_the_log1p_model_matches_a_hand_built_logit(real_training_part, design_by_hand):
    train, y = real_training_part
    spec = select_features(train, TARGET, transform="log1p")
    inference = fit_inference(train, y, spec)

    table = check_logistic(train, y, spec, inference.result).box_tidwell.set_index("predictor")

    # The model's standardized design plus (x + s)·ln(x + s) of each predictor as it enters (x = log1p(count)
    # for the transformed counts); a term's Wald z does not depend on how the linear terms are scaled.
    hand = hand_design(design_by_hand, train, train, spec)
    for c in spec.continuous:
        entered = np.log1p(train[c].astype(float)) if c in spec.log1p else train[c].astype(float)
        shift = 1.0 - entered.min() if entered.min() <= 0 else 0.0
        hand[f"{c}_xlnx"] = (entered + shift) * np.log(entered + shift)
    reference = sm.Logit(y.astype(float), hand).fit(method="newton", disp=False)
    for c in spec.continuous:
        assert table.loc[c, "transform"] == ("log1p" if c in spec.log1p else "none")
        assert table.loc[c, "z"] == pytest.approx(reference.tvalues[f"{c}_xlnx"], rel=1e-6)


def test_run_with_log1p_writes_a_version_3_artifact_that_scores_like_the_pipeline(tmp_path):
    """End to end: ``run --transform log1p`` on the synthetic default, then ``score`` with its model."""
    import json

    from typer.testing import CliRunner

    from tiktok_claims.analysis import analyze
    from tiktok_claims.cli import app
    from tiktok_claims.data.synthetic import make_synthetic

    result = CliRunner().invoke(app, ["run", "--out", str(tmp_path / "run"), "--quiet", "--transform", "log1p",
                                      "--bootstrap", "100", "--cv-folds", "2"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["features"]["log1p"] and set(metrics["features"]["log1p"]) <= set(metrics["features"]["continuous"])
    assert "log(1 + count)" in (tmp_path / "run" / "report.html").read_text()
    document = json.loads((tmp_path / "run" / "model.json").read_text())
    assert document["format_version"] == 3
    assert {i["name"] for i in document["payload"]["inputs"] if i.get("transform") == "log1p"} == set(metrics["features"]["log1p"])

    videos = make_synthetic(300, seed=4).dropna()
    videos.to_csv(tmp_path / "videos.csv", index=False)
    scored = CliRunner().invoke(app, ["score", "--model", str(tmp_path / "run" / "model.json"), "--data",
                                      str(tmp_path / "videos.csv"), "--out", str(tmp_path / "scored.csv"), "--quiet"])
    assert scored.exit_code == 0, scored.output
    analysis = analyze(None, transform="log1p", bootstrap=100, cv_folds=2, workers=1)
    expected = analysis.classifier.predict_proba(videos.reset_index(drop=True)[analysis.features.columns])
    got = pd.read_csv(tmp_path / "scored.csv")["score"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
