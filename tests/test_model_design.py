"""The encoded design built in NumPy (``model/design.py``), checked against the scikit-learn
preprocessor it replaces in the fits (``FeatureSpec.preprocessor()``) and ``StandardScaler``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.preprocessing import StandardScaler

from tiktok_claims import config
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.errors import AnalysisError
from tiktok_claims.model.design import BLOCK_ROWS, DesignRows, Moments, build_design
from tiktok_claims.model.features import select_features


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_synthetic(3 * BLOCK_ROWS // 4, seed=21).dropna()


@pytest.mark.parametrize("transform", ["none", "log1p"])
def test_values_are_the_preprocessors_with_a_constant_first(frame, transform):
    spec = select_features(frame, config.VERIFIED, transform=transform)
    design = build_design(frame, spec)
    preprocessor = spec.preprocessor().fit(frame[spec.columns])
    expected = sm.add_constant(
        pd.DataFrame(preprocessor.transform(frame[spec.columns]), columns=preprocessor.get_feature_names_out()),
        has_constant="add",
    )

    assert design.names == tuple(expected.columns)
    np.testing.assert_array_equal(design.values, expected.to_numpy())
    assert design.values.flags.f_contiguous
    assert design.index.equals(frame.index)
    frame_view = design.frame()
    assert np.shares_memory(frame_view.to_numpy(), design.values)
    assert list(frame_view.columns) == list(design.names)


def test_moments_are_the_standard_scalers_on_every_row_and_on_the_part(frame):
    spec = select_features(frame, config.VERIFIED)
    part = np.random.default_rng(1).permutation(len(frame))[: len(frame) // 3]
    design = build_design(frame, spec, part=part)
    continuous = list(spec.continuous)

    for moments, rows in ((design.moments, frame), (design.part_moments, frame.iloc[part])):
        scaler = StandardScaler().fit(rows[continuous])
        np.testing.assert_allclose(moments.mean, scaler.mean_, rtol=1e-14)
        np.testing.assert_allclose(moments.var, scaler.var_, rtol=1e-12)
        np.testing.assert_allclose(moments.scale, scaler.scale_, rtol=1e-12)
        assert moments.n == scaler.n_samples_seen_
    np.testing.assert_allclose(design.scales().to_numpy(), frame[continuous].to_numpy(float).std(axis=0), rtol=1e-12)


def test_the_part_view_is_the_part_standardized_on_itself(frame):
    spec = select_features(frame, config.VERIFIED, transform="log1p")
    part = np.random.default_rng(2).permutation(len(frame))[: len(frame) // 2]
    design = build_design(frame, spec, part=part)
    rows = frame.iloc[part]
    expected = spec.preprocessor().fit(rows[spec.columns]).transform(rows[spec.columns])

    view = design.part_rows()
    np.testing.assert_allclose(view.take()[:, 1:], expected, atol=1e-12)
    np.testing.assert_array_equal(view.take()[:, 0], 1.0)
    # Blocks are the rows as stored, in the view's order; ``mapped`` restandardizes them.
    stacked = np.vstack([view.mapped(block) for _, block in view.blocks(size=1000)])
    np.testing.assert_allclose(stacked, view.take(), atol=1e-15)
    ordered = view.reordered(np.sort(part))
    np.testing.assert_allclose(ordered.take()[:, 1:], expected[np.argsort(part)], atol=1e-12)


def test_blocks_cover_every_row_once_in_order(frame):
    spec = select_features(frame, config.VERIFIED)
    design = build_design(frame, spec)
    pieces = list(design.rows().blocks(size=7_000))

    assert [rows.start for rows, _ in pieces] == list(range(0, len(frame), 7_000))
    np.testing.assert_array_equal(np.vstack([block for _, block in pieces]), design.values)
    assert len(design.rows()) == len(frame) and design.rows().width == len(design.names)


def test_a_view_of_a_plain_frame_or_array():
    table = pd.DataFrame({"const": [1.0, 1.0, 1.0], "x": [0.5, -1.0, 2.0]})

    assert DesignRows.of(table).names == ("const", "x")
    assert DesignRows.of(table.to_numpy()).names == ("0", "1")
    np.testing.assert_array_equal(DesignRows.of(table).take(np.array([2, 0])), [[1.0, 2.0], [1.0, 0.5]])


def test_a_constant_column_has_scale_one_as_in_scikit_learn():
    values = np.array([[3.0, 1.0], [3.0, 2.0], [3.0, 4.0]])
    moments = Moments(values.mean(axis=0), values.var(axis=0), 3)

    np.testing.assert_array_equal(moments.scale, StandardScaler().fit(values).scale_)


def test_a_category_outside_its_levels_is_refused(frame):
    spec = select_features(frame, config.VERIFIED)
    odd = frame.copy()
    odd[config.CLAIM] = odd[config.CLAIM].astype(object)
    odd.iloc[3, odd.columns.get_loc(config.CLAIM)] = "rumour"

    with pytest.raises(AnalysisError, match=r"claim_status holds 1 values outside its categories .*'rumour'"):
        build_design(odd, spec)


def test_missing_values_are_refused(frame):
    spec = select_features(frame, config.VERIFIED)
    holes = frame.astype({config.VIEWS: float})
    holes.iloc[5, holes.columns.get_loc(config.VIEWS)] = np.nan

    with pytest.raises(AnalysisError, match="video_view_count has 1 missing or infinite values"):
        build_design(holes, spec)


def test_negative_counts_are_refused_before_log1p(frame):
    spec = select_features(frame, config.VERIFIED, transform="log1p")
    column = spec.log1p[0]
    negative = frame.astype({column: float})
    negative.iloc[0, negative.columns.get_loc(column)] = -2.0

    with pytest.raises(ValueError, match=f"log1p is taken of counts, which are never negative; '{column}' holds 1"):
        build_design(negative, spec)


def test_arrow_backed_and_object_categories_encode_alike(frame):
    spec = select_features(frame, config.VERIFIED)
    as_objects = frame.astype({column: object for column in config.CATEGORIES})

    np.testing.assert_array_equal(build_design(frame, spec).values, build_design(as_objects, spec).values)
