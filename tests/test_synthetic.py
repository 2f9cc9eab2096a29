"""Tests of the synthetic data generator: determinism, schema, files and calibration.

Calibration targets were measured on the real dataset (19,084 complete rows); the
last test also compares with the real file directly when it is available.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import statsmodels.api as sm
from statsmodels.stats.outliers_influence import variance_inflation_factor

from tiktok_claims import config
from tiktok_claims.data.load import dataset_from_frame, load_dataset
from tiktok_claims.data.synthetic import (
    BLOCK_ROWS,
    CLAIM_PREFIXES,
    FACTS,
    OPINION_PREFIXES,
    TRANSCRIPTS,
    _video_ids,
    make_synthetic,
    write_synthetic,
)
from tiktok_claims.errors import DataError

CALIBRATION_ROWS = 20_000
CALIBRATION_SEED = 2024
INCOMPLETE_REASON = "missing claim_status, video_transcription_text, all five counts"

# Pooled Pearson correlations of the complete rows of the real dataset.
REAL_CORRELATIONS = {
    (config.VIEWS, config.LIKES): 0.804,
    (config.LIKES, config.SHARES): 0.826,
    (config.LIKES, config.DOWNLOADS): 0.824,
    (config.SHARES, config.DOWNLOADS): 0.680,
    (config.DOWNLOADS, config.COMMENTS): 0.832,
    (config.VIEWS, config.COMMENTS): 0.554,
}


@pytest.fixture(scope="module")
def default_frame() -> pd.DataFrame:
    return make_synthetic()


@pytest.fixture(scope="module")
def default_dataset(default_frame):
    return dataset_from_frame(default_frame, source="synthetic", synthetic=True)


@pytest.fixture(scope="module")
def complete() -> pd.DataFrame:
    """Complete rows of a calibration sample, counts as plain integers."""
    frame = make_synthetic(CALIBRATION_ROWS, CALIBRATION_SEED).dropna()
    return frame.astype({name: "int64" for name in config.COUNT_COLUMNS})


def _vifs(frame: pd.DataFrame, columns: list[str]) -> dict[str, float]:
    design = sm.add_constant(frame[columns].astype(float)).to_numpy()
    return {name: variance_inflation_factor(design, i + 1) for i, name in enumerate(columns)}


def _verified_odds_ratio(frame: pd.DataFrame, covariates: tuple[str, ...] = ()) -> float:
    verified = (frame[config.VERIFIED] == "verified").astype(int)
    predictors = pd.DataFrame({"opinion": (frame[config.CLAIM] == "opinion").astype(float)})
    for name in covariates:
        predictors[name] = frame[name].astype(float)
    result = sm.Logit(verified, sm.add_constant(predictors)).fit(disp=0)
    return float(np.exp(result.params["opinion"]))


# Determinism and arguments


def test_same_seed_gives_identical_rows(default_frame):
    pd.testing.assert_frame_equal(make_synthetic(), default_frame)


def test_different_seeds_give_different_rows(default_frame):
    other = make_synthetic(seed=config.DEFAULT_SEED + 1)
    assert not other[config.VIDEO_ID].equals(default_frame[config.VIDEO_ID])
    assert not other[config.VIEWS].equals(default_frame[config.VIEWS])


@pytest.mark.parametrize("rows", [0, -5])
def test_rows_below_one_is_refused(rows):
    with pytest.raises(DataError, match=f"rows must be at least 1; got {rows}"):
        make_synthetic(rows=rows)


def test_negative_seed_is_refused():
    with pytest.raises(DataError, match="seed must be a non-negative whole number; got -1"):
        make_synthetic(rows=10, seed=-1)


def test_single_row():
    frame = make_synthetic(rows=1)
    assert list(frame.columns) == list(config.COLUMNS)
    assert frame[config.ID_COLUMN].tolist() == [1]


# Schema and accounting


def test_frame_has_the_schema_and_passes_validation(default_frame, default_dataset):
    assert list(default_frame.columns) == list(config.COLUMNS)
    assert default_frame[config.ID_COLUMN].tolist() == list(range(1, config.SYNTHETIC_DEFAULT_ROWS + 1))
    assert default_dataset.synthetic
    assert default_dataset.rows_read == config.SYNTHETIC_DEFAULT_ROWS
    assert default_dataset.rows_read == default_dataset.rows_used + sum(
        default_dataset.rows_set_aside.values()
    )
    # Like the real file: 298 of 19,382 rows lack claim status, transcript and counts.
    assert default_dataset.rows_set_aside == {INCOMPLETE_REASON: 298}


def test_incomplete_rows_keep_their_identifiers_and_author_fields(default_frame):
    incomplete = default_frame[default_frame[config.CLAIM].isna()]
    assert incomplete[[config.TRANSCRIPT, *config.COUNT_COLUMNS]].isna().all().all()
    present = [config.ID_COLUMN, config.VIDEO_ID, config.DURATION, config.VERIFIED, config.BAN]
    assert incomplete[present].notna().all().all()
    assert (incomplete[config.BAN] == "active").mean() > 0.85
    assert (incomplete[config.VERIFIED] == "not verified").mean() > 0.75


def test_video_ids_are_unique_ten_digit_numbers():
    positions = np.concatenate(
        [np.arange(2_000_000, dtype=np.uint64), np.arange(8_999_990_000, 9_000_000_000, dtype=np.uint64)]
    )
    keys = np.random.SeedSequence(0).generate_state(4, dtype=np.uint64)
    ids = _video_ids(positions, keys)
    assert (np.diff(np.sort(ids)) > 0).all()
    assert ids.min() >= 10**9 and ids.max() < 10**10


def test_templates_need_no_csv_quoting():
    # write_synthetic writes CSV without quotes, which requires plain text fields.
    assert len(FACTS) == 40 and len(CLAIM_PREFIXES) == len(OPINION_PREFIXES) == 8
    assert not [text for text in TRANSCRIPTS if any(c in text for c in ',"\r\n')]


# Files


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_written_file_loads_with_the_same_rows_and_accounting(
    tmp_path, suffix, default_dataset
):
    path = write_synthetic(tmp_path / f"claims{suffix}")
    assert path == tmp_path / f"claims{suffix}"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    loaded = load_dataset(path)
    pd.testing.assert_frame_equal(loaded.all_rows, default_dataset.all_rows)
    assert loaded.rows_set_aside == default_dataset.rows_set_aside
    assert loaded.rows_read == loaded.rows_used + sum(loaded.rows_set_aside.values())


def test_csv_text_has_plain_integers_and_empty_missing_fields(tmp_path):
    path = write_synthetic(tmp_path / "claims.csv", rows=2_000)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(config.COLUMNS)
    assert len(lines) == 2_001
    incomplete = [line for line in lines[1:] if line.split(",")[1] == ""]
    assert incomplete and all(line.endswith(",,,,,") for line in incomplete)
    counts = [field for line in lines[1:] for field in line.split(",")[-5:] if field]
    assert all(field.isdigit() for field in counts)


def test_chunked_files_equal_make_synthetic(tmp_path):
    rows = BLOCK_ROWS + 2_000  # two generation blocks
    chunk_rows = 7_777  # chunks that straddle the block boundary
    expected = make_synthetic(rows, seed=3)

    csv = write_synthetic(tmp_path / "claims.csv", rows=rows, seed=3, chunk_rows=chunk_rows)
    assert csv.read_text(encoding="utf-8") == expected.to_csv(index=False, lineterminator="\n")

    parquet = write_synthetic(tmp_path / "claims.parquet", rows=rows, seed=3, chunk_rows=chunk_rows)
    assert pq.ParquetFile(parquet).metadata.num_row_groups == math.ceil(rows / chunk_rows)
    read = pd.read_parquet(parquet).astype(expected.dtypes.to_dict())
    pd.testing.assert_frame_equal(read, expected)
    assert expected[config.VIDEO_ID].is_unique


@pytest.mark.parametrize("name", ["claims.txt", "claims", "claims.json.gz", "claims.parquet.csv.bak"])
def test_unknown_suffix_is_refused(tmp_path, name):
    path = tmp_path / name
    with pytest.raises(DataError) as info:
        write_synthetic(path, rows=10)
    assert str(path) in str(info.value)
    assert ".csv, .csv.gz, .parquet" in str(info.value)
    assert not list(tmp_path.iterdir())


def test_chunk_rows_below_one_is_refused(tmp_path):
    with pytest.raises(DataError, match="chunk_rows must be at least 1; got 0"):
        write_synthetic(tmp_path / "claims.csv", rows=10, chunk_rows=0)


# Calibration (targets measured on the real dataset)


def test_claim_verified_and_ban_shares(complete):
    claim = complete[config.CLAIM] == "claim"
    verified = complete[config.VERIFIED] == "verified"
    active = complete[config.BAN] == "active"
    assert claim.mean() == pytest.approx(0.503, abs=0.015)
    assert verified.mean() == pytest.approx(0.063, abs=0.008)
    assert verified[claim].mean() == pytest.approx(0.022, abs=0.007)
    assert verified[~claim].mean() == pytest.approx(0.105, abs=0.015)
    assert active[claim].mean() == pytest.approx(0.683, abs=0.025)
    assert active[~claim].mean() == pytest.approx(0.930, abs=0.015)
    assert (complete.loc[claim, config.BAN] == "banned").mean() == pytest.approx(0.150, abs=0.02)


def test_duration_is_uniform_on_5_to_60_seconds(complete):
    duration = complete[config.DURATION]
    assert duration.min() == 5 and duration.max() == 60
    assert duration.mean() == pytest.approx(32.5, abs=0.6)
    assert duration.std() == pytest.approx(16.2, abs=0.5)


@pytest.mark.parametrize(
    ("status", "low", "high", "means"),
    [
        ("claim", 1_000, 999_999, {config.VIEWS: 501_029, config.LIKES: 166_373, config.SHARES: 33_026,
                                   config.DOWNLOADS: 2_071, config.COMMENTS: 691}),
        ("opinion", 20, 9_999, {config.VIEWS: 4_956, config.LIKES: 1_093, config.SHARES: 217,
                                config.DOWNLOADS: 13.7, config.COMMENTS: 2.70}),
    ],
)
def test_count_ranges_and_means_per_class(complete, status, low, high, means):
    rows = complete[complete[config.CLAIM] == status]
    assert rows[config.VIEWS].between(low, high).all()
    assert (rows[list(config.COUNT_COLUMNS)] >= 0).all().all()
    for name, mean in means.items():
        assert rows[name].mean() == pytest.approx(mean, rel=0.06), name
    # Heavy right tails: the mean of each derived count is well above its median.
    for name in (config.SHARES, config.DOWNLOADS, config.COMMENTS):
        assert rows[name].mean() > 1.15 * rows[name].median(), name


def test_pooled_correlations_match_the_real_data(complete):
    correlations = complete[list(config.CONTINUOUS_COLUMNS)].corr()
    for (a, b), real in REAL_CORRELATIONS.items():
        assert correlations.loc[a, b] == pytest.approx(real, abs=0.04), (a, b)
    assert correlations[config.DURATION].drop(config.DURATION).abs().max() < 0.03


def test_likes_is_the_one_column_the_vif_rule_drops(complete):
    columns = list(config.CONTINUOUS_COLUMNS)
    vifs = _vifs(complete, columns)
    assert max(vifs, key=vifs.get) == config.LIKES
    assert vifs[config.LIKES] == pytest.approx(7.0, abs=0.8)
    assert max(_vifs(complete, [c for c in columns if c != config.LIKES]).values()) < config.VIF_LIMIT


def test_verified_odds_ratio_for_opinion_is_about_five(complete):
    assert 3 < _verified_odds_ratio(complete) < 8
    engagement = (config.VIEWS, config.SHARES, config.DOWNLOADS, config.COMMENTS)
    assert 3 < _verified_odds_ratio(complete, engagement) < 8


def test_verified_is_unrelated_to_engagement_within_a_class(complete):
    for _, rows in complete.groupby(config.CLAIM):
        verified = (rows[config.VERIFIED] == "verified").astype(float)
        for name in config.COUNT_COLUMNS:
            assert abs(np.corrcoef(verified, rows[name])[0, 1]) < 0.05, name


def test_transcripts_follow_the_class_templates(complete):
    text = complete[config.TRANSCRIPT]
    claim = complete[config.CLAIM] == "claim"
    assert text[claim].str.startswith(CLAIM_PREFIXES).all()
    assert text[~claim].str.startswith(OPINION_PREFIXES).all()
    assert text.str.len().between(55, 135).all()
    # Claims run longer than opinions, as in the real data (95 vs 83 characters).
    assert text[claim].str.len().mean() > text[~claim].str.len().mean() + 5


def test_synthetic_resembles_the_real_data(real_dataset, complete):
    real = real_dataset.frame
    for frame in (real, complete):
        assert (frame[config.CLAIM] == "claim").mean() == pytest.approx(0.503, abs=0.015)
    real_corr = real[list(config.COUNT_COLUMNS)].corr()
    synthetic_corr = complete[list(config.COUNT_COLUMNS)].corr()
    assert (real_corr - synthetic_corr).abs().max().max() < 0.05
    assert _verified_odds_ratio(real) == pytest.approx(5.25, abs=0.1)
    assert _verified_odds_ratio(complete) == pytest.approx(_verified_odds_ratio(real), rel=0.3)
    real_vifs = _vifs(real, list(config.CONTINUOUS_COLUMNS))
    synthetic_vifs = _vifs(complete, list(config.CONTINUOUS_COLUMNS))
    for name in config.CONTINUOUS_COLUMNS:
        assert synthetic_vifs[name] == pytest.approx(real_vifs[name], abs=0.6), name


def test_writing_never_touches_a_file_it_was_not_asked_to_write(tmp_path, monkeypatch):
    from tiktok_claims.data import synthetic

    target = tmp_path / "sample.csv"
    users = tmp_path / "sample.csv.partial"  # the name the writer once used for its temporary file
    target.write_text("the user's previous sample\n")
    users.write_text("the user's own notes\n")

    def failing_chunks(rows, seed, chunk_rows):
        yield from list(real_chunks(rows, seed, chunk_rows))[:1]
        raise KeyboardInterrupt  # interrupted after the first chunk

    real_chunks = synthetic._chunks
    monkeypatch.setattr(synthetic, "_chunks", failing_chunks)
    with pytest.raises(KeyboardInterrupt):
        write_synthetic(target, rows=300, chunk_rows=100)
    assert target.read_text() == "the user's previous sample\n"  # not truncated
    assert users.read_text() == "the user's own notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.csv", "sample.csv.partial"]

    monkeypatch.setattr(synthetic, "_chunks", real_chunks)
    write_synthetic(target, rows=300, chunk_rows=100)
    assert len(pd.read_csv(target)) == 300
    assert users.read_text() == "the user's own notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.csv", "sample.csv.partial"]
