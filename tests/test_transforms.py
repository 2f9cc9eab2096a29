"""The log1p remedy's estimator (``model/transforms.py``), against numpy and scikit-learn.

``Log1pStandardScaler`` takes log(1 + x) of the named columns, then standardizes every
column: checked against numpy's log1p, mean and population SD, and against
scikit-learn's ``StandardScaler`` when it transforms nothing.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler

from tiktok_claims.model.transforms import Log1pStandardScaler, log1p_values


def heavy_tailed(n: int = 500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "seconds": rng.uniform(5, 60, n),
            "views": np.floor(rng.lognormal(8, 2, n)),
            "comments": rng.poisson(0.7, n).astype(float),  # many zeros
        }
    )


def test_scaler_takes_log1p_of_the_named_columns_then_standardizes():
    frame = heavy_tailed()
    scaler = Log1pStandardScaler(log1p=("views", "comments")).fit(frame)

    entered = np.column_stack([frame["seconds"], np.log1p(frame["views"]), np.log1p(frame["comments"])])
    np.testing.assert_allclose(scaler.mean_, entered.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scaler.scale_, entered.std(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scaler.transform(frame), (entered - entered.mean(axis=0)) / entered.std(axis=0), atol=1e-12)
    assert list(scaler.get_feature_names_out()) == ["seconds", "views", "comments"]
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(frame)), frame.to_numpy(), rtol=1e-10)


def test_scaler_without_log1p_is_a_standard_scaler():
    frame = heavy_tailed()

    np.testing.assert_array_equal(Log1pStandardScaler().fit_transform(frame), StandardScaler().fit_transform(frame))


def test_scaler_clones_and_pickles_for_cross_validation_and_workers():
    frame = heavy_tailed()
    scaler = Log1pStandardScaler(log1p=("views",)).fit(frame)

    assert clone(scaler).get_params()["log1p"] == ("views",)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(scaler)).transform(frame), scaler.transform(frame))


def test_scaler_refuses_negative_counts_naming_the_column():
    frame = heavy_tailed()
    scaler = Log1pStandardScaler(log1p=("views", "comments")).fit(frame)
    broken = frame.assign(comments=frame["comments"].where(frame.index != 7, -3.0))

    with pytest.raises(ValueError, match="'comments' holds 1 negative value"):
        scaler.transform(broken)
    with pytest.raises(ValueError, match="'comments' holds 1 negative value"):
        Log1pStandardScaler(log1p=("comments",)).fit(broken)


def test_scaler_needs_the_columns_it_names():
    frame = heavy_tailed()

    with pytest.raises(ValueError, match="must be fitted on a DataFrame"):
        Log1pStandardScaler(log1p=("views",)).fit(frame.to_numpy())
    with pytest.raises(ValueError, match=r"column\(s\) \['likes'\] that the data lack"):
        Log1pStandardScaler(log1p=("likes",)).fit(frame)


# scikit-learn warns that the array has no column names; the scaler maps them by position.
@pytest.mark.filterwarnings("ignore:X does not have valid feature names:UserWarning")
def test_scaler_fitted_on_a_frame_transforms_its_values_as_an_array_the_same_way():
    frame = heavy_tailed()
    scaler = Log1pStandardScaler(log1p=("views",)).fit(frame)

    np.testing.assert_array_equal(scaler.transform(frame.to_numpy()), scaler.transform(frame))
    broken = frame.to_numpy().copy()
    broken[3, 1] = -1.0
    with pytest.raises(ValueError, match="'views' holds 1 negative value"):
        scaler.transform(broken)


def test_log1p_values_equal_numpy_and_keep_missing_values_missing():
    values = np.array([[0.0, 3.0], [np.nan, 9.0], [99.0, 0.0]])

    logged = log1p_values(values, ["a", "b"])

    np.testing.assert_array_equal(np.isnan(logged), np.isnan(values))
    np.testing.assert_allclose(logged[~np.isnan(values)], np.log1p(values[~np.isnan(values)]), rtol=1e-15)


def test_log1p_values_refuse_negative_counts_naming_the_first_column_and_the_smallest_value():
    values = np.array([[1.0, -2.0, -7.0], [2.0, -5.0, 0.0]])

    with pytest.raises(ValueError) as refused:
        log1p_values(values, ["views", "likes", "shares"])

    message = str(refused.value)
    assert "'likes' holds 2 negative value(s) (smallest -5)" in message
    assert "shares" not in message
