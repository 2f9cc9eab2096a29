"""The options of an analysis (``analysis/options.py``): every option's allowed values and
bounds, the error (``OptionsError``, a ``ValueError``) and its message, and the same
bounds on the command line."""

from __future__ import annotations

import dataclasses

import pytest
import typer.main

from tiktok_claims import config
from tiktok_claims.analysis import analyze
from tiktok_claims.analysis.options import (
    BOOTSTRAP_RANGE,
    CV_FOLDS_RANGE,
    CV_REPEATS_RANGE,
    ENGINES,
    AnalysisOptions,
)
from tiktok_claims.cli import app
from tiktok_claims.errors import OptionsError, TiktokClaimsError
from tiktok_claims.evaluation.metrics import ThresholdRule


def test_the_error_is_a_value_error_of_this_package():
    assert issubclass(OptionsError, ValueError) and issubclass(OptionsError, TiktokClaimsError)


def test_defaults_are_the_configured_ones():
    options = AnalysisOptions()

    assert (options.target, options.seed, options.balance) == (config.DEFAULT_TARGET, config.DEFAULT_SEED, config.DEFAULT_BALANCE)
    assert (options.cv_folds, options.cv_repeats, options.bootstrap) == (config.CV_FOLDS, config.CV_REPEATS, config.BOOTSTRAP_RESAMPLES)
    assert options.threshold_rule == ThresholdRule(config.DEFAULT_THRESHOLD_RULE, config.DEFAULT_TARGET_RECALL)
    assert (options.calibrate, options.transform, options.engine, options.spark_tmp, options.workers) == (
        False, "none", "local", None, None,
    )
    assert AnalysisOptions.names() == tuple(field.name for field in dataclasses.fields(AnalysisOptions))


@pytest.mark.parametrize(
    ("name", "allowed"),
    [("balance", config.BALANCE_OPTIONS), ("transform", config.TRANSFORMS), ("engine", ENGINES)],
)
def test_a_choice_accepts_each_allowed_value_and_refuses_any_other(name, allowed):
    for value in allowed:
        assert getattr(AnalysisOptions(**{name: value}), name) == value

    quoted = ", ".join(f"'{value}'" for value in allowed)
    for wrong in ("other", allowed[0].upper(), None):
        with pytest.raises(OptionsError) as refused:
            AnalysisOptions(**{name: wrong})
        assert str(refused.value) == f"{name} must be one of {quoted}; got {wrong!r}."


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("cv_folds", *CV_FOLDS_RANGE), ("cv_repeats", *CV_REPEATS_RANGE), ("bootstrap", *BOOTSTRAP_RANGE)],
)
def test_a_bounded_whole_number_accepts_its_bounds_and_refuses_one_beyond(name, low, high):
    assert getattr(AnalysisOptions(**{name: low}), name) == low
    assert getattr(AnalysisOptions(**{name: high}), name) == high

    for wrong in (low - 1, high + 1):
        with pytest.raises(OptionsError) as refused:
            AnalysisOptions(**{name: wrong})
        assert str(refused.value) == f"{name} must be a whole number from {low} to {high:,}; got {wrong!r}."


def test_the_stated_ranges():
    assert (CV_FOLDS_RANGE, CV_REPEATS_RANGE, BOOTSTRAP_RANGE) == ((2, 20), (1, 20), (100, 100_000))


@pytest.mark.parametrize(("name", "low"), [("seed", 0), ("workers", 1)])
def test_seed_and_workers_have_a_lower_bound_only(name, low):
    assert getattr(AnalysisOptions(**{name: low}), name) == low
    assert getattr(AnalysisOptions(**{name: 10**9}), name) == 10**9

    with pytest.raises(OptionsError, match=rf"^{name} must be a whole number at least {low}; got {low - 1}\.$"):
        AnalysisOptions(**{name: low - 1})


def test_workers_may_be_left_to_the_machine():
    assert AnalysisOptions(workers=None).workers is None


@pytest.mark.parametrize("name", ["seed", "cv_folds", "cv_repeats", "bootstrap", "workers"])
@pytest.mark.parametrize("wrong", [True, 5.0, "5"], ids=["bool", "float", "text"])
def test_whole_numbers_are_ints_never_bools_floats_or_text(name, wrong):
    with pytest.raises(OptionsError, match=f"^{name} must be a whole number"):
        AnalysisOptions(**{name: wrong})


def test_the_threshold_rule_must_be_a_threshold_rule_and_the_message_shows_how_to_make_one():
    with pytest.raises(OptionsError) as refused:
        AnalysisOptions(threshold_rule="recall")
    assert str(refused.value) == (
        "threshold_rule must be a ThresholdRule; got str. "
        "Make one: ThresholdRule('recall') (from tiktok_claims import ThresholdRule)."
    )
    with pytest.raises(OptionsError, match=r"got float\. Make one: ThresholdRule\('f1'\)"):
        AnalysisOptions(threshold_rule=0.5)

    assert AnalysisOptions(threshold_rule=ThresholdRule("recall", 0.9)).threshold_rule.target_recall == 0.9


def test_spark_tmp_applies_only_to_the_spark_engine():
    with pytest.raises(OptionsError, match=r"^spark_tmp applies only with --engine spark \(engine='spark'\)\.$"):
        AnalysisOptions(spark_tmp="/tmp")

    assert AnalysisOptions(engine="spark", spark_tmp="/tmp").spark_tmp == "/tmp"


@pytest.mark.parametrize(
    ("name", "wrong", "expected"),
    [
        ("calibrate", "yes", "calibrate must be True or False; got 'yes'."),
        ("calibrate", 1, "calibrate must be True or False; got 1."),
        ("target", 3, "target must be text (a str); got int 3."),
        ("spark_master", None, "spark_master must be text (a str); got NoneType None."),
        ("command", ["run"], "command must be text (a str); got list ['run']."),
    ],
)
def test_flags_and_texts_have_their_types(name, wrong, expected):
    with pytest.raises(OptionsError) as refused:
        AnalysisOptions(**{name: wrong})

    assert str(refused.value) == expected and refused.value.option == name


@pytest.mark.parametrize("name", ["target_recall", "cost_fn", "cost_fp"])
def test_threshold_rule_numbers_are_numbers(name):
    with pytest.raises(OptionsError, match=f"^{name} must be a number; got str '1'\\.$"):
        ThresholdRule("cost", **{name: "1"})
    assert getattr(ThresholdRule("recall", **{name: 1}), name) == 1


def test_the_choices_are_the_configured_literals():
    assert ENGINES == config.ENGINES == ("local", "spark")


def test_options_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        AnalysisOptions().cv_folds = 3  # type: ignore[misc]


def test_analyze_checks_its_options_before_reading_any_data(tmp_path):
    absent = tmp_path / "absent.csv"

    with pytest.raises(OptionsError, match="cv_folds"):
        analyze(absent, cv_folds=1)
    with pytest.raises(TypeError):
        analyze(absent, folds=3)  # not an option


@pytest.mark.parametrize(
    ("option", "bounds"),
    [("--cv-folds", CV_FOLDS_RANGE), ("--cv-repeats", CV_REPEATS_RANGE), ("--bootstrap", BOOTSTRAP_RANGE)],
)
def test_the_run_command_has_the_same_bounds(option, bounds):
    run = typer.main.get_command(app).commands["run"]
    (parameter,) = [p for p in run.params if option in p.opts]

    assert (parameter.min, parameter.max) == bounds


# ---------------------------------------------------------------- the threshold rule's own options


def test_an_unknown_threshold_rule_is_an_options_error():
    with pytest.raises(OptionsError):
        ThresholdRule("precision")


def test_threshold_rule_numbers_are_bounded():
    for numbers in ({"target_recall": 5.0}, {"target_recall": 0.0}, {"cost_fn": -1.0}, {"cost_fp": -1.0}):
        with pytest.raises(OptionsError):
            AnalysisOptions(threshold_rule=ThresholdRule("recall", **numbers))
