"""The shared pieces of ``metrics.json`` (``analysis/records.py``): plain JSON values only,
the row accounting, the tool's identity, and the library versions, each against its
source (the dataset's own counts, each library's ``__version__``)."""

from __future__ import annotations

import json
import math
import platform
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import tiktok_claims
from tiktok_claims import config
from tiktok_claims.analysis import records as records_module
from tiktok_claims.analysis.records import (
    cv_record,
    data_record,
    eda_record,
    features_record,
    header_record,
    json_safe,
    library_versions,
    records,
)
from tiktok_claims.approach import choose_approach
from tiktok_claims.data.load import dataset_from_frame
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.eda import explore
from tiktok_claims.model.features import select_features


@pytest.fixture(scope="module")
def dataset():
    return dataset_from_frame(make_synthetic(600, seed=8), source="made-up source", synthetic=True)


def test_json_safe_turns_non_finite_numbers_into_null_and_tuples_into_lists():
    value = {"a": math.inf, "b": [1.5, -math.inf, (math.nan, 2)], "c": {"d": "text", "e": None, "f": True}}

    safe = json_safe(value)

    assert safe == {"a": None, "b": [1.5, None, [None, 2]], "c": {"d": "text", "e": None, "f": True}}
    json.dumps(safe, allow_nan=False)


def test_records_hold_plain_python_values():
    frame = pd.DataFrame(
        {"n": np.array([1, 2], dtype="int64"), "x": np.array([0.5, np.nan]), "flag": np.array([True, False]), "name": ["a", "b"]}
    )

    rows = records(frame)

    assert rows[0] == {"n": 1, "x": 0.5, "flag": True, "name": "a"}
    assert [type(rows[0][k]) for k in ("n", "x", "flag", "name")] == [int, float, bool, str]
    assert math.isnan(rows[1]["x"])


def test_data_record_accounts_for_every_row(dataset):
    record = data_record(dataset)

    assert record["rows_read"] == len(dataset.all_rows) == 600
    assert record["rows_used"] == len(dataset.frame)
    assert record["rows_set_aside_total"] == len(dataset.set_aside) == 600 - len(dataset.frame)
    assert record["rows_set_aside"] == dataset.set_aside["reason"].value_counts().to_dict()
    assert (record["source"], record["synthetic"], record["sha256"]) == ("made-up source", True, dataset.sha256)
    assert record["notes"] == list(dataset.notes)
    json.dumps(record, allow_nan=False)


def test_header_names_the_tool_the_data_and_the_approach(dataset):
    approach = choose_approach(dataset.frame, config.BAN)
    analysis = SimpleNamespace(created="2024-01-01T00:00:00+00:00", dataset=dataset, target=config.BAN, approach=approach)

    header = header_record(analysis)

    assert header["tool"] == {
        "name": "tiktok-claims",
        "version": tiktok_claims.__version__,
        "metrics_schema": config.METRICS_SCHEMA,
        "created": "2024-01-01T00:00:00+00:00",
    }
    assert header["data"] == data_record(dataset)
    assert (header["target"], header["outcome_type"], header["family"]) == (config.BAN, "ordinal", "ordinal_logit")
    assert (header["outcome_label"], header["model_family"]) == ("ordered categories", "ordinal logistic regression")
    assert header["approach_reason"] == approach.reason


def test_features_record_lists_the_rule_and_its_numbers(dataset):
    spec = select_features(dataset.frame, config.VERIFIED)

    record = features_record(spec, ["a", "b"])

    assert (record["continuous"], record["categorical"], record["log1p"]) == (list(spec.continuous), list(spec.categorical), [])
    assert record["encoded"] == ["a", "b"] and record["dropped"] == spec.dropped and record["rule"] == spec.rule
    assert len(record["vif"]) == len(spec.vif_rounds)
    assert [row["vif"] for row in record["vif"]] == spec.vif_rounds["vif"].tolist()
    json.dumps(record, allow_nan=False)


def test_eda_record_keeps_each_correlation_matrix_row_with_its_column_name(dataset):
    eda = explore(dataset.all_rows, dataset.frame, config.VERIFIED)

    record = eda_record(eda)

    assert (record["rows"], record["columns"]) == (600, len(config.COLUMNS))
    assert [row["column"] for row in record["pearson"]] == list(config.CONTINUOUS_COLUMNS)
    for row in record["spearman"]:
        for other in config.CONTINUOUS_COLUMNS:
            assert row[other] == eda.spearman.loc[row["column"], other]
    assert record["class_balance"] == records(eda.class_balance)


def test_cv_record_nests_the_summary_by_model_and_metric():
    summary = pd.DataFrame(
        [
            {"model": "m1", "metric": "roc_auc", "mean": 0.7, "sd": 0.01, "ci_low": 0.68, "ci_high": 0.72},
            {"model": "m1", "metric": "f1", "mean": 0.3, "sd": 0.02, "ci_low": 0.27, "ci_high": 0.33},
            {"model": "m2", "metric": "roc_auc", "mean": 0.5, "sd": 0.0, "ci_low": 0.5, "ci_high": 0.5},
        ]
    )
    fold_metrics = pd.DataFrame(
        [{"model": model, "fold": fold, "metric": "roc_auc", "value": value}
         for model, values in (("m1", [0.70, 0.72, 0.68]), ("m2", [0.5, 0.5, 0.5])) for fold, value in enumerate(values)]
    )
    cv = SimpleNamespace(
        folds=3, repeats=2, threshold_rule="f1", default_model="m1", default_reason="why", summary=summary,
        fold_metrics=fold_metrics,
    )

    record = cv_record(cv)

    assert record["models"] == {
        "m1": {"roc_auc": {"mean": 0.7, "sd": 0.01, "ci_low": 0.68, "ci_high": 0.72},
               "f1": {"mean": 0.3, "sd": 0.02, "ci_low": 0.27, "ci_high": 0.33}},
        "m2": {"roc_auc": {"mean": 0.5, "sd": 0.0, "ci_low": 0.5, "ci_high": 0.5}},
    }
    assert (record["folds"], record["repeats"], record["default_model"], record["default_reason"]) == (3, 2, "m1", "why")
    # m2 less m1 on each fold: -0.20, -0.22, -0.18.
    assert list(record["paired_roc_auc"]) == ["m2"]
    assert record["paired_roc_auc"]["m2"]["mean"] == pytest.approx(-0.20)
    assert record["paired_roc_auc"]["m2"]["sd"] == pytest.approx(0.02)


def test_library_versions_are_those_the_libraries_report():
    import imblearn
    import matplotlib
    import pyarrow
    import scipy
    import sklearn
    import statsmodels

    found = library_versions()

    assert found["python"] == platform.python_version()
    assert found["platform"] == platform.platform()
    reported = {
        "numpy": np.__version__, "pandas": pd.__version__, "scipy": scipy.__version__, "scikit-learn": sklearn.__version__,
        "statsmodels": statsmodels.__version__, "imbalanced-learn": imblearn.__version__,
        "matplotlib": matplotlib.__version__, "pyarrow": pyarrow.__version__,
    }
    assert {name: found[name] for name in reported} == reported


def test_a_library_that_is_not_installed_is_said_so(monkeypatch):
    monkeypatch.setattr(records_module, "LIBRARIES", ("numpy", "no-such-library-for-tiktok-claims"))

    found = library_versions()

    assert found["no-such-library-for-tiktok-claims"] == "not installed"
    assert found["numpy"] == np.__version__
