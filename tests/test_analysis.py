"""The entry points of an analysis (``analysis/__init__.py``): what ``load_input`` makes of a
path, a frame or nothing; ``analyze`` choosing the analysis kind and refusing what it cannot
do before any work; ``check_assumptions`` for any target, with its progress."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from tiktok_claims import config
from tiktok_claims.analysis import (
    Analysis,
    FamilyAnalysis,
    analyze,
    check_assumptions,
    load_input,
)
from tiktok_claims.data.load import load_dataset
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.errors import OptionsError

# Slow to import and not needed to import the analysis: ``statsmodels.api`` loads every part of
# statsmodels (its data sets, graphics, time series, ...), imbalanced-learn scikit-learn's test
# utilities (only a resampling strategy's pipeline needs it).
SLOW_TO_IMPORT = ("statsmodels.api", "statsmodels.datasets", "imblearn")
MODULES_LOADED_BY_THE_ANALYSIS = r"""
import json, sys
import tiktok_claims.analysis
print(json.dumps(sorted(sys.modules)))
"""


@pytest.fixture(scope="module")
def small_frame() -> pd.DataFrame:
    return make_synthetic(2000, seed=12)


def test_importing_the_analysis_loads_neither_statsmodels_api_nor_imbalanced_learn():
    result = subprocess.run([sys.executable, "-c", MODULES_LOADED_BY_THE_ANALYSIS], capture_output=True, text=True, check=True)

    loaded = set(json.loads(result.stdout))
    assert "tiktok_claims.analysis" in loaded and "statsmodels.discrete.discrete_model" in loaded
    assert sorted(loaded & set(SLOW_TO_IMPORT)) == []


def test_no_data_means_the_built_in_synthetic_data_made_with_the_seed(monkeypatch):
    monkeypatch.setattr(config, "SYNTHETIC_DEFAULT_ROWS", 500)

    dataset = load_input(None, seed=7)

    assert dataset.synthetic is True
    assert dataset.source == "synthetic (built-in generator, seed 7)"
    assert dataset.rows_read == 500
    made = make_synthetic(500, seed=7)
    assert dataset.all_rows[config.VIDEO_ID].tolist() == made[config.VIDEO_ID].tolist()
    assert dataset.frame[config.VIEWS].tolist() == made.dropna()[config.VIEWS].astype("int64").tolist()
    assert load_input(None, seed=8).all_rows[config.VIDEO_ID].tolist() != made[config.VIDEO_ID].tolist()


def test_a_frame_is_validated_as_in_memory_data(small_frame):
    dataset = load_input(small_frame, seed=0)

    assert (dataset.source, dataset.synthetic) == ("in-memory DataFrame", False)
    assert dataset.rows_read == len(small_frame)
    assert dataset.rows_used == len(small_frame.dropna())


def test_a_path_is_read_by_the_loader(claims, tmp_path):
    path = claims.write(tmp_path, claims.csv())

    dataset = load_input(path, seed=0)

    assert dataset.source == str(path) == load_dataset(path).source
    assert dataset.sha256 == load_dataset(path).sha256


def test_the_analysis_kind_follows_the_outcome(claim_model, small_frame):
    binary = claim_model.analysis  # analyze(..., target="claim_status") in conftest
    ordinal = analyze(small_frame, target=config.BAN, workers=1)

    assert isinstance(binary, Analysis) and binary.approach.kind.value == "binary"
    assert isinstance(ordinal, FamilyAnalysis) and ordinal.approach.kind.value == "ordinal"


def test_the_spark_engine_is_refused_for_a_non_binary_outcome_before_any_work(small_frame):
    stages = []

    with pytest.raises(OptionsError, match=r"--engine spark fits binary outcomes only; 'video_view_count' calls for") as refused:
        analyze(small_frame, target=config.VIEWS, engine="spark", progress=stages.append)

    assert refused.value.option == "engine" and isinstance(refused.value, ValueError)

    assert stages == ["Loading and validating the data", "Choosing the modeling approach"]


def test_check_assumptions_of_a_binary_outcome_gives_the_logistic_checklist(small_frame, logistic_check_names):
    stages = []

    dataset, approach, spec, checks = check_assumptions(small_frame, progress=stages.append)

    assert dataset.rows_read == len(small_frame)
    assert approach.label == "binomial logistic regression" and spec.target == config.VERIFIED
    assert [check["name"] for check in checks] == logistic_check_names
    assert all(check["verdict"] in ("pass", "warn", "fail") for check in checks)
    assert stages == ["Loading and validating the data", "Fitting the binomial logistic regression on every used row and checking its assumptions"]


def test_check_assumptions_of_another_family_gives_its_own_checklist(small_frame):
    _, approach, spec, checks = check_assumptions(small_frame, target=config.DURATION, transform="log1p")

    names = [check["name"] for check in checks]
    assert approach.label.startswith("linear regression (OLS)")
    assert "Homoscedasticity (Breusch-Pagan)" in names and "Multicollinearity (VIF)" in names
    assert "Hosmer" not in " ".join(names)
    assert spec.log1p  # the options reach the feature rule
