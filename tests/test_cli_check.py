"""The ``check`` command (``cli.py``): `check --target` works for every family on the real data;
`run` refuses what it cannot do."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tiktok_claims.cli import app


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
