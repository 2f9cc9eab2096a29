"""By construction: no test row, nor a copy of one, is seen while fitting, for every
balance option and in every cross-validation fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin

from tiktok_claims import config, cross_validation
from tiktok_claims.analysis import analyze
from tiktok_claims.data.synthetic import make_synthetic


class FitRecorder(BaseEstimator, TransformerMixin):
    """A pass-through first step that records the index of every row it is fitted on."""

    seen: list[pd.Index] = []

    def fit(self, x, y=None):
        FitRecorder.seen.append(pd.Index(x.index))
        return self

    def transform(self, x):
        return x


def record_fits(pipeline):
    from imblearn.pipeline import Pipeline

    return Pipeline([("record", FitRecorder()), *pipeline.steps])


@pytest.fixture(scope="module")
def small_frame():
    return make_synthetic(2500, seed=11)


@pytest.mark.parametrize("balance", config.BALANCE_OPTIONS)
def test_final_model_and_every_fold_fit_only_training_rows(small_frame, balance, monkeypatch):
    import tiktok_claims.analysis as analysis_module

    real_models = cross_validation._models
    real_fit = analysis_module.fit

    def models_with_recorders(spec, seed):
        return {name: (None if m is None else record_fits(m)) for name, m in real_models(spec, seed).items()}

    def fit_with_recorder(train, *args, **kwargs):
        FitRecorder.seen.append(pd.Index(train.index))
        return real_fit(train, *args, **kwargs)

    FitRecorder.seen = []
    monkeypatch.setattr(cross_validation, "_models", models_with_recorders)
    monkeypatch.setattr(analysis_module, "fit", fit_with_recorder)
    # In-process, so the recorder sees every fit (forked workers would record in their own memory).
    result = analyze(small_frame, balance=balance, cv_folds=3, bootstrap=100, workers=1)

    test_rows = set(result.split.test)
    train_rows = set(result.split.train)
    assert FitRecorder.seen, "nothing was recorded"
    for rows in FitRecorder.seen:
        assert not test_rows & set(rows)
        assert set(rows) <= train_rows
    # every CV fit leaves its own validation rows out: 3 folds x models, each missing a third
    fold_fits = [set(rows) for rows in FitRecorder.seen[1:]]
    assert all(len(rows) < len(train_rows) for rows in fold_fits)


@pytest.mark.parametrize("balance", ["upsample", "smote"])
def test_resampled_training_matrix_holds_no_copy_of_a_test_row(small_frame, balance):
    result = analyze(small_frame, balance=balance, cv_folds=2, bootstrap=100)
    pipeline = result.model.pipeline
    preprocess = pipeline.named_steps["preprocess"]
    resampler = pipeline.steps[1][1]
    frame = result.dataset.frame
    train, test = frame.loc[result.split.train], frame.loc[result.split.test]
    columns = result.features.columns
    y_train = (train[config.VERIFIED] == "verified").astype(int)

    resampled, y_resampled = resampler.fit_resample(preprocess.transform(train[columns]), y_train)
    test_matrix = preprocess.transform(test[columns])

    assert y_resampled.mean() == pytest.approx(0.5)
    seen = {row.tobytes() for row in np.round(resampled, 12)}
    assert not any(row.tobytes() in seen for row in np.round(test_matrix, 12))
