"""The story of a run (interpretation/story.py, family_story.py): verdicts decided by the numbers, words that follow them."""

from __future__ import annotations

import copy

import pytest

from tiktok_claims import analyze, config
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.interpretation.family_story import family_story
from tiktok_claims.interpretation.story import binary_story
from tiktok_claims.interpretation.subjects import SUBJECTS, subject


@pytest.fixture(scope="module")
def record() -> dict:
    analysis = analyze(make_synthetic(3000, seed=4), cv_folds=2, bootstrap=100, stability_refits=10, workers=1)
    return analysis.metrics()


def _with(record: dict, auc_low: float, precision_low: float, precision: float = 0.5) -> dict:
    changed = copy.deepcopy(record)
    changed["test_ci"]["roc_auc"]["ci_low"] = auc_low
    changed["test_ci"]["precision"]["ci_low"] = precision_low
    changed["test"]["precision"] = precision
    return changed


@pytest.mark.parametrize(
    ("auc_low", "precision_low", "level"),
    [(0.95, 0.95, "rank"), (0.95, 0.5, "assist"), (0.75, 0.95, "assist"), (0.69, 0.99, "do_not_use"), (0.5, 0.1, "do_not_use")],
)
def test_the_verdict_follows_the_lower_ends_of_the_test_intervals(record, auc_low, precision_low, level):
    story = binary_story(_with(record, auc_low, precision_low))
    assert story["verdict"]["level"] == level
    headline, use = story["verdict"]["headline"], story["intended_use"]
    if level == "rank":
        assert headline.startswith("Fit to rank") and use.startswith("Rank reported videos")
    elif level == "assist":
        assert headline.startswith("Use only to order reviews") and "never decide" in use
    else:
        assert headline.startswith("Do not use this model") and use.startswith("Not for decisions")
    assert all(": " in r.split(".")[0] for r in story["recommendations"])  # each names who acts


def test_a_leakage_that_does_not_inflate_precision_is_not_called_inflation(record):
    changed = copy.deepcopy(record)
    changed["leakage_audit"]["inflated"] = False
    story = binary_story(changed)
    words = " ".join(story["insights"] + story["recommendations"])
    assert "flawed test" not in words and "would report a precision" not in words


def test_only_is_said_of_a_minority_of_right_flags(record):
    low = binary_story(_with(record, 0.5, 0.1, precision=0.2))
    high = binary_story(_with(record, 0.5, 0.1, precision=0.8))
    assert any("of which only" in s for s in low["insights"])
    assert not any("of which only" in s for s in high["insights"])


def test_a_filter_that_is_nearly_always_right_is_not_said_to_be_always_right(record):
    changed = _with(record, 0.99, 0.99, precision=0.9996)
    changed["test"]["recall"] = 0.996
    changed["threshold"]["per_1000_videos"].update(flagged=499.2, flagged_positive=499.0)
    story = binary_story(changed)
    sentence = next(s for s in story["insights"] if s.startswith("Used as a filter"))
    assert "of which all but 0.2 " in sentence and "(precision 99.96%)" in sentence
    assert "catching 99.6% of all such videos" in sentence and "100" not in sentence
    assert "99.96% of those flags are right" in story["ethics_in_use"]


def test_the_output_is_named_a_score_unless_it_is_a_probability(record):
    assert record["balance"] == config.DEFAULT_BALANCE and not record["calibrated"]
    assert record["output"]["name"] == "score" and "not probabilities" in record["output"]["description"]
    calibrated = analyze(make_synthetic(3000, seed=4), cv_folds=2, bootstrap=100, stability_refits=10, workers=1, calibrate=True)
    assert calibrated.metrics()["output"]["name"] == "probability"


def _family(kind: str, **test) -> dict:
    return {
        "target": config.DURATION if kind == "continuous" else config.VIEWS if kind == "count" else config.BAN,
        "outcome_type": kind,
        "test": test,
        "test_majority_level": "active",
        "findings": [],
        "coefficients": [{"name": "const"}, {"name": "a"}, {"name": "b"}],
        "cut_coefficients": [],
        "proportional_odds_holds": None,
    }


def test_a_negligible_share_explained_means_no_practical_value():
    story = family_story(_family("continuous", r2=-0.001, mae=12.0, mae_mean_baseline=12.0))
    assert story["verdict"]["level"] == "no_practical_value"
    assert "none of the variance" in story["verdict"]["headline"]
    useful = family_story(_family("continuous", r2=0.3, mae=8.0, mae_mean_baseline=12.0))
    assert useful["verdict"]["level"] == "associations"


def test_an_ordinal_model_no_better_than_the_majority_says_so():
    story = family_story(_family("ordinal", accuracy=0.806, accuracy_majority_baseline=0.806))
    assert story["verdict"]["level"] == "no_better_than_majority"
    assert "no better than always guessing 'active'" in story["verdict"]["headline"]


def test_count_predictions_beyond_the_training_range_are_called_extrapolation():
    story = family_story(
        _family(
            "count", d2_poisson_deviance=0.4, mae=10.0, mae_mean_baseline=20.0, predictions_above_observed_max=12,
            largest_training=999_817.0, largest_prediction=2_570_000.0,
        )
    )
    assert any("extrapolate" in item and "12 test predictions" in item for item in story["oddities"])


def test_every_outcome_has_words_of_its_own():
    for target in (*config.CATEGORIES, *config.COUNT_COLUMNS, config.DURATION):
        words = subject(target, "x")
        assert words.question.endswith("?") and words.title.endswith("?")
        if target in SUBJECTS:
            assert words is SUBJECTS[target]
        else:
            assert target.replace("video_", "").replace("_", " ") in words.question
    titles = [subject(target).title for target in (*config.CATEGORIES, *config.COUNT_COLUMNS, config.DURATION)]
    assert len(set(titles)) == len(titles)


def test_claim_status_alone_is_never_said_to_be_almost_as_good_when_it_is_better(record):
    changed = copy.deepcopy(record)
    models = changed["cv"]["models"]
    full = models[changed["cv"]["default_model"]]["roc_auc"]["mean"]
    models["claim status alone (baseline)"]["roc_auc"]["mean"] = full + 0.03
    words = " ".join(binary_story(changed)["insights"])
    assert "almost as well" not in words and "add nothing to claim status" in words
    models["claim status alone (baseline)"]["roc_auc"]["mean"] = full - 0.005
    assert "almost as well" in " ".join(binary_story(changed)["insights"])


def test_without_a_surviving_finding_the_model_claims_no_characteristic(record):
    changed = copy.deepcopy(record)
    for finding in changed["findings"]:
        finding["significant"] = False
    can = " ".join(binary_story(changed)["can"])
    assert "none of these characteristics is clearly linked" in can
    assert "Show which characteristics go together" not in can


def test_a_rate_resting_on_few_errors_carries_its_exact_upper_bound(record):
    from scipy.stats import binomtest

    changed = _with(record, 0.95, 0.95, precision=1.0)
    changed["test_confusion_matrix"]["matrix"] = [[50, 0], [2, 46]]
    changed["test"]["recall"] = 46 / 48
    verdict = binary_story(changed)["verdict"]
    upper = 1000 * binomtest(0, 46).proportion_ci(method="exact").high
    assert verdict["false_per_1000_flagged"] == 0 and verdict["false_per_1000_flagged_upper"] == pytest.approx(upper)
    assert f"0 of 46 in the test part; with so few, up to {upper:,.0f} per 1,000 is plausible" in verdict["headline"]
    missed_upper = 1000 * binomtest(2, 48).proportion_ci(method="exact").high
    assert f"2 of 48 in the test part; with so few, up to {missed_upper:,.0f} per 1,000" in verdict["headline"]


def test_do_not_use_says_chance_is_not_beaten_when_the_auc_interval_includes_it(record):
    changed = _with(record, 0.45, 0.05)
    assert "does not rank videos measurably better than chance" in binary_story(changed)["verdict"]["headline"]
    changed = _with(record, 0.55, 0.05)
    assert "only modestly better than chance" in binary_story(changed)["verdict"]["headline"]
