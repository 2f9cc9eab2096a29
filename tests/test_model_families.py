"""Non-binary outcomes end to end: each family's fit against a hand-built statsmodels model
on a design built here with numpy, its test metrics against direct computations, and
``run --target`` writing the report, metrics and figures for ordinal, count and OLS models."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.miscmodels.ordinal_model import OrderedModel
from typer.testing import CliRunner

from tiktok_claims import config
from tiktok_claims.analysis import FamilyAnalysis, analyze
from tiktok_claims.approach import ORDERED_LEVELS, Family, OutcomeKind, choose_approach
from tiktok_claims.cli import app
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.evaluation.families import evaluate_family
from tiktok_claims.interpretation import family_coefficients
from tiktok_claims.model.families import fit_family
from tiktok_claims.model.features import select_features
from tiktok_claims.model.split import split


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_synthetic(4_000, seed=9).dropna().reset_index(drop=True)


def _parts(frame: pd.DataFrame, target: str):
    approach = choose_approach(frame, target)
    parts = split(frame, approach.stratify_on, seed=3)
    train, test = frame.loc[parts.train], frame.loc[parts.test]
    return approach, train, test, select_features(train, target)


def _fit_and_evaluate(train, test, spec, approach) -> SimpleNamespace:
    """The fit, its coefficient table and its test evaluation, as ``run`` computes them."""
    fit = fit_family(train, spec, approach)
    evaluation = evaluate_family(fit, train, test)
    return SimpleNamespace(
        coefficients=family_coefficients(fit), extra_parameters=fit.extra_parameters, estimator=fit.estimator,
        test=evaluation.test, test_table=evaluation.test_table, predictions=evaluation.predictions,
    )


def _hand_design(train: pd.DataFrame, frame: pd.DataFrame, spec) -> pd.DataFrame:
    """Standardize with the training mean and population SD; dummies against the first level."""
    columns = {}
    for name in spec.continuous:
        values = train[name].astype(float)
        columns[name] = (frame[name].astype(float) - values.mean()) / values.std(ddof=0)
    for name in spec.categorical:
        for level in config.CATEGORIES[name][1:]:
            columns[f"{name}_{level}"] = (frame[name] == level).astype(float)
    return pd.DataFrame(columns, index=frame.index)


def test_count_model_matches_statsmodels_on_a_hand_built_design(frame):
    approach, train, test, spec = _parts(frame, config.VIEWS)
    model = _fit_and_evaluate(train, test, spec, approach)
    x = sm.add_constant(_hand_design(train, train, spec))
    y = train[config.VIEWS].astype(float)
    if approach.family is Family.NEGATIVE_BINOMIAL:
        reference = sm.NegativeBinomial(y, x).fit(disp=False, maxiter=1000, method="bfgs")
        params = reference.params.drop("alpha")
        assert model.extra_parameters["alpha (NB2 dispersion)"] == pytest.approx(reference.params["alpha"], rel=1e-3)
    else:
        params = sm.GLM(y, x, family=sm.families.Poisson()).fit().params
    ours = model.coefficients.set_index("name")["coef_per_sd"]
    np.testing.assert_allclose(ours[params.index], params, rtol=1e-3, atol=1e-4)
    # Test metrics, recomputed by hand from the predictions.
    mu = np.exp(sm.add_constant(_hand_design(train, test, spec))[params.index].to_numpy() @ params.to_numpy())
    observed = test[config.VIEWS].to_numpy(dtype=float)
    np.testing.assert_allclose(model.predictions["predicted"], mu, rtol=1e-3)

    def deviance(y_, m_):
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(y_ > 0, y_ * np.log(y_ / m_), 0.0)
        return 2 * np.sum(term - (y_ - m_))

    d2 = 1 - deviance(observed, mu) / deviance(observed, np.full_like(observed, observed.mean()))
    assert model.test["d2_poisson_deviance"] == pytest.approx(d2, rel=1e-3)
    assert model.test["mae"] == pytest.approx(np.mean(np.abs(observed - mu)), rel=1e-3)
    assert model.test["mae_mean_baseline"] == pytest.approx(np.mean(np.abs(observed - y.mean())))
    # Rate ratios per readable unit: exp(coef per SD * unit / SD).
    row = model.coefficients.set_index("name").loc[config.DURATION]
    sd = train[config.DURATION].std(ddof=0)
    assert row["effect"] == pytest.approx(np.exp(params[config.DURATION] * row["unit_size"] / sd), rel=1e-3)


def test_ordinal_model_matches_ordered_model_and_counts_its_confusion(frame):
    approach, train, test, spec = _parts(frame, config.BAN)
    assert approach.family is Family.ORDINAL_LOGIT
    model = _fit_and_evaluate(train, test, spec, approach)
    levels = list(ORDERED_LEVELS[config.BAN])
    codes = pd.Categorical(train[config.BAN], categories=levels, ordered=True).codes
    reference = OrderedModel(codes, _hand_design(train, train, spec), distr="logit").fit(method="bfgs", disp=False, maxiter=1000)
    slopes = model.coefficients.set_index("name")["coef_per_sd"]
    np.testing.assert_allclose(slopes, reference.params[slopes.index], rtol=1e-3, atol=1e-4)
    # The confusion table and accuracy from the reference's own predicted probabilities.
    probabilities = reference.model.predict(reference.params, exog=_hand_design(train, test, spec).to_numpy())
    predicted = np.asarray(levels)[probabilities.argmax(axis=1)]
    assert model.test["accuracy"] == pytest.approx(np.mean(predicted == test[config.BAN].to_numpy()))
    table = model.test_table.set_index("observed")
    for observed_level in levels:
        for predicted_level in levels:
            expected = int(np.sum((test[config.BAN].to_numpy() == observed_level) & (predicted == predicted_level)))
            assert table.loc[observed_level, predicted_level] == expected
    assert table.to_numpy().sum() == len(test)
    majority = pd.Series(codes).value_counts().idxmax()
    assert model.test["accuracy_majority_baseline"] == pytest.approx(np.mean(test[config.BAN] == levels[majority]))


def test_ols_uses_robust_errors_exactly_when_breusch_pagan_rejects(frame):
    from statsmodels.stats.diagnostic import het_breuschpagan

    approach, train, test, spec = _parts(frame, config.DURATION)
    assert approach.kind is OutcomeKind.CONTINUOUS
    model = _fit_and_evaluate(train, test, spec, approach)
    x = sm.add_constant(_hand_design(train, train, spec))
    y = train[config.DURATION].astype(float)
    if approach.family is Family.LOG_OLS:
        y = np.log(y)
    beta, *_ = np.linalg.lstsq(x.to_numpy(), y.to_numpy(), rcond=None)
    ours = model.coefficients.set_index("name")
    np.testing.assert_allclose(ours["coef_per_sd"][list(x.columns)], beta, rtol=1e-6, atol=1e-8)
    ordinary = sm.OLS(y, x).fit()
    robust = het_breuschpagan(ordinary.resid, x)[1] < 0.05
    reference = sm.OLS(y, x).fit(cov_type="HC3") if robust else ordinary
    assert ("HC3" in model.estimator) == robust
    scale = ours["coef"] / ours["coef_per_sd"]
    np.testing.assert_allclose((ours["se"] / scale)[list(x.columns)], reference.bse, rtol=1e-6)


def test_leakage_guard_leaves_out_near_copies_of_a_count_target(real_dataset):
    frame = real_dataset.frame
    parts = split(frame, None, seed=42)
    spec = select_features(frame.loc[parts.train], config.VIEWS)
    assert config.VIEWS not in spec.continuous
    assert config.LIKES in spec.dropped and "near-copy" in spec.dropped[config.LIKES]


def _run(tmp_path, *args) -> tuple[dict, str]:
    result = CliRunner().invoke(app, ["run", "--out", str(tmp_path), "--quiet", *args])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    return metrics, (tmp_path / "report.html").read_text()


@pytest.mark.parametrize(
    ("target", "family", "figures"),
    [
        (config.BAN, "ordinal logistic regression", {"confusion_matrix", "severity_scores"}),
        (config.DURATION, "linear regression (OLS)", {"observed_vs_predicted", "residuals"}),
    ],
)
def test_run_writes_every_output_for_a_non_binary_target(tmp_path, target, family, figures):
    metrics, html = _run(tmp_path, "--target", target)
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


def test_score_refuses_a_non_binary_model_with_a_clear_message(tmp_path):
    _run(tmp_path / "run", "--target", config.DURATION)
    data = tmp_path / "videos.csv"
    make_synthetic(50, seed=1).to_csv(data, index=False)
    result = CliRunner().invoke(
        app, ["score", "--model", str(tmp_path / "run" / "model.json"), "--data", str(data), "--out", str(tmp_path / "s.csv")]
    )
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


def test_claim_status_run_falls_back_to_firth_and_says_so(tmp_path, real_data_path):
    metrics, html = _run(tmp_path, "--data", str(real_data_path), "--target", config.CLAIM, "--bootstrap", "200", "--cv-folds", "2")
    assert metrics["estimation"]["penalized"] is True
    assert metrics["estimation"]["separation"] in ("near", "quasi-complete", "complete")
    assert "Penalized fit." in html and "Firth" in html
    assert all(np.isfinite(c["coef"]) for c in metrics["coefficients"])
