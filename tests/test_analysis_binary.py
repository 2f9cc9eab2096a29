"""The binary analysis (``analysis/binary.py``). By construction: no test row, nor a copy of
one, is seen while fitting, for every balance option and in every cross-validation fold;
the claim model on the real data falls back to Firth's method and says so; and the default
settings off Linux (no ``os.sched_getaffinity``, spawned workers) give the results of one
worker, documents included."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from typer.testing import CliRunner

from tiktok_claims import config, parallel
from tiktok_claims.analysis import analyze
from tiktok_claims.cli import app
from tiktok_claims.data.synthetic import make_synthetic, write_synthetic
from tiktok_claims.evaluation import cross_validation
from tiktok_claims.reporting.kinds import documents_for
from tiktok_claims.reporting.render import render_figure, write_outputs


class RecordingPreprocessor(BaseEstimator, TransformerMixin):
    """A pipeline's preprocessing that records the index of every row it is fitted on."""

    seen: list = []

    def __init__(self, preprocess=None):
        self.preprocess = preprocess

    def fit(self, x, y=None):
        RecordingPreprocessor.seen.append(("rows", pd.Index(x.index), self.preprocess))
        self.fitted_ = clone(self.preprocess).fit(x, y)
        return self

    def transform(self, x):
        return self.fitted_.transform(x)


class DesignRecorder(BaseEstimator, TransformerMixin):
    """A pass-through step after the preprocessing: records the design the rest is fitted on."""

    def fit(self, x, y=None):
        RecordingPreprocessor.seen.append(("design", np.array(x, copy=True), None))
        return self

    def transform(self, x):
        return x


def record_fits(pipeline):
    from imblearn.pipeline import Pipeline

    (name, preprocess), *rest = pipeline.steps
    return Pipeline([(name, RecordingPreprocessor(preprocess)), ("record_design", DesignRecorder()), *rest])


@pytest.fixture(scope="module")
def small_frame():
    return make_synthetic(2500, seed=11)


@pytest.mark.parametrize("balance", config.BALANCE_OPTIONS)
def test_final_model_and_every_fold_fit_only_training_rows(small_frame, balance, monkeypatch):
    import tiktok_claims.analysis.binary as analysis_module

    real_models = cross_validation._models
    real_fit = analysis_module.fit_models

    def models_with_recorders(spec, seed, penalized=False, untransformed=None):
        return {
            name: (None if m is None else record_fits(m))
            for name, m in real_models(spec, seed, penalized, untransformed).items()
        }

    def fit_with_recorder(frame, y, train, *args, **kwargs):
        # The classifier is fitted on the rows at positions ``train`` of the shared design.
        RecordingPreprocessor.seen.append(("rows", frame.index[train], None))
        return real_fit(frame, y, train, *args, **kwargs)

    RecordingPreprocessor.seen = []
    monkeypatch.setattr(cross_validation, "_models", models_with_recorders)
    monkeypatch.setattr(analysis_module, "fit_models", fit_with_recorder)
    # In-process, so the recorders see every fit (forked workers would record in their own memory).
    folds = 3
    result = analyze(small_frame, balance=balance, cv_folds=folds, bootstrap=100, workers=1)

    train = result.dataset.frame.loc[result.split.train]
    test_rows, train_rows = set(result.split.test), set(result.split.train)
    (kind, final_rows, _), *cv_fits = RecordingPreprocessor.seen
    assert kind == "rows" and set(final_rows) == train_rows
    fold_rows = [rows for kind, rows, _ in cv_fits if kind == "rows"]
    # Every fold's preprocessing learns from that fold's fitting rows only: training rows,
    # never a test row, and never the fold's own validation rows (a third of the training part).
    assert len({tuple(rows) for rows in fold_rows}) == folds
    for rows in fold_rows:
        assert set(rows) <= train_rows and not test_rows & set(rows)
        assert len(rows) == pytest.approx(len(train_rows) * (folds - 1) / folds, abs=1)
    # Whatever follows the preprocessing (resampling, the classifier) is fitted on the
    # design of those rows alone, made by a preprocessing learned from them alone.
    designs, rows, preprocess = 0, None, None
    for kind, value, template in cv_fits:
        if kind == "rows":
            rows, preprocess = value, template
            continue
        expected = clone(preprocess).fit(train.loc[rows]).transform(train.loc[rows])
        np.testing.assert_array_equal(value, expected)
        designs += 1
    models = sum(m is not None for m in real_models(result.features, result.seed).values())
    assert designs == folds * models


@pytest.mark.parametrize("balance", ["upsample", "smote"])
def test_resampled_training_matrix_holds_no_copy_of_a_test_row(small_frame, balance):
    result = analyze(small_frame, balance=balance, cv_folds=2, bootstrap=100)
    pipeline = result.classifier.pipeline
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


def test_claim_status_run_falls_back_to_firth_and_says_so(tmp_path, real_data_path):
    args = ["--data", str(real_data_path), "--target", config.CLAIM, "--bootstrap", "200", "--cv-folds", "2"]
    result = CliRunner().invoke(app, ["run", "--out", str(tmp_path), "--quiet", *args])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    html = (tmp_path / "report.html").read_text()
    assert metrics["estimation"]["penalized"] is True
    assert metrics["estimation"]["separation"] in ("near", "quasi-complete", "complete")
    assert "Penalized fit." in html and "Firth" in html
    assert all(np.isfinite(c["coef"]) for c in metrics["coefficients"])


@pytest.fixture
def two_cores_without_linux(monkeypatch) -> list[str]:
    """macOS or Windows with two cores: no affinity mask, and workers are spawned.

    Returns the start method of every worker pool opened meanwhile.
    """
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.delattr(os, "process_cpu_count", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setenv("TIKTOK_CLAIMS_START_METHOD", "spawn")
    methods: list[str] = []

    class RecordingPool(parallel.WorkerPool):
        def __init__(self, *args, mp_context=None, **kwargs):
            methods.append(mp_context.get_start_method())
            super().__init__(*args, mp_context=mp_context, **kwargs)

    monkeypatch.setattr(parallel, "WorkerPool", RecordingPool)
    return methods


def _comparable(metrics: dict) -> str:
    """The metrics record but for when it was made and how long it took, every float exact."""
    rest = {name: value for name, value in metrics.items() if name != "timings"}
    rest["tool"] = {name: value for name, value in rest["tool"].items() if name != "created"}
    return json.dumps(rest, sort_keys=True)


def test_default_settings_off_linux_give_the_results_of_one_worker(small_frame, two_cores_without_linux, tmp_path):
    one = analyze(small_frame, cv_folds=2, bootstrap=100, workers=1)
    assert two_cores_without_linux == []

    spawned = analyze(small_frame, cv_folds=2, bootstrap=100)  # workers: the default

    assert spawned.options.workers is None and two_cores_without_linux == ["spawn"]
    assert _comparable(spawned.metrics()) == _comparable(one.metrics())
    pd.testing.assert_frame_equal(spawned.coefficients, one.coefficients, check_exact=True)
    pd.testing.assert_frame_equal(
        spawned.cross_validation.fold_metrics, one.cross_validation.fold_metrics, check_exact=True
    )

    # The figures are drawn by spawned workers too, pixel for pixel as in this process.
    written = write_outputs(spawned, tmp_path)
    assert two_cores_without_linux == ["spawn", "spawn"]
    jobs = documents_for(spawned.metrics()["outcome_type"]).figure_jobs(spawned)
    assert len(jobs) > 1
    for builder, arguments in jobs:
        meta, png = render_figure(builder, arguments)
        assert written[meta["file"]].read_bytes() == png
    assert {"report.html", "metrics.json", "executive_summary.pdf"} <= set(written)


def test_a_threshold_that_flags_no_video_is_refused_naming_the_rule():
    """With flagging never worth its cost, a filter may flag nothing: no precision, no rate per flagged video."""
    from tiktok_claims.analysis.binary import _refuse_if_flags_none
    from tiktok_claims.errors import AnalysisError
    from tiktok_claims.evaluation.metrics import ThresholdRule

    y, scores = np.array([0, 1, 0, 1, 0]), np.array([0.1, 0.2, 0.3, 0.4, 0.9])
    chosen = ThresholdRule("cost", cost_fn=0).choose(y, scores)
    _refuse_if_flags_none(chosen, scores, "training")  # the top-scored row is flagged: accepted

    assert chosen.threshold == 0.9
    with pytest.raises(AnalysisError, match=r"\(minimizes 0 × missed.*: 0\.9\) flags none of the 3 test videos.*--cost-fn"):
        _refuse_if_flags_none(chosen, np.array([0.5, 0.6, 0.89]), "test")


def test_a_run_whose_threshold_flags_no_test_video_stops_cleanly_and_writes_nothing(tmp_path, monkeypatch):
    from tiktok_claims.evaluation.metrics import ThresholdChoice, ThresholdRule

    path = tmp_path / "videos.csv"
    write_synthetic(path, rows=600, seed=5)
    # A threshold above every score: what a cost that makes flagging never worth it comes to.
    monkeypatch.setattr(ThresholdRule, "choose", lambda self, y, scores: ThresholdChoice(2.0, "cost", "made up"))

    result = CliRunner().invoke(app, ["run", "--data", str(path), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet"])

    assert result.exit_code == 1 and "(made up: 2) flags none of the" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
