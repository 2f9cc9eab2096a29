"""What each analysis kind renders (``reporting/kinds.py``): the document set per outcome
kind, the figures built from the results, and the sentences and tables the templates read,
checked against the metrics they come from."""

from __future__ import annotations

import pickle
import subprocess
import sys
from importlib.resources import files
from types import SimpleNamespace

import pandas as pd
import pytest

from tiktok_claims import config
from tiktok_claims.approach import OutcomeKind, choose_approach
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.eda import explore, target_groups
from tiktok_claims.reporting import figures
from tiktok_claims.reporting.kinds import (
    BINARY,
    CV_COLUMNS,
    FAMILY,
    Chart,
    binary_context,
    binary_exploration_jobs,
    binary_model_jobs,
    cv_table,
    documents_for,
    family_exploration_jobs,
    family_model_jobs,
    family_test_summary,
)

TEMPLATES = files("tiktok_claims.reporting") / "templates"


# ---------------------------------------------------------------- the document set per kind


def test_a_binary_outcome_gets_the_report_the_briefs_and_the_one_page_summary():
    documents = documents_for("binary")

    assert documents is BINARY
    assert sorted(documents.templates) == ["pace_strategy.md", "report.html", "report.md", "technical_summary.md"]
    assert documents.markdown_pages == {"technical_summary": "Data-team brief", "pace_strategy": "PACE strategy document"}
    assert documents.summary is True
    assert (documents.exploration_jobs, documents.model_jobs) == (binary_exploration_jobs, binary_model_jobs)


@pytest.mark.parametrize("kind", ["ordinal", "count", "continuous"])
def test_other_outcomes_get_their_report_and_the_summary(kind):
    documents = documents_for(kind)

    assert documents is FAMILY
    assert documents.templates == {"report.html": "family_report.html.j2", "report.md": "family_report.md.j2"}
    assert documents.markdown_pages == {} and documents.summary is True
    assert (documents.exploration_jobs, documents.model_jobs) == (family_exploration_jobs, family_model_jobs)


def test_an_unknown_outcome_type_is_refused():
    with pytest.raises(ValueError):
        documents_for("survival")


@pytest.mark.parametrize("documents", [BINARY, FAMILY], ids=["binary", "family"])
def test_every_template_named_is_package_data(documents):
    for template in [*documents.templates.values(), "markdown_page.html.j2", "executive_summary.html.j2"]:
        assert (TEMPLATES / template).is_file(), template
    for page in documents.markdown_pages:
        assert f"{page}.md" in documents.templates  # the page is rendered from its Markdown document


# ---------------------------------------------------------------- binary


def test_binary_figures_are_built_from_the_analysis(real_analysis):
    jobs = BINARY.figure_jobs(real_analysis)
    exploration = binary_exploration_jobs(real_analysis.dataset.frame, real_analysis.eda, real_analysis.target)
    by_builder = {builder: arguments for builder, arguments in jobs}

    assert len(jobs) == len(by_builder) == 10
    assert all(isinstance(builder, Chart) and callable(getattr(figures, builder.name)) for builder in by_builder)
    assert jobs[: len(exploration)] == exploration and len(exploration) == 4  # drawable before any model exists
    assert by_builder[Chart("class_balance")][0] is real_analysis.eda.class_balance
    assert by_builder[Chart("confusion_matrix")] == (real_analysis.evaluation.confusion, real_analysis.evaluation.labels)
    assert by_builder[Chart("roc_curve")][1] == real_analysis.evaluation.metrics["roc_auc"]
    checks = real_analysis.assumptions
    assert by_builder[Chart("influence")][1] == pytest.approx(4 / len(checks.influence))


def test_cv_table_puts_each_models_metrics_in_a_fixed_order():
    cv = {"models": {"m": {k: {"mean": i, "ci_low": i - 0.5, "ci_high": i + 0.5, "sd": 9} for i, k in enumerate(reversed(CV_COLUMNS))}}}

    (row,) = cv_table(cv)

    assert list(row) == ["model", *CV_COLUMNS]
    for i, metric in enumerate(reversed(CV_COLUMNS)):
        assert row[metric] == (i, i - 0.5, i + 0.5)
    assert binary_context({"test_per_class": ["x"], "cv": cv}) == {"per_class": ["x"], "cv_table": [row], "cv_metrics": CV_COLUMNS}


# ---------------------------------------------------------------- other families


def made_up_family_analysis(target: str) -> SimpleNamespace:
    """What a family's figure jobs read, from a synthetic frame (no model is needed to list the jobs)."""
    frame = make_synthetic(400, seed=3).dropna().reset_index(drop=True)
    return SimpleNamespace(
        eda=explore(frame, frame, target),
        evaluation=SimpleNamespace(test_table=pd.DataFrame({"t": [1]}), predictions=pd.DataFrame({"p": [1]})),
        target=target,
        dataset=SimpleNamespace(frame=frame),
        approach=choose_approach(frame, target),
    )


@pytest.mark.parametrize(
    ("target", "model_figures"),
    [
        (config.BAN, [Chart("ordinal_confusion"), Chart("severity_scores")]),
        (config.VIEWS, [Chart("observed_vs_predicted")]),
        (config.DURATION, [Chart("observed_vs_predicted"), Chart("residuals_vs_fitted")]),
    ],
    ids=["ordinal", "count", "continuous"],
)
def test_family_figures_are_the_eda_by_group_then_the_models(target, model_figures):
    analysis = made_up_family_analysis(target)

    jobs = FAMILY.figure_jobs(analysis)

    builders = [builder for builder, _ in jobs]
    eda_figures = [Chart("class_balance"), Chart("count_distributions"), Chart("correlation_heatmap"), Chart("text_length_by_class")]
    assert builders == eda_figures + model_figures
    grouped, group = jobs[1][1]
    expected_group = target if target in config.CATEGORIES else f"{target} (quartile group)"
    assert group == expected_group
    assert grouped[group].tolist() == target_groups(analysis.dataset.frame, target).astype(str).tolist()
    if target == config.VIEWS:
        assert jobs[-1][1][2] is True  # counts on a log scale
    if target == config.DURATION:
        assert jobs[-2][1][2] is False


def test_ordinal_summary_quotes_each_auc_log_loss_and_accuracy_beside_its_baseline():
    m = {
        "outcome_type": OutcomeKind.ORDINAL.value,
        "split": {"test_rows": 4771},
        "test": {
            "roc_auc_at_least_under_review": 0.7123, "roc_auc_at_least_banned": 0.6549, "log_loss": 0.61234,
            "log_loss_prior_baseline": 0.70001, "accuracy": 0.8123, "accuracy_majority_baseline": 0.8049,
        },
    }

    sentence = family_test_summary(m)

    assert "(4,771 videos)" in sentence
    assert "ROC-AUC 0.712 (at least under review), 0.655 (at least banned)" in sentence
    assert "log loss 0.612 against 0.700" in sentence
    assert "right for 81.2% of videos, against 80.5%" in sentence


def test_count_summary_quotes_deviance_spearman_and_errors():
    m = {
        "outcome_type": "count",
        "split": {"test_rows": 12},
        "test": {"d2_poisson_deviance": 0.4567, "spearman": 0.81234, "mae": 123456.7, "mae_mean_baseline": 234567.8},
    }

    sentence = family_test_summary(m)

    assert "(12 videos)" in sentence and "45.7% of the Poisson deviance" in sentence
    assert "Spearman correlation 0.812" in sentence
    assert "error is 123,457 against 234,568" in sentence


def test_continuous_summary_quotes_r2_and_rmse_beside_the_baseline():
    m = {"outcome_type": "continuous", "split": {"test_rows": 1000}, "test": {"r2": -0.0012, "rmse": 16.234, "rmse_mean_baseline": 16.2}}

    sentence = family_test_summary(m)

    assert "(1,000 videos)" in sentence and "R² (the share of variance it explains) is -0.001" in sentence
    assert "root-mean-square error is 16.23 against 16.20" in sentence


def test_a_chart_is_named_until_called_and_then_draws_as_its_builder(real_analysis):
    chart = Chart("class_balance")
    arguments = (real_analysis.eda.class_balance, real_analysis.target)

    drawn, direct = chart(*arguments), figures.class_balance(*arguments)

    assert pickle.loads(pickle.dumps(chart)) == chart and hash(chart) == hash(Chart("class_balance"))
    assert (drawn.name, drawn.title, drawn.alt) == (direct.name, direct.title, direct.alt)
    with pytest.raises(AttributeError):
        Chart("no_such_figure")(*arguments)


def test_listing_the_figures_loads_no_plotting_library():
    code = (
        "import sys; from tiktok_claims.reporting import kinds, render; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'seaborn')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
