"""Non-binary outcomes end to end (``analysis/families.py``): ``run --target`` writes the
report, metrics, figures and model description for ordinal and OLS models on the built-in
synthetic data (one run per target, shared by this module's tests), and the real data's
checklist reaches the metrics."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from tiktok_claims import config
from tiktok_claims.analysis import analyze
from tiktok_claims.analysis.families import FamilyAnalysis
from tiktok_claims.cli import app
from tiktok_claims.data.synthetic import make_synthetic

FAMILY_TARGETS = (config.BAN, config.DURATION)


@pytest.fixture(scope="module")
def family_runs(tmp_path_factory) -> dict:
    """``run --target T`` on the built-in synthetic data, for each of ``FAMILY_TARGETS``: its output directory."""
    runs = {}
    for target in FAMILY_TARGETS:
        out = tmp_path_factory.mktemp(f"run-{target}")
        result = CliRunner().invoke(app, ["run", "--out", str(out), "--quiet", "--target", target])
        assert result.exit_code == 0, result.output
        runs[target] = out
    return runs


@pytest.mark.parametrize(
    ("target", "family", "figures"),
    [
        (config.BAN, "ordinal logistic regression", {"confusion_matrix", "severity_scores"}),
        (config.DURATION, "linear regression (OLS)", {"observed_vs_predicted", "residuals"}),
    ],
)
def test_run_writes_every_output_for_a_non_binary_target(family_runs, target, family, figures):
    tmp_path = family_runs[target]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    html = (tmp_path / "report.html").read_text()
    assert metrics["target"] == target and metrics["model_family"].startswith(family)
    assert metrics["data"]["synthetic"] is True
    assert {f["name"] for f in metrics["figures"]} >= figures | {"class_balance", "distributions", "text_length"}
    for figure in metrics["figures"]:
        assert (tmp_path / figure["file"]).stat().st_size > 1000
    names = {c["name"] for c in metrics["assumptions"]}
    assert "Multicollinearity (VIF)" in names and len(names) >= 2
    coefficients = pd.read_csv(tmp_path / "coefficients.csv")
    assert list(coefficients["name"]) == [c["name"] for c in metrics["coefficients"]]
    # Every coefficient and check appears in the report.
    for c in metrics["coefficients"]:
        assert c["name"] in html
    for c in metrics["assumptions"]:
        assert c["name"] in html
    assert "SYNTHETIC DATA" in html
    model = json.loads((tmp_path / "model.json").read_text())
    assert model["target"] == target and set(model["coefficients_per_sd"]) == {c["name"] for c in metrics["coefficients"]}
    # report --from renders the same documents from metrics.json alone.
    before = (tmp_path / "report.md").read_text()
    (tmp_path / "report.md").unlink()
    result = CliRunner().invoke(app, ["report", "--from", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report.md").read_text() == before


def test_score_refuses_a_non_binary_model_with_a_clear_message(family_runs, tmp_path):
    data = tmp_path / "videos.csv"
    make_synthetic(50, seed=1).to_csv(data, index=False)
    model = family_runs[config.DURATION] / "model.json"
    result = CliRunner().invoke(app, ["score", "--model", str(model), "--data", str(data), "--out", str(tmp_path / "s.csv")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "model.json" in result.output


@pytest.mark.parametrize("target", [config.BAN, config.VIEWS])
def test_real_data_checklist_reaches_the_report_and_metrics(real_data_path, target):
    analysis = analyze(real_data_path, target=target, workers=1)
    assert isinstance(analysis, FamilyAnalysis)
    metrics = analysis.metrics()
    assert metrics["assumptions"] and all(c["verdict"] in ("pass", "warn", "fail") for c in metrics["assumptions"])
    assert metrics["data"]["rows_read"] == metrics["data"]["rows_used"] + metrics["data"]["rows_set_aside_total"]
    assert metrics["estimation"]["converged"] is True
    if target == config.VIEWS:
        assert metrics["model_family"] == "negative binomial regression"
        assert 0 < metrics["test"]["d2_poisson_deviance"] < 1
    else:
        assert metrics["test"]["roc_auc_at_least_under_review"] > 0.5
