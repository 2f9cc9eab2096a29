"""Small, skewed and degenerate data: a complete honest report or a clean refusal, decided first.

The minimums are checked against the split and the folds that scikit-learn actually
draws (an independent computation of what the analysis will see), and a property-based
test draws random subsets, class ratios and degenerate columns from the synthetic
generator and asserts "report or clean refusal, never a traceback".
"""

from __future__ import annotations

import json
import time
import warnings

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sklearn.model_selection import StratifiedKFold

import tiktok_claims.analysis as analysis_package
from tiktok_claims import config
from tiktok_claims.analysis import AnalysisOptions, analyze, check_assumptions
from tiktok_claims.analysis.preflight import (
    MIN_TEST_ROWS,
    SMOTE_NEIGHBORS,
    minimum_rows_per_level,
    preflight,
    train_minimum,
)
from tiktok_claims.approach import OutcomeKind
from tiktok_claims.artifact.store import save_artifact
from tiktok_claims.data.load import dataset_from_frame
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.errors import AnalysisError, DataError
from tiktok_claims.model.split import split
from tiktok_claims.reporting.render import write_outputs

CHEAP = {"cv_folds": 2, "cv_repeats": 1, "bootstrap": 100, "stability_refits": 0, "workers": 1}


@pytest.fixture(scope="module")
def pool() -> pd.DataFrame:
    """Complete synthetic rows to draw subsets from (both classes plentiful)."""
    return make_synthetic(6000, seed=11).dropna().reset_index(drop=True)


def with_positives(pool: pd.DataFrame, positives: int, negatives: int, seed: int = 0) -> pd.DataFrame:
    """``positives`` verified and ``negatives`` not-verified rows drawn from ``pool``."""
    verified = pool[pool[config.VERIFIED] == "verified"].sample(positives, random_state=seed)
    other = pool[pool[config.VERIFIED] == "not verified"].sample(negatives, random_state=seed)
    return pd.concat([other, verified]).reset_index(drop=True)


def dataset(frame: pd.DataFrame):
    return dataset_from_frame(frame, source="drawn.csv")


@pytest.mark.parametrize("folds", [2, 3, 5, 10])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_at_the_minimum_every_part_and_fold_the_analysis_draws_has_enough_of_each_level(pool, folds, seed):
    needed = minimum_rows_per_level(config.VERIFIED, folds)
    frame = with_positives(pool, needed, 400, seed)
    options = AnalysisOptions(cv_folds=folds, seed=seed)
    assert preflight(dataset(frame), options).kind is OutcomeKind.BINARY
    # What scikit-learn will draw, recomputed here: the split, then stratified folds of the training part.
    parts = split(frame, config.VERIFIED, seed)
    y = (frame[config.VERIFIED] == "verified").astype(int)
    assert y.loc[parts.test].sum() >= MIN_TEST_ROWS
    y_train = y.loc[parts.train].to_numpy()
    for fit_rows, held_out in StratifiedKFold(folds, shuffle=True, random_state=seed).split(y_train, y_train):
        assert y_train[held_out].sum() >= 2, "a fold without both levels has no ranking metric"
        assert y_train[fit_rows].sum() >= SMOTE_NEIGHBORS + 1, "SMOTE needs k + 1 minority rows"


@pytest.mark.parametrize("folds", [2, 5, 10])
def test_one_row_short_of_the_minimum_is_refused_naming_the_level_the_counts_and_the_minimum(pool, folds):
    needed = minimum_rows_per_level(config.VERIFIED, folds)
    frame = with_positives(pool, needed - 1, 400)
    with pytest.raises(AnalysisError) as refused:
        preflight(dataset(frame), AnalysisOptions(cv_folds=folds))
    message = str(refused.value)
    assert "drawn.csv" in message and "'verified'" in message
    assert f"only {needed - 1:,} of {needed - 1 + 400:,}" in message
    assert f"at least {needed} rows of each level" in message


def test_the_minimum_grows_with_the_folds_and_is_smaller_without_cross_validation():
    assert train_minimum(OutcomeKind.BINARY, 10) == 20 > train_minimum(OutcomeKind.BINARY, 5) == 10
    assert train_minimum(OutcomeKind.BINARY, 2) == 12  # SMOTE: 6 minority rows in half the training part
    # The test part's 5 rows at a 25% share set the floor; 10 folds need more training rows than that leaves.
    assert minimum_rows_per_level(config.VERIFIED, 10, cross_validated=False) == 20
    assert minimum_rows_per_level(config.VERIFIED, 10) == 28


def test_a_single_class_is_refused_before_any_fit_not_called_a_multinomial_model(pool, monkeypatch):
    frame = pool[pool[config.VERIFIED] == "not verified"].head(500)
    started = []
    for stage in ("explore", "analyze_binary", "analyze_family"):
        monkeypatch.setattr(analysis_package, stage, lambda *a, _stage=stage, **k: started.append(_stage))
    with pytest.raises(AnalysisError, match=r"500 'not verified' and no 'verified'.*at least 20 of each"):
        analyze(frame, **CHEAP)
    assert started == [], "refused before the exploration and any fit"


def test_a_missing_ordered_level_is_refused_for_the_ordinal_model(pool):
    frame = pool[pool[config.BAN] != "banned"]
    with pytest.raises(AnalysisError, match=r"no 'banned'.*every level \('active', 'under review', 'banned'\)"):
        preflight(dataset(frame), AnalysisOptions(target=config.BAN))


def test_no_usable_row_is_refused_with_the_set_aside_reasons(pool):
    frame = pool.head(50).copy()
    frame[config.VERIFIED] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    with pytest.raises(AnalysisError, match=r"no row can be used \(50 read; set aside: 50 missing verified_status\)"):
        preflight(dataset(frame), AnalysisOptions())


def test_a_constant_numeric_outcome_is_refused(pool):
    frame = pool.head(300).copy()
    frame[config.DURATION] = 12
    with pytest.raises(AnalysisError, match=r"video_duration_sec takes 1 distinct value"):
        preflight(dataset(frame), AnalysisOptions(target=config.DURATION))


def test_check_refuses_the_same_data_before_fitting(pool):
    frame = with_positives(pool, 6, 300)
    with pytest.raises(AnalysisError, match="'verified' in only 6"):
        check_assumptions(frame)


def test_a_constant_predictor_is_left_out_and_said_in_every_record_that_lists_limitations(pool, tmp_path):
    frame = with_positives(pool, 60, 600)
    frame[config.CLAIM] = "opinion"
    analysis = analyze(frame, **CHEAP)
    metrics = analysis.metrics()
    assert config.CLAIM not in analysis.features.categorical
    assert metrics["features"]["unestimable"] == [config.CLAIM]
    assert "every row 'opinion'" in metrics["features"]["dropped"][config.CLAIM]
    assert not any(name.startswith(config.CLAIM) for name in analysis.coefficients["name"])
    assert any(item.startswith("It does not use claim status") for item in metrics["story"]["limitations"])


def run_or_refuse(frame: pd.DataFrame, target: str, out) -> str:
    """``analyze`` + every document + the model, as ``run`` does; ``"report"`` or ``"refused"``."""
    try:
        analysis = analyze(frame, target=target, **CHEAP)
    except (AnalysisError, DataError) as refusal:
        assert str(refusal).strip(), "a refusal says why"
        return "refused"
    metrics = analysis.metrics()
    written = write_outputs(analysis, out, metrics)
    written.update(save_artifact(analysis, out, metrics))
    assert json.loads((out / "metrics.json").read_text())["target"] == target
    assert {"report.html", "metrics.json", "model.json"} <= set(written)
    return "report"


@st.composite
def degenerate_frames(draw, pool_rows=6000):
    """A subset of synthetic rows with a drawn size, class ratio and degenerate columns."""
    pool = make_synthetic(pool_rows, seed=draw(st.integers(0, 3)))
    target = draw(st.sampled_from([config.VERIFIED, config.CLAIM, config.BAN, config.DURATION]))
    rows = draw(st.integers(2, 1500))
    if target in (config.VERIFIED, config.CLAIM):
        levels = config.CATEGORIES[target]
        rare = draw(st.integers(0, min(rows, 150)))
        parts = [
            pool[pool[target] == levels[0]].sample(rows - rare, random_state=1),
            pool[pool[target] == levels[1]].sample(rare, random_state=1),
        ]
        frame = pd.concat(parts)
    else:
        frame = pool.sample(rows, random_state=2)
    frame = frame.reset_index(drop=True).copy()
    for column in draw(st.sets(st.sampled_from([config.DURATION, config.CLAIM, config.BAN, config.VIEWS]), max_size=2)):
        if column != target:
            frame[column] = frame[column].iloc[0]
    if draw(st.booleans()) and target != config.BAN:
        frame = frame[frame[config.BAN] != "banned"]
    return frame, target


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(drawn=degenerate_frames())
def test_any_subset_ratio_or_degenerate_column_gets_a_report_or_a_clean_refusal(drawn, tmp_path_factory):
    frame, target = drawn
    out = tmp_path_factory.mktemp("drawn")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as on the command line: a warning is printed, never a failure
        started = time.perf_counter()
        outcome = run_or_refuse(frame, target, out)
    event(f"{target}: {outcome}")
    if outcome == "refused":
        assert time.perf_counter() - started < 30, "a refusal is decided before the expensive work"
