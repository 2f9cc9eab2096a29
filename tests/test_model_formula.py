"""Model formulas: parsed without evaluation, refused outside the allowed factors, built into the
same design as patsy/statsmodels, fitted to statsmodels' coefficients, saved and scored.

The references are independent: patsy's own ``dmatrix`` (which evaluates the factors' code, on
made-up data here) for the design, and statsmodels' ``smf.logit(formula=...)`` for the fit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import patsy
import pytest
import statsmodels.formula.api as smf
from statsmodels.stats.outliers_influence import variance_inflation_factor
from typer.testing import CliRunner

import tiktok_claims.analysis as analysis_module
from tiktok_claims import config
from tiktok_claims.analysis import AnalysisOptions, analyze
from tiktok_claims.artifact.schema import digest
from tiktok_claims.artifact.store import load_model, save_model
from tiktok_claims.cli import app
from tiktok_claims.data.load import dataset_from_frame, load_dataset
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.diagnostics.check import VIF_FAIL, vif_check
from tiktok_claims.diagnostics.logistic import check_logistic
from tiktok_claims.errors import AnalysisError, ModelFileError, OptionsError
from tiktok_claims.model.features import select_features
from tiktok_claims.model.formula import FormulaDesign, design_columns, parse_formula
from tiktok_claims.model.logistic import fit_inference
from tiktok_claims.scoring.local import score_file

DONE_WHEN = "verified_status ~ claim_status * author_ban_status + np.log1p(video_view_count)"
DOCUMENTS = (
    "report.html", "report.md", "metrics.json", "model.json", "model_card.json", "model_card.md",
    "technical_summary.md", "technical_summary.html", "executive_summary.html", "pace_strategy.md",
    "pace_strategy.html", "coefficients.csv",
)


@pytest.fixture(scope="module")
def made_up() -> pd.DataFrame:
    """Made-up rows with every column and level (the synthetic generator's, as loaded), and a 0/1 outcome."""
    frame = dataset_from_frame(make_synthetic(3_000, seed=5), source="made up").frame
    return frame.assign(y=(frame[config.VERIFIED] == "verified").astype(float))


# ------------------------------------------------------------------------------ parsing


def test_a_formula_is_parsed_into_its_columns_and_expanded_terms():
    formula = parse_formula(DONE_WHEN)

    assert formula.outcome == config.VERIFIED
    assert formula.columns == (config.CLAIM, config.BAN, config.VIEWS)
    assert formula.expanded == (
        "verified_status ~ claim_status + author_ban_status + claim_status:author_ban_status + np.log1p(video_view_count)"
    )


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("verified_status ~ __import__('os').system('touch pwned')", "__import__('os').system('touch pwned')"),
        ("verified_status ~ np.exp(video_view_count)", "np.exp(video_view_count)"),
        ("verified_status ~ I(video_view_count ** 3)", "I(video_view_count ** 3)"),
        ("verified_status ~ np.log1p(x=video_view_count)", "np.log1p(x=video_view_count)"),
        ("verified_status ~ Q('claim_status')", "Q('claim_status')"),
        ("verified_status ~ video_id", "identifies a row or holds free text"),
        ("verified_status ~ video_transcription_text", "identifies a row or holds free text"),
        ("verified_status ~ verified_status", "is the outcome"),
        ("verified_status ~ followers", "'followers' is not a column of the data"),
        ("verified_status ~ C(video_view_count)", "C() applies to a category"),
        ("verified_status ~ np.log(claim_status)", "np.log() applies to a count or the duration"),
        ("verified_status ~ claim_status - 1", "removes the intercept"),
        ("verified_status ~ 1", "has no predictor"),
        ("~ claim_status", "has no outcome"),
        ("np.log(verified_status) ~ claim_status", "must be one outcome column"),
        ("verified_status ~ (claim_status", "cannot be read"),
        ("author_ban_status ~ claim_status", "binary outcome"),
        ("video_view_count ~ video_like_count", "consequence of the outcome"),
        ("verified_status ~ video_view_count + np.log1p(video_view_count)", "enters in two forms"),
        ("verified_status ~ claim_status + C(claim_status)", "enters in two forms"),
    ],
)
def test_anything_but_the_allowed_factors_is_refused_naming_it(text, named, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(OptionsError, match="formula") as refused:
        parse_formula(text)

    assert named in str(refused.value)
    assert refused.value.option == "formula"
    assert not (tmp_path / "pwned").exists()  # parsed, never run


def test_a_formula_is_never_evaluated(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("a formula's code was evaluated")

    monkeypatch.setattr("builtins.eval", forbidden)
    formula = parse_formula("verified_status ~ C(claim_status) * np.log(video_duration_sec) + I(video_view_count ** 2)")

    assert len(design_columns(formula)) == 4


# ------------------------------------------------------------------------------- design

FORMULAS = [
    DONE_WHEN,
    "verified_status ~ C(claim_status):video_duration_sec + I(video_duration_sec ** 2)",
    "claim_status ~ (author_ban_status + np.log(video_duration_sec) + np.log1p(video_like_count)) ** 2",
    "verified_status ~ claim_status:author_ban_status",
]


@pytest.mark.parametrize("text", FORMULAS)
def test_the_design_is_the_one_patsy_builds_by_evaluating_the_formula(text, made_up):
    formula = parse_formula(text)
    fitted = FormulaDesign(formula).fit(made_up)
    ours = fitted.transform(made_up) * fitted.scale_ + fitted.mean_
    rhs = text.split("~", 1)[1]
    reference = patsy.dmatrix(rhs, made_up, return_type="dataframe", eval_env=patsy.EvalEnvironment([{"np": np}]))
    names = [column.statsmodels_name for column in design_columns(formula)]

    assert sorted(names) == sorted(reference.columns.drop("Intercept"))
    np.testing.assert_allclose(ours, reference[names].to_numpy(), rtol=1e-12, atol=1e-9)


def test_numeric_design_columns_are_standardized_and_indicators_kept_0_1(made_up):
    fitted = FormulaDesign(parse_formula(DONE_WHEN)).fit(made_up)
    values = fitted.transform(made_up)
    numeric = np.array([column.numeric for column in fitted.design_])

    np.testing.assert_allclose(values[:, numeric].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(values[:, numeric].std(axis=0), 1, rtol=1e-12)
    assert set(np.unique(values[:, ~numeric])) == {0.0, 1.0}


def test_log_of_a_zero_count_is_refused_at_fit_naming_the_row(made_up):
    frame = made_up.assign(**{config.LIKES: made_up[config.LIKES].clip(lower=1)})
    frame.loc[frame.index[7], config.LIKES] = 0

    with pytest.raises(AnalysisError, match=rf"np\.log\(video_like_count\) is undefined for 1 row.*row {frame.index[7]}\).*np\.log1p"):
        FormulaDesign(parse_formula("verified_status ~ np.log(video_like_count)")).fit(frame)


def test_a_term_the_training_part_cannot_estimate_is_refused(made_up):
    frame = made_up[made_up[config.BAN] != "banned"]

    with pytest.raises(AnalysisError, match="no training row has author_ban_status = 'banned'"):
        select_features(frame, config.VERIFIED, formula=parse_formula(DONE_WHEN))


def test_the_vif_rule_reports_a_formula_term_above_the_limit_but_keeps_it(made_up):
    spec = select_features(made_up, config.VERIFIED, formula=parse_formula(
        "verified_status ~ video_view_count + video_like_count + video_share_count + claim_status"
    ))
    vifs = spec.vif_rounds.set_index("feature")["vif"]

    assert vifs.max() > config.VIF_LIMIT  # the counts are strongly correlated
    assert spec.continuous == (config.VIEWS, config.LIKES, config.SHARES)
    assert spec.vif_dropped == ()
    assert "none is dropped" in spec.rule and vifs.idxmax() in spec.rule


def test_the_assumption_checks_follow_the_formula_design(made_up):
    formula = parse_formula("verified_status ~ claim_status * np.log(video_duration_sec) + np.log1p(video_view_count)")
    spec = select_features(made_up, config.VERIFIED, formula=formula)
    y = (made_up[config.VERIFIED] == "verified").astype(int)
    inference = fit_inference(made_up, y, spec)
    checks = check_logistic(made_up, y, spec, inference.result, inference.separation)

    assert checks.vif["feature"].tolist() == [column.name for column in design_columns(formula)]
    assert checks.box_tidwell["predictor"].tolist() == [config.DURATION, config.VIEWS]
    assert checks.box_tidwell["transform"].tolist() == ["log", "log1p"]
    assert checks.raw_box_tidwell["transform"].tolist() == ["log", "none"]  # was the log1p needed?
    assert sorted(checks.empirical_logit["predictor"].unique()) == sorted([config.DURATION, config.VIEWS])


def test_the_vif_check_judges_a_formulas_main_effects_among_themselves(made_up):
    formula = parse_formula("verified_status ~ video_duration_sec * video_view_count + I(video_duration_sec ** 2)")
    spec = select_features(made_up, config.VERIFIED, formula=formula)
    table = spec.vif(made_up).set_index("feature")
    main = made_up[[config.DURATION, config.VIEWS]].assign(const=1.0).to_numpy(dtype=float)
    independent = [variance_inflation_factor(main, j) for j in range(2)]
    check = vif_check(spec.vif(made_up), spec)

    assert table["vif"].max() > VIF_FAIL  # the products and the square, by construction
    np.testing.assert_allclose(table.loc[[config.DURATION, config.VIEWS], "vif_main_effects"], independent, rtol=1e-9)
    assert check.statistic == pytest.approx(max(independent), rel=1e-9)
    assert check.verdict == "pass" and "by construction" in check.consequence


# ------------------------------------------------------------------------------ options


def test_the_formula_sets_the_target_and_refuses_what_does_not_apply():
    assert analysis_module.with_options(None, formula="claim_status ~ video_view_count").target == config.CLAIM
    with pytest.raises(OptionsError, match="not the formula's outcome"):
        AnalysisOptions(target=config.CLAIM, formula=DONE_WHEN)
    with pytest.raises(OptionsError, match="np.log1p"):
        AnalysisOptions(transform="log1p", formula=DONE_WHEN)
    with pytest.raises(OptionsError, match="engine"):
        AnalysisOptions(engine="spark", formula=DONE_WHEN)
    with pytest.raises(OptionsError, match="is not allowed"):
        analyze(formula="verified_status ~ os.system('ls')")


# ---------------------------------------------------------------------- real data, end to end


@pytest.fixture(scope="module")
def formula_run(real_data_path, tmp_path_factory):
    """``run DATA --formula DONE_WHEN --out OUT`` in-process, with the analysis it computed."""
    out = tmp_path_factory.mktemp("formula-run") / "f-out"
    seen = []
    original = analysis_module.analyze

    def recording(*args, **kwargs):
        seen.append(original(*args, **kwargs))
        return seen[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(analysis_module, "analyze", recording)
        result = CliRunner().invoke(app, ["run", str(real_data_path), "--formula", DONE_WHEN, "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out, seen[0]


def test_run_with_a_formula_writes_every_document_and_records_the_formula(formula_run):
    out, _ = formula_run
    metrics = json.loads((out / "metrics.json").read_text())
    card = json.loads((out / "model_card.json").read_text())

    assert all((out / name).is_file() for name in DOCUMENTS)
    assert metrics["formula"]["text"] == DONE_WHEN
    assert card["formula"]["text"] == DONE_WHEN
    for name in ("report.md", "technical_summary.md", "model_card.md"):
        assert "claim\\_status \\* author\\_ban\\_status" in (out / name).read_text() or DONE_WHEN in (out / name).read_text(), name


def test_the_coefficients_equal_statsmodels_smf_logit_on_the_same_rows(formula_run, real_data_path):
    out, _ = formula_run
    metrics = json.loads((out / "metrics.json").read_text())
    frame = load_dataset(real_data_path).frame  # the used rows: the inference model's rows
    reference = smf.logit(DONE_WHEN, data=frame.assign(verified_status=(frame[config.VERIFIED] == "verified").astype(float))).fit(disp=0)
    names = {item["name"]: item["statsmodels_name"] for item in metrics["formula"]["design"]}
    table = {row["name"]: row for row in metrics["coefficients"]}
    means = pd.Series(reference.model.exog.mean(axis=0), index=reference.model.exog_names)

    assert metrics["fit"]["rows"] == reference.nobs
    slopes = pd.Series({names[name]: row["coef"] / row["unit_size"] for name, row in table.items() if name != "const"})
    np.testing.assert_allclose(slopes[reference.params.index.drop("Intercept")], reference.params.drop("Intercept"), atol=1e-6)
    standardized = [names[name] for name, row in table.items() if name != "const" and row["sd"] is not None]
    intercept = table["const"]["coef"] - float((slopes[standardized] * means[standardized]).sum())
    assert intercept == pytest.approx(reference.params["Intercept"], abs=1e-6)
    ses = pd.Series({names[name]: row["se"] / row["unit_size"] for name, row in table.items() if name != "const"})
    np.testing.assert_allclose(ses[reference.bse.index.drop("Intercept")], reference.bse.drop("Intercept"), rtol=1e-5)


def test_score_with_the_formula_model_equals_the_fitted_pipeline(formula_run, real_data_path, tmp_path):
    out, analysis = formula_run
    scored = tmp_path / "scored.csv"
    score_file(out / "model.json", real_data_path, scored)
    written = pd.read_csv(scored).set_index(config.ID_COLUMN)["score"]
    frame = analysis.dataset.frame.set_index(config.ID_COLUMN)
    pipeline = pd.Series(analysis.classifier.predict_proba(frame[analysis.features.columns]), index=frame.index)

    assert len(written) == len(frame)
    np.testing.assert_allclose(written.sort_index(), pipeline.sort_index(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(load_model(out / "model.json").predict_proba(frame), pipeline, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------- model file


@pytest.fixture(scope="module")
def logged_model(tmp_path_factory) -> Path:
    """A model of np.log(likes) with an interaction, fitted on made-up rows (no zero likes)."""
    frame = make_synthetic(3_000, seed=3)
    frame = frame[frame[config.LIKES] > 0]
    result = analyze(
        frame, formula="verified_status ~ claim_status * np.log(video_like_count) + I(video_duration_sec ** 2)",
        bootstrap=100, cv_folds=2, stability_refits=0, workers=1,
    )
    return Path(save_model(result, tmp_path_factory.mktemp("logged") / "model.json")["model.json"])


def test_scoring_rejects_a_zero_count_under_np_log_with_its_reason(logged_model, tmp_path, claims):
    path = claims.write(tmp_path, claims.csv(cells={(3, config.LIKES): "0"}), name="backlog.csv")
    scored = tmp_path / "scored.csv"
    result = score_file(logged_model, path, scored)
    rejects = pd.read_csv(tmp_path / "scored_rejects.csv")

    assert result.rows_read == claims.n_rows and result.rows_rejected == 1
    assert rejects["reason"].tolist() == ["video_like_count: 0 (the model takes np.log(video_like_count), undefined at 0)"]


def _edited(path: Path, tmp_path: Path, edit) -> Path:
    """``path``'s artifact edited and its checksum recomputed (as an attacker can)."""
    document = json.loads(path.read_text())
    edit(document)
    document["payload_sha256"] = digest(document["payload"])
    edited = tmp_path / "model.json"
    edited.write_text(json.dumps(document))
    return edited


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["payload"]["formula"].update(text="verified_status ~ __import__('os').system('touch pwned')"), "is not allowed"),
        (lambda d: d["payload"]["formula"].update(text=d["payload"]["formula"]["text"].replace("np.log(", "np.log1p(")), "is not the formula's design column"),
        (lambda d: d["payload"]["formula"]["design"][0]["parts"][0].update(level="claim"), "is not the formula's design column"),
        (lambda d: d["payload"]["formula"]["design"][-1].pop("scale"), "lacks the field 'scale'"),
        (lambda d: d["payload"].pop("formula"), "lacks the field 'mean'"),
        (lambda d: d.update(format_version=3), "formulas are carried by version 4"),
    ],
)
def test_an_edited_formula_in_a_model_file_is_refused(logged_model, tmp_path, monkeypatch, edit, message):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(ModelFileError, match=message):
        load_model(_edited(logged_model, tmp_path, edit))
    assert not (tmp_path / "pwned").exists()


# ------------------------------------------------------------------------------------ CLI


def test_the_cli_refuses_a_bad_formula_as_a_usage_error():
    result = CliRunner().invoke(app, ["run", "--formula", "verified_status ~ np.exp(video_view_count)"])

    assert result.exit_code == 2
    assert "np.exp(video_view_count)" in result.output and "--formula" in result.output


def test_check_follows_the_formula(tmp_path):
    result = CliRunner().invoke(
        app, ["check", "--formula", "claim_status ~ author_ban_status * np.log1p(video_view_count)", "--json", "--quiet"]
    )
    record = json.loads(result.stdout)

    assert result.exit_code == 0, result.output
    assert record["target"] == config.CLAIM and record["formula"].startswith("claim_status ~")
    assert record["left_out"][config.LIKES] == "not in the formula"
    linearity = next(check for check in record["checks"] if check["name"].startswith("Linearity"))
    assert "Box-Tidwell" in linearity["name"] and linearity["verdict"] != "fail", linearity
