"""Exploratory summaries (``eda.py``), each against a computation written here: plain Python
counting, numpy percentiles, scipy correlations and pandas group-bys on a small synthetic
frame with duplicates and outliers made on purpose, and on the real data."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr, skew, spearmanr

from tiktok_claims import config
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.eda import (
    class_balance,
    describe,
    duplicates,
    explore,
    iqr_fences,
    iqr_outliers,
    overview,
    repeated_transcripts,
    target_by_category,
    target_groups,
    text_length_by_class,
)

TARGET = config.VERIFIED


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """400 complete synthetic rows, then: row 1 a copy of row 0 but for ``#``, row 2 reusing
    row 3's video id, rows 5-7 with row 4's transcript, and one huge view count."""
    rows = make_synthetic(800, seed=4).dropna().head(400).reset_index(drop=True)
    rows.loc[1, [c for c in config.COLUMNS if c != config.ID_COLUMN]] = rows.loc[0, [c for c in config.COLUMNS if c != config.ID_COLUMN]]
    rows.loc[2, config.VIDEO_ID] = rows.loc[3, config.VIDEO_ID]
    rows.loc[5:7, config.TRANSCRIPT] = rows.loc[4, config.TRANSCRIPT]
    rows.loc[9, config.VIEWS] = 50_000_000
    return rows


def test_overview_counts_missing_and_distinct_values_of_every_column():
    all_rows = make_synthetic(600, seed=2)

    table = overview(all_rows).set_index("column")

    assert list(table.index) == list(config.COLUMNS)
    for column in config.COLUMNS:
        values = all_rows[column].tolist()
        missing = sum(1 for v in values if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA)
        assert table.loc[column, "missing"] == missing, column
        assert table.loc[column, "non_missing"] == len(values) - missing
        assert table.loc[column, "missing_share"] == pytest.approx(missing / len(values))
        assert table.loc[column, "distinct"] == len({v for v in all_rows[column].dropna()})
        assert table.loc[column, "dtype"] == str(all_rows[column].dtype)
    assert table["missing"].sum() > 0  # the synthetic data have incomplete rows, like the real file


def test_describe_equals_numpy_and_scipy(frame):
    table = describe(frame).set_index("column")

    assert list(table.index) == list(config.CONTINUOUS_COLUMNS)
    for column in config.CONTINUOUS_COLUMNS:
        values = frame[column].to_numpy(dtype=float)
        assert table.loc[column, "count"] == len(values)
        assert table.loc[column, "mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert table.loc[column, "std"] == pytest.approx(values.std(ddof=1), rel=1e-12)
        assert table.loc[column, ["min", "25%", "50%", "75%", "max"]].tolist() == pytest.approx(
            np.percentile(values, [0, 25, 50, 75, 100]), rel=1e-12
        )
        assert table.loc[column, "skew"] == pytest.approx(skew(values, bias=False), rel=1e-9)


def test_duplicates_count_what_was_duplicated_on_purpose(frame):
    table = duplicates(frame).set_index("check")["count"]
    transcripts = Counter(frame[config.TRANSCRIPT])

    assert table["duplicate rows (ignoring #)"] == 1
    # Row 1 repeats row 0's video id too; row 2 repeats row 3's.
    assert table["duplicate video_id"] == 2
    assert table["identical transcripts"] == sum(n - 1 for n in transcripts.values())
    assert table["identical transcripts"] >= 4  # row 1's copy and rows 5-7


def test_repeated_transcripts_are_the_most_common_ones_with_their_counts(frame):
    table = repeated_transcripts(frame)
    counts = Counter(frame[config.TRANSCRIPT])
    repeated = sorted((n for n in counts.values() if n > 1), reverse=True)[:5]

    assert table["count"].tolist() == repeated
    for text, n in table.itertuples(index=False):
        assert counts[text] == n
    assert len(table) == 5 and (table["count"] > 1).all()


def test_class_balance_counts_every_level_even_an_absent_one():
    frame = pd.DataFrame({config.BAN: ["active"] * 6 + ["under review"] * 2})

    table = class_balance(frame, config.BAN)

    assert table["level"].tolist() == ["active", "under review", "banned"]
    assert table["count"].tolist() == [6, 2, 0]
    assert table["share"].tolist() == [0.75, 0.25, 0.0]


def test_class_balance_of_the_real_target_equals_a_hand_count(real_dataset):
    values = real_dataset.frame[TARGET].tolist()

    table = class_balance(real_dataset.frame, TARGET).set_index("level")

    for level in config.CATEGORIES[TARGET]:
        assert table.loc[level, "count"] == values.count(level)
        assert table.loc[level, "share"] == pytest.approx(values.count(level) / len(values), rel=1e-12)


@pytest.mark.parametrize(
    ("values", "groups", "labels"),
    [
        # quartiles of 1..8: 1, 2.75, 4.5, 6.25, 8
        (range(1, 9), [1, 1, 2, 2, 3, 3, 4, 4], ["Q1: 1–3", "Q2: 3–4", "Q3: 4–6", "Q4: 6–8"]),
        # quartiles of 1..5 are the values themselves: a value on an edge goes up, the largest stays in Q4
        (range(1, 6), [1, 2, 3, 4, 4], ["Q1: 1–2", "Q2: 2–3", "Q3: 3–4", "Q4: 4–5"]),
        # repeated quartiles collapse: 0, 0, 0, 1.25, 10 -> edges 0, 1.25, 10
        ([0, 0, 0, 0, 0, 0, 5, 10], [1, 1, 1, 1, 1, 1, 2, 2], ["Q1: 0–1", "Q2: 1–10"]),
    ],
    ids=["eight-values", "values-on-the-edges", "repeated-quartiles"],
)
def test_a_numeric_target_is_grouped_by_its_quartiles(values, groups, labels):
    frame = pd.DataFrame({config.VIEWS: list(values)})

    found = target_groups(frame, config.VIEWS)

    assert list(found.cat.categories) == labels
    assert found.cat.codes.tolist() == [g - 1 for g in groups]
    assert class_balance(frame, config.VIEWS)["count"].tolist() == [groups.count(g) for g in range(1, len(labels) + 1)]


def test_iqr_fences_and_outliers_equal_pandas_quantiles(frame):
    table = iqr_outliers(frame).set_index("column")

    assert list(table.index) == list(config.CONTINUOUS_COLUMNS)
    for column in config.CONTINUOUS_COLUMNS:
        values = frame[column].astype(float)
        q1, q3 = values.quantile(0.25), values.quantile(0.75)
        low, high = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
        below, above = sum(v < low for v in values), sum(v > high for v in values)
        assert (table.loc[column, "q1"], table.loc[column, "q3"]) == pytest.approx((q1, q3), rel=1e-12)
        assert (table.loc[column, "lower_fence"], table.loc[column, "upper_fence"]) == pytest.approx((low, high), rel=1e-12)
        assert (table.loc[column, "n_below"], table.loc[column, "n_above"]) == (below, above)
        assert table.loc[column, "share_outside"] == pytest.approx((below + above) / len(values))
    assert table.loc[config.VIEWS, "n_above"] >= 1  # the huge view count made on purpose


def test_iqr_fences_of_a_hand_example():
    # 1..9: q1 = 3, q3 = 7, IQR 4; fences -3 and 13 (k = 1.5), 3 - 2*4 and 7 + 2*4 with k = 2
    assert iqr_fences(pd.Series(range(1, 10))) == (3.0, 7.0, -3.0, 13.0)
    assert iqr_fences(pd.Series(range(1, 10)), k=2.0) == (3.0, 7.0, -5.0, 15.0)


def test_correlations_equal_scipy_pair_by_pair(frame):
    result = explore(frame, frame, TARGET)
    columns = list(config.CONTINUOUS_COLUMNS)

    for i, a in enumerate(columns):
        for b in columns[i + 1 :]:
            x, y = frame[a].to_numpy(dtype=float), frame[b].to_numpy(dtype=float)
            assert result.pearson.loc[a, b] == pytest.approx(pearsonr(x, y).statistic, rel=1e-9)
            assert result.spearman.loc[a, b] == pytest.approx(spearmanr(x, y).statistic, rel=1e-9)


def test_text_length_by_class_equals_a_hand_summary(frame):
    table = text_length_by_class(frame, TARGET).set_index("level")

    for level in config.CATEGORIES[TARGET]:
        lengths = [len(text) for text, target in zip(frame[config.TRANSCRIPT], frame[TARGET]) if target == level]
        assert table.loc[level, "count"] == len(lengths)
        assert table.loc[level, "mean"] == pytest.approx(np.mean(lengths), rel=1e-12)
        assert table.loc[level, "median"] == pytest.approx(np.median(lengths), rel=1e-12)
        assert table.loc[level, "std"] == pytest.approx(np.std(lengths, ddof=1), rel=1e-12)
        assert (table.loc[level, "min"], table.loc[level, "max"]) == (min(lengths), max(lengths))


def test_by_category_shares_of_a_categorical_target_equal_a_hand_count(frame):
    table = target_by_category(frame, TARGET)

    expected_rows = [(c, level) for c, levels in config.CATEGORIES.items() if c != TARGET for level in levels if (frame[c] == level).any()]
    assert list(zip(table["column"], table["level"])) == expected_rows
    for row in table.itertuples(index=False):
        part = frame[frame[row.column] == row.level]
        assert row.videos == len(part)
        shares = table.set_index(["column", "level"]).loc[(row.column, row.level)]
        for level in config.CATEGORIES[TARGET]:
            assert shares[f"share_{level}"] == pytest.approx(sum(part[TARGET] == level) / len(part), rel=1e-12)
        for count in config.COUNT_COLUMNS:
            assert shares[f"median_{count}"] == pytest.approx(np.median(part[count].to_numpy(dtype=float)), rel=1e-12)


def test_by_category_of_a_numeric_target_gives_its_mean_and_skips_empty_levels():
    frame = make_synthetic(300, seed=6).dropna().reset_index(drop=True)
    frame[config.BAN] = "active"  # 'under review' and 'banned' are absent

    table = target_by_category(frame, config.DURATION).set_index(["column", "level"])

    assert list(table.index) == [(config.CLAIM, "claim"), (config.CLAIM, "opinion"), (config.VERIFIED, "not verified"),
                                 (config.VERIFIED, "verified"), (config.BAN, "active")]
    for (column, level), row in table.iterrows():
        part = frame.loc[frame[column] == level, config.DURATION]
        assert row[f"mean_{config.DURATION}"] == pytest.approx(part.to_numpy(dtype=float).mean(), rel=1e-12)
    assert not [c for c in table.columns if c.startswith("share_")]


def test_explore_describes_every_row_read_and_summarises_the_rows_used(real_dataset):
    result = explore(real_dataset.all_rows, real_dataset.frame, TARGET)

    assert (result.n_rows, result.n_columns) == (real_dataset.rows_read, len(config.COLUMNS))
    missing = result.overview.set_index("column")["missing"]
    assert missing[config.CLAIM] == real_dataset.rows_read - real_dataset.rows_used  # the rows set aside
    assert result.describe.set_index("column")["count"].eq(real_dataset.rows_used).all()
    assert result.class_balance["count"].sum() == real_dataset.rows_used
