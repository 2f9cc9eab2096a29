"""The separating rule in words (interpretation/separation.py), against a brute-force search."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tiktok_claims import config
from tiktok_claims.cli import app
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.interpretation.separation import (
    describe_separation,
    estimation_reason,
    separating_rule,
    single_class_groups,
)
from tiktok_claims.interpretation.wording import percent
from tiktok_claims.model.separation import NEAR_SEPARATION_SHARE


def _brute_force(x: np.ndarray, y: np.ndarray) -> tuple[float, bool, int]:
    """The threshold (and direction) misclassifying the fewest rows, trying every distinct value."""
    best = None
    for t in np.unique(x):
        for high_positive in (True, False):
            predicted = (x >= t) if high_positive else (x < t)
            errors = int(np.sum(predicted != (y == 1)))
            if best is None or errors < best[2] or (errors == best[2] and t < best[0] and high_positive >= best[1]):
                best = (float(t), high_positive, errors)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_the_threshold_is_the_best_single_split(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 50, 300).astype(float)
    y = ((x + rng.normal(0, 8, 300)) > (20 if seed % 2 else 35)).astype(int)
    if seed >= 4:
        y = 1 - y  # low values positive
    rule = separating_rule(pd.Series(x), pd.Series(y), config.VIEWS, "claim", "opinion")
    threshold, high_positive, errors = _brute_force(x, y)
    assert rule["misclassified_share"] == pytest.approx(errors / len(y))
    high = x >= rule["threshold"]
    assert rule["high_class"] == ("claim" if np.mean(y[high]) >= 0.5 else "opinion")
    assert rule["high_rows"] == int(high.sum()) and rule["low_rows"] == int((~high).sum())
    assert rule["high_share"] == pytest.approx(np.mean(y[high] == (1 if rule["high_class"] == "claim" else 0)))
    assert f"at least {rule['threshold']:,.0f} views" in rule["sentence"]


def test_a_dummy_rule_names_its_level():
    values = pd.Series(["banned"] * 40 + ["active"] * 60)
    y = pd.Series([1] * 38 + [0] * 2 + [1] * 3 + [0] * 57)
    rule = separating_rule(values, y, f"{config.BAN}_banned", "claim", "opinion")
    assert rule["high_class"] == "claim" and rule["high_share"] == pytest.approx(38 / 40)
    assert rule["low_share"] == pytest.approx(57 / 60)
    assert "author ban status 'banned'" in rule["sentence"]


def test_the_estimation_reason_is_true_for_each_kind():
    assert "infinite" not in estimation_reason("near", penalized=True, rows=100, leading="v", misclassified_share=0.01, firth_shift=0.05)
    assert "exist and are finite" in estimation_reason("near", penalized=True, rows=100, leading="v", misclassified_share=0.01, firth_shift=0.05)
    assert "5.0%" in estimation_reason("near", penalized=True, rows=100, leading="v", misclassified_share=0.01, firth_shift=0.05)
    assert "infinite" in estimation_reason("complete", penalized=True, rows=100)
    assert "of a, b are infinite" in estimation_reason("quasi-complete", penalized=True, rows=100, infinite=("a", "b"))
    assert "No separation" in estimation_reason("none", penalized=False, rows=100)
    assert "Wald limits" in estimation_reason("near", penalized=True, rows=100, leading="v", misclassified_share=0.01, wald_fallback=("x",))


def test_a_level_of_one_class_is_described_with_both_sides_of_its_split():
    values = pd.Series(["opinion"] * 30 + ["claim"] * 70)
    y = pd.Series([1] * 30 + [0] * 70)
    rule = separating_rule(values, y, f"{config.CLAIM}_opinion", "verified", "not verified")
    assert rule["misclassified_share"] == 0 and rule["high_share"] == 1.0 and rule["low_share"] == 1.0
    assert rule["clause"] == (
        "videos with claim status 'opinion' are 'verified' in 100.0% of cases (30 videos), "
        "those with claim status 'claim' are 'not verified' in 100.0% (70 videos)"
    )


def test_every_group_of_one_class_is_named():
    values = pd.Series(["active"] * 50 + ["under review"] * 20 + ["banned"] * 30)
    y = pd.Series([0] * 70 + [1] * 10 + [0] * 20)
    groups = single_class_groups(values, y, config.BAN, "verified", "not verified")
    assert [(g["level"], g["rows"], g["only"]) for g in groups] == [("active", 50, "not verified"), ("under review", 20, "not verified")]
    described = describe_separation("quasi-complete", [], groups, 0.1)
    assert described["kind"] == "groups"
    assert described["clause"] == (
        "all 50 videos whose author ban status is 'active' and all 20 videos whose author ban status is "
        "'under review' are 'not verified'"
    )


def _rule(share: float, name: str) -> dict:
    return {"predictor": name, "name": name, "misclassified_share": share, "clause": name, "sentence": name}


def test_the_named_characteristic_is_the_best_single_rule_and_only_if_it_nearly_decides():
    rules = [_rule(0.3, "first"), _rule(NEAR_SEPARATION_SHARE / 2, "best"), _rule(0.2, "third")]
    assert describe_separation("near", rules, [], 0.01)["predictor"] == "best"
    assert describe_separation("none", rules, [], 0.5) is None
    # No single rule misclassifies fewer than the near-separation share: only the combination is claimed.
    combined = describe_separation("near", [_rule(0.3, "a"), _rule(NEAR_SEPARATION_SHARE, "b")], [], 0.015)
    assert combined["kind"] == "combination" and combined["predictor"] is None
    assert combined["clause"] == (
        "a linear rule combining the characteristics misclassifies only 1.5% of the videos, while the best rule on "
        f"one characteristic alone (b) misclassifies {NEAR_SEPARATION_SHARE:.1%}"
    )
    assert "classifies every video correctly" in describe_separation("complete", [], [], 0.0)["clause"]
    assert "no rule on one characteristic alone" in describe_separation("complete", [], [], 0.0)["clause"]


def _made_up_run(tmp_path_factory, case: str) -> tuple[pd.DataFrame, dict, str]:
    """A run on synthetic rows whose verified status is made to separate as ``case`` says: the used rows, metrics, documents."""
    frame = make_synthetic(3000, seed=5).dropna().reset_index(drop=True)
    rng = np.random.default_rng(1)
    views, duration = frame[config.VIEWS].astype(float), frame[config.DURATION].astype(float)
    verified = {
        "category": frame[config.CLAIM] == "opinion",
        # A count's threshold, with 1% of the rows on the wrong side of it.
        "count": (views >= views.median()) ^ (rng.random(len(frame)) < 0.01),
        # A linear rule on two predictors; neither alone comes near.
        "combination": (views - views.median()) / views.std() + (duration - duration.median()) / duration.std() > 0,
        # Verified only among banned authors: every other group holds one class.
        "groups": (frame[config.BAN] == "banned") & (rng.random(len(frame)) < 0.5),
    }[case]
    frame[config.VERIFIED] = np.where(verified, "verified", "not verified")
    folder = tmp_path_factory.mktemp(f"separation-{case}")
    frame.to_csv(folder / "made_up.csv", index=False)
    out = folder / "out"
    arguments = ["run", "--data", str(folder / "made_up.csv"), "--out", str(out), "--quiet", "--bootstrap", "200", "--cv-folds", "3"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    documents = []
    for name in ("report.md", "technical_summary.md", "pace_strategy.md", "model_card.md", "executive_summary.html"):
        text = (out / name).read_text(encoding="utf-8")
        documents.append(html.unescape(re.sub(r"<[^>]+>", " ", text)) if name.endswith(".html") else text.replace("\\", ""))
    return frame, json.loads((out / "metrics.json").read_text()), " ".join(" ".join(documents).split())


def _single_rules_by_hand(frame: pd.DataFrame, m: dict) -> dict[str, float]:
    """The share of rows each predictor of the design misclassifies on its own, at its best split, by brute force."""
    y = (frame[config.VERIFIED] == "verified").to_numpy()
    shares = {}
    for column in m["features"]["continuous"]:
        x = frame[column].to_numpy(dtype=float)
        errors = [min(np.sum((x >= t) != y), np.sum((x >= t) == y)) for t in np.unique(x)[1:]]
        shares[column] = min(errors) / len(y)
    for column in m["features"]["categorical"]:
        for level in frame[column].unique():
            inside = (frame[column] == level).to_numpy()
            shares[f"{column}_{level}"] = min(np.sum(inside != y), np.sum(inside == y)) / len(y)
    return shares


def _percent_of(part: pd.Series) -> str:
    return f"{percent(part.mean())} of cases ({len(part):,} videos)"


def test_a_separating_category_is_named_with_its_counts(tmp_path_factory):
    frame, m, text = _made_up_run(tmp_path_factory, "category")
    verified, opinion = frame[config.VERIFIED], frame[config.CLAIM] == "opinion"
    clause = (
        f"videos with claim status 'opinion' are 'verified' in {_percent_of(verified[opinion] == 'verified')}, those with "
        f"claim status 'claim' are 'not verified' in {percent((verified[~opinion] == 'not verified').mean())} ({(~opinion).sum():,} videos)"
    )
    assert clause.startswith("videos with claim status 'opinion' are 'verified' in 100.0% of cases")
    assert f"One characteristic decides the outcome on its own: {clause}." in text
    assert "re-check the model whenever the share of videos whose claim status is 'opinion' changes" in text
    assert "Separation. Videos with claim status 'opinion'" in text.replace("*", "")


def test_a_count_that_nearly_separates_is_named_at_its_best_threshold(tmp_path_factory):
    frame, m, text = _made_up_run(tmp_path_factory, "count")
    rule = m["estimation"]["separating_rule"]
    by_hand = _single_rules_by_hand(frame, m)
    assert rule["kind"] == "single" and rule["predictor"] == config.VIEWS == min(by_hand, key=by_hand.get)
    assert rule["misclassified_share"] == pytest.approx(by_hand[config.VIEWS]) and by_hand[config.VIEWS] < NEAR_SEPARATION_SHARE
    verified, high = frame[config.VERIFIED], frame[config.VIEWS] >= rule["threshold"]
    clause = (
        f"videos with at least {rule['threshold']:,.0f} views are 'verified' in {_percent_of(verified[high] == 'verified')}, "
        f"those with fewer views are 'not verified' in {percent((verified[~high] == 'not verified').mean())} ({(~high).sum():,} videos)"
    )
    assert f"One characteristic nearly decides the outcome on its own: {clause}." in text
    assert "the way view count accrues changes" in text


def test_without_a_single_separating_characteristic_none_is_named(tmp_path_factory):
    frame, m, text = _made_up_run(tmp_path_factory, "combination")
    rule = m["estimation"]["separating_rule"]
    by_hand = _single_rules_by_hand(frame, m)
    assert m["estimation"]["separation"] != "none" and min(by_hand.values()) >= NEAR_SEPARATION_SHARE
    assert rule["kind"] == "combination" and rule["best"]["misclassified_share"] == pytest.approx(min(by_hand.values()))
    assert "No single characteristic nearly decides the outcome; the characteristics together do: a linear rule" in text
    assert f"misclassifies {percent(min(by_hand.values()))}" in text
    assert "decides the outcome on its own" not in text and "re-check the model whenever" not in text


def test_every_group_of_one_class_is_named_in_the_documents(tmp_path_factory):
    frame, m, text = _made_up_run(tmp_path_factory, "groups")
    counts = frame.groupby(config.BAN)[config.VERIFIED].agg(["size", "nunique"])
    single = [level for level in config.CATEGORIES[config.BAN] if level in counts.index and counts.loc[level, "nunique"] == 1]
    assert single == ["active", "under review"]
    clause = " and ".join(f"all {counts.loc[level, 'size']:,} videos whose author ban status is '{level}'" for level in single)
    assert f"Several groups each hold a single class: {clause} are 'not verified'." in text
    assert "nearly decides" not in text
