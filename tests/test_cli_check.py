"""The ``check`` command (``cli.py``): `check --target` works for every family on the real data;
`check --json` prints the checklist as data; `run` refuses what it cannot do."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from tiktok_claims import analysis as analysis_module
from tiktok_claims import config
from tiktok_claims.cli import app
from tiktok_claims.data.synthetic import write_synthetic


@pytest.mark.parametrize(
    ("target", "family", "check_name"),
    [
        ("verified_status", "binomial logistic regression", "Hosmer"),
        ("claim_status", "binomial logistic regression", "Separation"),
        ("author_ban_status", "ordinal logistic regression", "Proportional odds"),
        ("video_view_count", "negative binomial regression", "Dispersion"),
    ],
)
def test_check_prints_the_family_and_its_checklist(real_data_path, target, family, check_name):
    result = CliRunner().invoke(app, ["check", "--data", str(real_data_path), "--target", target, "--quiet"])

    assert result.exit_code == 0, result.output
    assert family in result.stdout
    assert check_name in result.stdout
    assert any(verdict in result.stdout for verdict in ("PASS", "WARN", "FAIL"))


def test_run_on_spark_refuses_a_count_target_before_any_work(real_data_path, tmp_path):
    result = CliRunner().invoke(
        app,
        ["run", "--data", str(real_data_path), "--target", "video_view_count", "--engine", "spark", "--out", str(tmp_path), "--quiet"],
    )

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "negative binomial regression" in result.stderr and "binary outcomes only" in result.stderr
    assert not (tmp_path / "metrics.json").exists()


def test_identifier_is_not_an_outcome(real_data_path):
    result = CliRunner().invoke(app, ["check", "--data", str(real_data_path), "--target", "video_id", "--quiet"])

    assert result.exit_code == 1
    assert "cannot be an outcome" in result.stderr


def test_spark_tmp_without_the_spark_engine_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["run", "--spark-tmp", str(tmp_path), "--out", str(tmp_path / "out"), "--quiet"])

    assert result.exit_code == 2
    assert "--spark-tmp" in result.output and "--engine spark" in result.output
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- check DATA --json

CHECK_FIELDS = ["name", "statistic", "p_value", "threshold", "verdict", "consequence", "remedy"]


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    return write_synthetic(tmp_path_factory.mktemp("check") / "claims.csv", rows=1_500, seed=4)


def test_check_json_is_the_checklist_as_in_metrics_json_and_nothing_else(small_data, logistic_check_names):
    result = CliRunner().invoke(app, ["check", str(small_data), "--json"])  # DATA as the positional argument

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["source"], document["target"], document["synthetic"]) == (str(small_data), "verified_status", False)
    assert document["family"] == "binomial logistic regression" and document["reason"]
    assert isinstance(document["left_out"], dict)
    assert [list(check) for check in document["checks"]] == [CHECK_FIELDS] * len(document["checks"])
    assert [check["name"] for check in document["checks"]] == logistic_check_names
    assert {check["verdict"] for check in document["checks"]} <= {"pass", "warn", "fail"}
    assert "›" in result.stderr  # progress goes to stderr


def test_check_json_writes_nan_as_null(small_data, monkeypatch):
    real = analysis_module.check_assumptions

    def with_nan(*args, **kwargs):
        dataset, approach, spec, checks = real(*args, **kwargs)
        return dataset, approach, spec, [{**checks[0], "statistic": float("nan"), "p_value": np.float64("inf")}, *checks[1:]]

    monkeypatch.setattr(analysis_module, "check_assumptions", with_nan)
    result = CliRunner().invoke(app, ["check", "--data", str(small_data), "--json", "--quiet"])

    assert result.exit_code == 0, result.output
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout
    first = json.loads(result.stdout)["checks"][0]
    assert first["statistic"] is None and first["p_value"] is None
    assert result.stderr == ""


def test_check_json_errors_go_to_stderr_with_exit_1(small_data):
    result = CliRunner().invoke(app, ["check", str(small_data), "--target", "video_id", "--json", "--quiet"])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and "cannot be an outcome" in result.stderr


def test_check_json_of_the_synthetic_data_says_so_on_stderr_only(monkeypatch):
    monkeypatch.setattr(config, "SYNTHETIC_DEFAULT_ROWS", 1_500)
    result = CliRunner().invoke(app, ["check", "--json", "--quiet"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["synthetic"] is True
    assert "SYNTHETIC" in result.stderr
