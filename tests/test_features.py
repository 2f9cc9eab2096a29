"""The multicollinearity rule, checked against a hand-computed VIF (numpy least squares),
on the raw counts and on log(1 + count) (the log1p remedy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tiktok_claims import config
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.errors import AnalysisError
from tiktok_claims.model.features import correlated_pairs, select_features, vif_table
from tiktok_claims.model.split import split

CLAIM, BAN, TARGET = config.CLAIM, config.BAN, config.VERIFIED
CATEGORICAL = [CLAIM, BAN]
COUNTS = list(config.COUNT_COLUMNS)


@pytest.fixture(scope="session")
def train(real_analysis):
    return real_analysis.dataset.frame.loc[real_analysis.split.train]


@pytest.fixture(scope="module")
def synthetic_train():
    """The training part of a synthetic frame (4,000 rows), split as the analysis splits it."""
    frame = make_synthetic(4000, seed=3).dropna()
    return frame.loc[split(frame, TARGET, config.DEFAULT_SEED).train]


@pytest.fixture(scope="module")
def log1p_spec(synthetic_train):
    return select_features(synthetic_train, TARGET, transform="log1p")


def encoded_design(frame: pd.DataFrame, continuous, categorical) -> pd.DataFrame:
    """Raw continuous columns and one dummy per non-reference level (VIF ignores rescaling)."""
    columns = {c: frame[c].to_numpy(dtype=float) for c in continuous}
    for column in categorical:
        for level in config.CATEGORIES[column][1:]:
            columns[f"{column}_{level}"] = (frame[column] == level).to_numpy(dtype=float)
    return pd.DataFrame(columns, index=frame.index)


def hand_vif(design: pd.DataFrame) -> pd.Series:
    """1 / (1 - R²) of each column regressed on all the others and an intercept."""
    values = design.to_numpy(dtype=float)
    vifs = {}
    for j, name in enumerate(design.columns):
        response = values[:, j]
        others = np.column_stack([np.ones(len(values)), np.delete(values, j, axis=1)])
        beta, *_ = np.linalg.lstsq(others, response, rcond=None)
        residual = response - others @ beta
        r_squared = 1 - residual @ residual / np.sum((response - response.mean()) ** 2)
        vifs[name] = 1 / (1 - r_squared)
    return pd.Series(vifs)


def hand_rule(frame: pd.DataFrame, continuous, categorical) -> list[str]:
    """The documented rule: drop the continuous column with the largest VIF while it exceeds the limit."""
    continuous, dropped = list(continuous), []
    while continuous:
        vifs = hand_vif(encoded_design(frame, continuous, categorical))[continuous]
        if vifs.max() <= config.VIF_LIMIT:
            break
        dropped.append(vifs.idxmax())
        continuous.remove(vifs.idxmax())
    return dropped


def logged(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """``frame`` with log(1 + x) in ``columns``, computed with numpy here."""
    out = frame.copy()
    for column in columns:
        out[column] = np.log1p(out[column].to_numpy(dtype=float))
    return out


def made_up_frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Continuous columns with one near-copy pair; categories whose dummies track one column."""
    rng = np.random.default_rng(seed)
    views = rng.lognormal(10, 1, n)
    likes = views * rng.uniform(0.2, 0.3, n)
    duration = rng.uniform(5, 60, n)
    opinion = rng.uniform(size=n) < 1 / (1 + np.exp(-(duration - 32) / 3))
    return pd.DataFrame(
        {
            config.DURATION: duration,
            config.VIEWS: views,
            config.LIKES: likes,
            config.SHARES: rng.lognormal(6, 1, n),
            config.DOWNLOADS: rng.lognormal(4, 1, n),
            config.COMMENTS: rng.lognormal(2, 1, n),
            CLAIM: np.where(opinion, "opinion", "claim"),
            BAN: rng.choice(["active", "under review", "banned"], size=n, p=[0.7, 0.2, 0.1]),
            TARGET: rng.choice(["not verified", "verified"], size=n, p=[0.9, 0.1]),
        }
    )


# ---------------------------------------------------------------- VIF


def test_vif_table_equals_a_hand_computation_on_a_made_up_frame():
    frame = made_up_frame()
    continuous = [config.DURATION, config.VIEWS, config.LIKES]

    table = vif_table(frame, continuous, CATEGORICAL).set_index("feature")["vif"]
    expected = hand_vif(encoded_design(frame, continuous, CATEGORICAL))

    assert list(table.index) == list(expected.index)
    np.testing.assert_allclose(table, expected, rtol=1e-9)
    assert table[config.LIKES] > config.VIF_LIMIT


def test_first_round_vif_equals_a_hand_computation_on_exactly_the_training_rows(real_analysis, train):
    continuous = list(config.CONTINUOUS_COLUMNS)
    first_round = real_analysis.features.vif_rounds.query("round == 1").set_index("feature")["vif"]
    on_training_rows = hand_vif(encoded_design(train, continuous, CATEGORICAL))
    on_all_rows = hand_vif(encoded_design(real_analysis.dataset.frame, continuous, CATEGORICAL))

    assert list(first_round.index) == list(on_training_rows.index)
    np.testing.assert_allclose(first_round, on_training_rows, rtol=1e-9)
    # Computed on every row, the values differ: the rule really used the training part.
    assert np.max(np.abs(first_round.to_numpy() - on_all_rows.to_numpy())) > 1e-3


def test_every_recorded_round_equals_a_hand_computation(real_analysis, train):
    for round_number, table in real_analysis.features.vif_rounds.groupby("round"):
        continuous = [f for f in table["feature"] if f in config.CONTINUOUS_COLUMNS]
        expected = hand_vif(encoded_design(train, continuous, CATEGORICAL))
        np.testing.assert_allclose(table["vif"], expected[table["feature"]], rtol=1e-9, err_msg=f"round {round_number}")


# ---------------------------------------------------------------- the rule


def test_rule_on_real_data_drops_likes_and_keeps_the_other_continuous_columns(real_analysis, train):
    spec = real_analysis.features
    kept = {config.DURATION, config.VIEWS, config.SHARES, config.DOWNLOADS, config.COMMENTS}

    assert set(spec.continuous) == kept
    assert config.LIKES in spec.dropped
    assert set(spec.categorical) == set(CATEGORICAL)
    assert hand_rule(train, config.CONTINUOUS_COLUMNS, CATEGORICAL) == [config.LIKES]
    final = hand_vif(encoded_design(train, spec.continuous, CATEGORICAL))
    assert final[list(spec.continuous)].max() <= config.VIF_LIMIT


def test_drop_reason_carries_the_hand_computed_vif_and_partner(real_analysis, train):
    reason = real_analysis.features.dropped[config.LIKES]
    vif = hand_vif(encoded_design(train, config.CONTINUOUS_COLUMNS, CATEGORICAL))[config.LIKES]
    others = [c for c in config.CONTINUOUS_COLUMNS if c != config.LIKES]
    r = {c: np.corrcoef(train[config.LIKES], train[c])[0, 1] for c in others}
    partner = max(r, key=lambda c: abs(r[c]))

    assert f"VIF {vif:.2f}" in reason
    assert f"most correlated with {partner} (r = {r[partner]:.2f})" in reason


def test_rule_drops_collinear_continuous_columns_but_never_a_category():
    frame = made_up_frame()
    continuous, categorical = list(config.CONTINUOUS_COLUMNS), CATEGORICAL
    # Make duration nearly a copy of the claim-status dummy, so that the dummy's VIF is large too.
    opinion = frame[CLAIM] == "opinion"
    frame[config.DURATION] = np.where(opinion, 40.0, 20.0) + np.random.default_rng(1).normal(0, 2, len(frame))
    vifs = hand_vif(encoded_design(frame, continuous, categorical))
    assert vifs[f"{CLAIM}_opinion"] > config.VIF_LIMIT

    spec = select_features(frame, TARGET)

    expected_dropped = hand_rule(frame, continuous, categorical)
    assert expected_dropped  # the made-up frame really triggers the rule
    assert [c for c in spec.dropped if c in config.CONTINUOUS_COLUMNS] == expected_dropped
    assert set(spec.categorical) == set(categorical)
    assert set(spec.continuous) == set(continuous) - set(expected_dropped)


# ---------------------------------------------------------------- correlated pairs


def test_correlated_pairs_match_numpy_correlations(real_analysis, train):
    columns = list(config.CONTINUOUS_COLUMNS)
    r = np.corrcoef(train[columns].to_numpy(dtype=float), rowvar=False)
    expected = {
        frozenset((a, b)): r[i, j]
        for i, a in enumerate(columns)
        for j, b in enumerate(columns)
        if i < j and abs(r[i, j]) >= config.CORRELATION_REPORT_LIMIT
    }
    pairs = real_analysis.features.correlated_pairs
    found = {frozenset((a, b)): value for a, b, value in pairs.itertuples(index=False)}

    assert expected  # the real data have strongly correlated counts
    assert found.keys() == expected.keys()
    for key, value in expected.items():
        assert found[key] == pytest.approx(value, rel=1e-9)
    assert list(pairs["r"].abs()) == sorted(pairs["r"].abs(), reverse=True)


def test_correlated_pairs_of_a_made_up_frame():
    frame = made_up_frame()
    pairs = correlated_pairs(frame, [config.DURATION, config.VIEWS, config.LIKES])
    r = np.corrcoef(frame[config.VIEWS], frame[config.LIKES])[0, 1]

    assert len(pairs) == 1
    assert {pairs.iloc[0]["feature_a"], pairs.iloc[0]["feature_b"]} == {config.VIEWS, config.LIKES}
    assert pairs.iloc[0]["r"] == pytest.approx(r, rel=1e-9)


# ---------------------------------------------------------------- the log1p remedy


def test_log1p_spec_records_the_counts_it_transforms(log1p_spec):
    assert log1p_spec.log1p == tuple(c for c in log1p_spec.continuous if c in config.COUNT_COLUMNS)
    assert log1p_spec.log1p
    assert config.DURATION in log1p_spec.continuous and config.DURATION not in log1p_spec.log1p
    assert "log1p(count)" in log1p_spec.rule


def test_untransformed_spec_has_no_log1p(synthetic_train):
    spec = select_features(synthetic_train, TARGET)

    assert spec.log1p == ()
    assert "log1p" not in spec.rule


def test_log1p_rule_equals_the_hand_rule_on_log_counts():
    frame = made_up_frame()
    counts = [c for c in config.CONTINUOUS_COLUMNS if c in config.COUNT_COLUMNS]
    on_log_scale = logged(frame, counts)

    spec = select_features(frame, TARGET, transform="log1p")

    assert [c for c in spec.dropped if c in config.CONTINUOUS_COLUMNS] == hand_rule(on_log_scale, config.CONTINUOUS_COLUMNS, CATEGORICAL)
    for round_number, table in spec.vif_rounds.groupby("round"):
        continuous = [f for f in table["feature"] if f in config.CONTINUOUS_COLUMNS]
        expected = hand_vif(encoded_design(on_log_scale, continuous, CATEGORICAL))
        np.testing.assert_allclose(table["vif"], expected[table["feature"]], rtol=1e-9, err_msg=f"round {round_number}")
    # The raw-scale VIFs differ: the rule really ran on the transformed columns.
    raw = hand_vif(encoded_design(frame, config.CONTINUOUS_COLUMNS, CATEGORICAL))
    first = spec.vif_rounds.query("round == 1").set_index("feature")["vif"]
    assert np.max(np.abs(first[counts] - raw[counts])) > 0.1


def test_log1p_correlated_pairs_are_correlations_of_log_counts():
    frame = made_up_frame()
    columns = [config.DURATION, config.VIEWS, config.LIKES, config.SHARES]
    r = np.corrcoef(logged(frame, columns[1:])[columns].to_numpy(dtype=float), rowvar=False)

    pairs = correlated_pairs(frame, columns, log1p=columns[1:])

    expected = {
        frozenset((a, b)): r[i, j]
        for i, a in enumerate(columns) for j, b in enumerate(columns)
        if i < j and abs(r[i, j]) >= config.CORRELATION_REPORT_LIMIT
    }
    assert expected
    assert {frozenset((a, b)): value for a, b, value in pairs.itertuples(index=False)} == pytest.approx(expected, rel=1e-9)


def test_an_unknown_transform_is_refused(synthetic_train):
    with pytest.raises(AnalysisError, match="transform must be one of none, log1p; got 'sqrt'"):
        select_features(synthetic_train, TARGET, transform="sqrt")


def test_real_log1p_rule_equals_the_hand_rule_on_log_counts(train):
    spec = select_features(train, TARGET, transform="log1p")

    expected = hand_rule(logged(train, COUNTS), config.CONTINUOUS_COLUMNS, CATEGORICAL)
    assert [c for c in spec.dropped if c in config.CONTINUOUS_COLUMNS] == expected
    assert spec.log1p == tuple(c for c in COUNTS if c in spec.continuous)


# ---------------------------------------------------------------- leakage guard


def test_leakage_guard_leaves_out_near_copies_of_a_count_target(real_dataset):
    frame = real_dataset.frame
    train = frame.loc[split(frame, None, seed=42).train]
    spec = select_features(train, config.LIKES)
    rho = train[config.VIEWS].corr(train[config.LIKES], method="spearman")
    assert rho >= config.LEAKAGE_RANK_CORRELATION
    assert config.LIKES not in spec.continuous and config.VIEWS not in spec.continuous
    assert spec.dropped[config.VIEWS] == (
        f"near-copy of the target {config.LIKES} (Spearman rho = {rho:.2f} >= {config.LEAKAGE_RANK_CORRELATION:g})"
    )


def test_the_consequences_of_views_are_left_out_of_its_model(real_dataset):
    frame = real_dataset.frame
    spec = select_features(frame.loc[split(frame, None, seed=42).train], config.VIEWS)
    engagement = (config.LIKES, config.SHARES, config.DOWNLOADS, config.COMMENTS)
    assert spec.continuous == (config.DURATION,)
    for column in engagement:
        assert spec.dropped[column].startswith("a consequence of the outcome")
    assert spec.vif_dropped == ()


def test_a_constant_continuous_predictor_is_left_out_with_its_value_and_the_rule_runs_on_the_rest(synthetic_train):
    frame = synthetic_train.copy()
    frame[config.DURATION] = 17
    spec = select_features(frame, TARGET)
    assert config.DURATION not in spec.continuous and spec.unestimable == (config.DURATION,)
    assert spec.dropped[config.DURATION].startswith("constant in the training part (every row 17)")
    assert config.DURATION not in spec.vif_dropped
    assert config.DURATION not in set(spec.correlated_pairs[["feature_a", "feature_b"]].to_numpy().ravel())
    assert np.isfinite(spec.vif_rounds["vif"]).all()


@pytest.mark.parametrize(
    "keep, reason",
    [(["active"], "every row 'active'"), (["active", "under review"], "no training row has the level 'banned'")],
)
def test_a_category_with_an_absent_level_is_left_out_whole(synthetic_train, keep, reason):
    spec = select_features(synthetic_train[synthetic_train[BAN].isin(keep)], TARGET)
    assert BAN not in spec.categorical and spec.unestimable == (BAN,)
    assert reason in spec.dropped[BAN]
    assert not any(name.startswith(BAN) for name in spec.vif_rounds["feature"])


def test_no_varying_continuous_predictor_is_a_clean_refusal_naming_each_reason(synthetic_train):
    frame = synthetic_train.copy()
    frame[config.DURATION] = 30
    with pytest.raises(AnalysisError, match=r"no continuous predictor of video_view_count varies.*every row 30"):
        select_features(frame, config.VIEWS)


def test_the_refusal_names_the_file_the_rows_came_from(synthetic_train, tmp_path):
    from tiktok_claims import analyze

    frame = synthetic_train.copy()
    for column in (config.DURATION, *config.COUNT_COLUMNS):
        frame[column] = 5
    path = tmp_path / "constant.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(AnalysisError) as refused:
        analyze(path, workers=1)
    assert str(refused.value).startswith(f"{path}: no continuous predictor of {TARGET} varies")


def test_one_encoded_column_has_a_vif_of_one(synthetic_train):
    table = vif_table(synthetic_train, [config.DURATION], [])
    assert table.to_dict("list") == {"feature": [config.DURATION], "vif": [1.0]}
