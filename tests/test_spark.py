"""The Spark engine (``spark/fit.py`` and ``spark/session.py``, one module so that the session
starts once): parity with the in-process model on the real data (local mode), and the
scratch files it moves through Hadoop's file system."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

# PySpark's own pandas version check warns under pandas 3; the engine hands Spark
# Parquet files, not pandas frames, so the warning does not apply here.
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

COEFFICIENT_TOLERANCE = 1e-4  # on standardized predictors (log-odds per SD)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("spark-scratch")


@pytest.fixture(scope="module")
def both_engines(real_data_path, scratch):
    if shutil.which("java") is None:
        pytest.fail("no Java runtime: `make test` installs one (Debian package openjdk-17-jre-headless)")
    from tiktok_claims.analysis import analyze
    from tiktok_claims.spark.fit import fit_spark

    result = analyze(real_data_path, cv_folds=2, bootstrap=100)
    spark = fit_spark(
        result.dataset.frame, result.split.train, result.target, result.approach.positive_class, result.features,
        master="local[2]", scratch=f"file://{scratch}",
    )
    return result, spark


def test_the_fit_leaves_nothing_in_its_scratch_directory(both_engines, scratch):
    assert list(scratch.iterdir()) == []


def test_scratch_files_round_trip_through_the_hadoop_file_system(both_engines, tmp_path):
    from tiktok_claims.spark.session import (
        download,
        list_files,
        spark_scratch,
        spark_session,
        upload,
    )

    spark = spark_session("local[2]")
    original = tmp_path / "rows with space.txt"
    original.write_bytes(b"a,b\n1,2\n")
    with spark_scratch(spark, tmp_path) as url:
        upload(spark, original, f"{url}/part-00000.csv")
        (part,) = list_files(spark, url, "part-*")
        assert part.endswith("/part-00000.csv")
        download(spark, part, tmp_path / "back.csv")
    assert (tmp_path / "back.csv").read_bytes() == original.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["back.csv", "rows with space.txt"]


def test_a_missing_scratch_directory_is_refused(both_engines, tmp_path):
    from tiktok_claims.errors import DataError
    from tiktok_claims.spark.session import spark_scratch, spark_session

    with pytest.raises(DataError, match="absent: no such directory"):
        with spark_scratch(spark_session("local[2]"), tmp_path / "absent"):
            pass


@pytest.fixture(scope="module")
def both_engines_log1p(both_engines):
    """Both engines on a small synthetic frame with the engagement counts entered as log(1 + x)."""
    from tiktok_claims.analysis import analyze
    from tiktok_claims.data.synthetic import make_synthetic
    from tiktok_claims.spark.fit import fit_spark

    result = analyze(make_synthetic(4000, seed=1), transform="log1p", cv_folds=2, bootstrap=100, workers=1)
    spark = fit_spark(
        result.dataset.frame, result.split.train, result.target, result.approach.positive_class, result.features,
        master="local[2]",
    )
    return result, spark


@pytest.fixture(params=["raw", "log1p"])
def engines(request, both_engines, both_engines_log1p):
    if request.param == "log1p":
        assert both_engines_log1p[0].features.log1p  # some counts do enter as log(1 + x)
        return both_engines_log1p
    return both_engines


def test_inference_matches_statsmodels(engines):
    result, spark = engines
    ours = result.coefficients.set_index("name")
    theirs = spark.coefficients.set_index("name").loc[ours.index]

    np.testing.assert_allclose(theirs["coef_per_sd"], ours["coef_per_sd"], atol=COEFFICIENT_TOLERANCE)
    np.testing.assert_allclose(theirs["p_value"], ours["p_value"], atol=1e-4)
    # Standard errors on the per-SD scale: statsmodels' per-unit SE times SD / unit.
    se_per_sd = ours["se"] * ours["coef_per_sd"] / ours["coef"].where(ours["coef"] != 0)
    np.testing.assert_allclose(theirs["se"], se_per_sd, rtol=1e-3)


def test_classifier_and_test_auc_match_scikit_learn(engines):
    result, spark = engines
    classifier = result.classifier.pipeline.named_steps["classifier"]

    np.testing.assert_allclose(spark.classifier_coef, classifier.coef_.ravel(), atol=COEFFICIENT_TOLERANCE)
    assert round(spark.test_roc_auc, 3) == round(result.evaluation.metrics["roc_auc"], 3)
    assert len(spark.test_scores) == len(result.split.test)
