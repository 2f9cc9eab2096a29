"""The story of a run (interpretation/story.py, family_story.py): verdicts decided by the numbers, words that follow them."""

from __future__ import annotations

import copy
import re

import pytest

from tiktok_claims import analyze, config
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.interpretation.course import (
    QUESTIONS,
    STAGES,
    correlated_pairs,
    course_answers,
)
from tiktok_claims.interpretation.family_story import family_story
from tiktok_claims.interpretation.story import binary_story
from tiktok_claims.interpretation.subjects import SUBJECTS, subject
from tiktok_claims.interpretation.summary import (
    binary_chart,
    family_chart,
    plain_family_insight,
)


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
        "family": {"continuous": "ols", "count": "negative_binomial", "ordinal": "ordinal_logit"}[kind],
        "split": {"test_rows": 4771},
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
    assert "no better than always predicting the average" in story["verdict"]["headline"]
    slight = family_story(_family("continuous", r2=0.01, mae=11.9, mae_mean_baseline=12.0))
    assert "hardly better than always predicting the average" in slight["verdict"]["headline"]
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


def _cv_auc(record: dict, model: str, mean: float, half: float = 0.01) -> None:
    """Set a model's cross-validated ROC-AUC and its interval over the folds."""
    record["cv"]["models"][model]["roc_auc"].update(mean=mean, ci_low=mean - half, ci_high=mean + half)


def _unpaired(record: dict, default: float) -> dict:
    """A copy of ``record`` written before the paired differences (judged by the models' own intervals), the default model at ``default``."""
    changed = copy.deepcopy(record)
    del changed["cv"]["paired_roc_auc"]
    _cv_auc(changed, changed["cv"]["default_model"], default)
    return changed


def _cv_words(record: dict) -> str:
    story = binary_story(record)
    return " ".join([*story["insights"], story["improvement"]])


def test_claim_status_alone_is_said_to_differ_only_when_the_folds_support_it(record):
    changed = _unpaired(record, default=0.70)
    _cv_auc(changed, "claim status alone (baseline)", 0.73)
    words = _cv_words(changed)
    assert "claim status alone ranks videos better than the full model" in words.lower() and "almost" not in words
    _cv_auc(changed, "claim status alone (baseline)", 0.73, half=0.03)  # the intervals overlap: no difference claimed
    assert "claim status alone ranks videos about as well as the full model" in _cv_words(changed).lower()
    _cv_auc(changed, "claim status alone (baseline)", 0.66)
    assert "the full model ranks videos better than claim status alone" in _cv_words(changed).lower()


def test_a_more_flexible_model_is_said_to_rank_better_only_when_the_folds_support_it(record):
    changed = _unpaired(record, default=0.70)
    _cv_auc(changed, "claim status alone (baseline)", 0.70)
    _cv_auc(changed, "gradient boosting (reference)", 0.75)
    words = _cv_words(changed)
    assert "a more flexible kind of model ranks them better" in words and "Yes: a flexible gradient-boosting" in words
    # The same means, with intervals over the folds that overlap (as noise gives): about as well.
    _cv_auc(changed, "gradient boosting (reference)", 0.75, half=0.04)
    words = _cv_words(changed)
    assert "a more flexible kind of model does about as well" in words and "ranks them better" not in words
    assert "Yes: a flexible" not in words
    _cv_auc(changed, "gradient boosting (reference)", 0.60)
    assert "a more flexible kind of model does worse" in _cv_words(changed)


def test_the_paired_fold_differences_decide_when_the_record_holds_them(record):
    changed = copy.deepcopy(record)
    default, reference = changed["cv"]["default_model"], "gradient boosting (reference)"
    _cv_auc(changed, default, 0.70, half=0.04)
    _cv_auc(changed, "claim status alone (baseline)", 0.70)
    _cv_auc(changed, reference, 0.75, half=0.04)  # the models' own intervals overlap...
    changed["cv"]["paired_roc_auc"][reference] = {"mean": 0.05, "sd": 0.01, "ci_low": 0.04, "ci_high": 0.06}
    words = _cv_words(changed)
    assert "a more flexible kind of model ranks them better" in words  # ...but on the same folds it is better every time
    # Intervals apart, but the fold-by-fold difference straddles zero: no difference is claimed.
    _cv_auc(changed, default, 0.70, half=0.005)
    _cv_auc(changed, reference, 0.75, half=0.005)
    changed["cv"]["paired_roc_auc"][reference] = {"mean": 0.05, "sd": 0.09, "ci_low": -0.03, "ci_high": 0.13}
    assert "a more flexible kind of model does about as well" in _cv_words(changed)
    changed["cv"]["paired_roc_auc"][reference] = {"mean": -0.05, "sd": 0.01, "ci_low": -0.06, "ci_high": -0.04}
    assert "a more flexible kind of model does worse" in _cv_words(changed)


def test_the_limit_is_blamed_on_the_information_only_when_the_folds_rule_out_a_better_flexible_model(record):
    changed = copy.deepcopy(record)
    reference = "gradient boosting (reference)"
    for model in (changed["cv"]["default_model"], "claim status alone (baseline)", reference):
        _cv_auc(changed, model, 0.70, half=0.08)
    changed["cv"]["paired_roc_auc"][reference] = {"mean": -0.05, "sd": 0.10, "ci_low": -0.18, "ci_high": 0.08}  # few videos
    words = _cv_words(changed)
    assert "a more flexible kind of model does about as well." in words and "the limit is" not in words
    changed["cv"]["paired_roc_auc"][reference] = {"mean": -0.005, "sd": 0.005, "ci_low": -0.012, "ci_high": 0.002}
    assert "a more flexible kind of model does about as well, so the limit is the information" in _cv_words(changed)


def test_a_model_that_ranks_nearly_perfectly_is_not_said_to_be_limited(record):
    changed = copy.deepcopy(record)
    for model in (changed["cv"]["default_model"], "claim status alone (baseline)", "gradient boosting (reference)"):
        _cv_auc(changed, model, 0.995, half=0.004)
    words = _cv_words(changed)
    assert "a more flexible kind of model does about as well." in words and "the limit is" not in words
    _cv_auc(changed, changed["cv"]["default_model"], 0.90)
    _cv_auc(changed, "gradient boosting (reference)", 0.90)
    changed["cv"]["paired_roc_auc"]["gradient boosting (reference)"] = {"mean": 0.0, "sd": 0.005, "ci_low": -0.007, "ci_high": 0.007}
    assert "a more flexible kind of model does about as well, so the limit is the information" in _cv_words(changed)


def test_models_no_better_than_chance_are_said_to_be_so_whatever_their_means(record):
    changed = copy.deepcopy(record)
    # The random-label run: 0.491 for the model, 0.521 for gradient boosting, every interval around 0.5.
    _cv_auc(changed, changed["cv"]["default_model"], 0.491, half=0.038)
    _cv_auc(changed, "claim status alone (baseline)", 0.518, half=0.041)
    _cv_auc(changed, "gradient boosting (reference)", 0.521, half=0.038)
    words = _cv_words(changed)
    assert (
        "Neither the full model nor claim status alone nor a more flexible kind of model ranks videos measurably "
        "better than chance in cross-validation." in words
    )
    assert "ranks them better" not in words and "Yes: a flexible" not in words


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


# ---------------------------------------------------------------- the manager's page


def test_the_summary_chart_counts_flags_per_1000_from_the_confusion_matrix(record):
    (_, false_positives), (false_negatives, true_positives) = record["test_confusion_matrix"]["matrix"]
    flagged, positives = false_positives + true_positives, false_negatives + true_positives
    chart = binary_story(record)["chart"]

    assert chart == record["story"]["chart"]  # computed once, with the story
    right, wrong = (s["value"] for s in chart["bars"][0]["segments"])
    caught, missed = (s["value"] for s in chart["bars"][1]["segments"])
    assert right == pytest.approx(1000 * true_positives / flagged) and wrong == pytest.approx(1000 * false_positives / flagged)
    assert caught == pytest.approx(1000 * true_positives / positives) and missed == pytest.approx(1000 * false_negatives / positives)
    assert chart["scale"] == 1000
    assert chart["title"].lower() not in chart["alt"].lower() and chart["alt"].lower() not in chart["title"].lower()


def test_parts_of_a_bar_are_printed_so_that_they_add_up(record):
    changed = copy.deepcopy(record)
    changed["test_confusion_matrix"]["matrix"] = [[2000, 1], [22, 2380]]
    verdict = binary_story(changed)["verdict"]
    chart = binary_chart(changed, verdict)

    texts = [s["text"] for s in chart["bars"][0]["segments"]]
    assert texts == ["999.6", "0.4"]  # not "1,000" and "0.4"
    assert sum(float(t.replace(",", "")) for t in texts) == pytest.approx(1000)


def test_family_charts_put_the_model_beside_its_baseline():
    ordinal = family_chart(_family("ordinal", accuracy=0.812, accuracy_majority_baseline=0.806))
    assert [s["value"] for s in ordinal["bars"][0]["segments"]] == pytest.approx([812, 188])
    assert [s["value"] for s in ordinal["bars"][1]["segments"]] == pytest.approx([806, 194])
    assert "always guessing 'active'" in ordinal["title"]
    continuous = family_chart(_family("continuous", r2=0.0, mae=13.998, mae_mean_baseline=13.996))
    assert [bar["segments"][0]["text"] for bar in continuous["bars"]] == ["14.0", "14.0"]
    assert continuous["scale"] is None and "seconds" in continuous["title"]


def _few_positives(record: dict, n_positive: int, recall: tuple, precision: tuple) -> dict:
    changed = copy.deepcopy(record)
    changed["test"]["n_positive"] = n_positive
    for key, (low, high) in (("recall", recall), ("precision", precision)):
        changed["test_ci"][key].update(ci_low=low, ci_high=high)
    return changed


def test_rates_resting_on_few_test_positives_say_so_with_their_likely_ranges(record):
    story = binary_story(_few_positives(record, 13, (0.5524, 0.9817), (0.0617, 0.2111)))
    note = (
        "The rates measured on the test part rest on only 13 'verified' videos, so they are rough: the model could "
        "catch anywhere from 55% to 98% of all 'verified' videos, and anywhere from 6.2% to 21.1% of the videos it "
        "flags could be 'verified'."
    )
    assert story["rates_note"] == note and note in story["limitations"]
    assert not any(word in note for word in JARGON)
    # Enough positives: the rates stand as printed.
    plenty = binary_story(_few_positives(record, 50, (0.5524, 0.9817), (0.0617, 0.2111)))
    assert plenty["rates_note"] is None and not any("rest on only" in item for item in plenty["limitations"])


def test_few_test_positives_without_an_interval_are_still_called_few(record):
    nan = float("nan")
    story = binary_story(_few_positives(record, 1, (nan, nan), (None, None)))
    assert story["rates_note"] == "The rates measured on the test part rest on only 1 'verified' video, so they are rough."



def test_a_bootstrap_interval_that_does_not_move_is_no_likely_range(record):
    # Every resample of 4 positives, all caught, catches them all: that says nothing of how many
    # the model catches, so the note gives no range for it ("about 100%" would read as certain).
    caught_all = binary_story(_few_positives(record, 4, (1.0, 1.0), (0.2, 0.3)))
    assert caught_all["rates_note"] == (
        "The rates measured on the test part rest on only 4 'verified' videos, so they are rough: anywhere from "
        "20.0% to 30.0% of the videos it flags could be 'verified'."
    )
    none_caught = binary_story(_few_positives(record, 5, (0.0, 0.0), (0.0, 0.0)))
    assert none_caught["rates_note"] == "The rates measured on the test part rest on only 5 'verified' videos, so they are rough."


def test_too_few_events_per_effect_is_a_caveat_in_plain_words_with_what_to_do(record):
    changed = copy.deepcopy(record)
    effects = sum(1 for c in changed["coefficients"] if c["name"] != "const")
    changed["eda"]["class_balance"] = [{"level": "not verified", "count": 637}, {"level": "verified", "count": 52}]
    check = next(c for c in changed["assumptions"] if c["name"] == "Events per variable")
    check.update(statistic=52 / effects, verdict="fail")
    caveats = binary_story(changed)["caveats"]
    assert caveats == [
        f"The data hold only 52 'verified' videos, too few to pin down the {effects} effects the model estimates: its "
        "figures are unstable and may change with more data. Before relying on them, collect more data: at least "
        f"{20 * effects} 'verified' videos in all (20 per effect)."
    ]
    assert not any(word in caveats[0] for word in JARGON)
    check.update(verdict="warn")
    assert binary_story(changed)["caveats"] == []


JARGON = ("odds", "CI", "ROC", "AUC", "p =", "p <", "Holm", "R²", "D²", "deviance", "coefficient", "cross-valid")


@pytest.mark.parametrize(
    ("kind", "finding", "expected"),
    [
        ("continuous", {"name": "author_ban_status_under review", "effect": -1.11, "effect_ci_low": -1.87,
                        "effect_ci_high": -0.35}, "An author ban status of 'under review' rather than 'active' lowers "
                                                  "the average duration by 1.11 seconds"),
        ("count", {"name": "claim_status_opinion", "effect": 0.0099, "effect_ci_low": 0.009, "effect_ci_high": 0.011},
         "A claim status of 'opinion' rather than 'claim' goes with an expected view count only 1.0% as high"),
        ("ordinal", {"name": "video_view_count", "effect": 1.2, "effect_ci_low": 1.1, "effect_ci_high": 1.3},
         "Each additional 100,000 views makes a more severe author ban status more likely"),
    ],
)
def test_a_family_finding_reads_in_plain_words(kind, finding, expected):
    m = _family(kind)
    m["coefficients"] = [{"name": "video_view_count", "unit": "per 100,000 views"}]
    sentence = plain_family_insight({**finding, "significant": True}, m)

    assert sentence.startswith(expected), sentence
    assert not any(word in sentence for word in JARGON), sentence


def test_correlated_predictors_with_opposite_signs_are_odd_even_when_neither_is_a_finding(record):
    changed = copy.deepcopy(record)
    changed["features"]["correlated_pairs"] = [{"feature_a": config.DOWNLOADS, "feature_b": config.COMMENTS, "r": 0.83}]
    for coefficient in changed["coefficients"]:
        if coefficient["name"] in (config.DOWNLOADS, config.COMMENTS):
            coefficient["coef"] = -0.15 if coefficient["name"] == config.DOWNLOADS else 0.03
            coefficient["p_adjusted"] = 0.5
    oddities = binary_story(changed)["oddities"]

    assert any(
        item.startswith("Download count and comment count are correlated (r = 0.83) but their coefficients have "
                        "opposite signs (neither survives adjustment") for item in oddities
    ), oddities


# ---------------------------------------------------------------- the course's questions


def test_every_course_question_is_listed_once_and_answered_in_order(record):
    ids = [q.id for q in QUESTIONS]
    # The course asks some questions at more than one stage ("What resources ..."), never twice in one.
    assert len(set(ids)) == len(ids) and len({(q.stage, q.text) for q in QUESTIONS}) == len(QUESTIONS)
    assert [q.stage for q in QUESTIONS] == sorted((q.stage for q in QUESTIONS), key=STAGES.index)
    for text in ("What variables are shown to be correlated in the heatmap?", "Is my model ethical?",
                 "What business recommendations do you propose based on the models built?"):
        assert text in {q.text for q in QUESTIONS}
    assert any(q.text.startswith("When my model makes a mistake") for q in QUESTIONS)

    answers = course_answers(record)
    assert [a["id"] for a in answers] == ids
    for answer in answers:
        assert answer["blocks"] and all(answer["blocks"]), answer["id"]
        for block in answer["blocks"]:
            for sentence in [block] if isinstance(block, str) else block:
                assert not re.match(r"['\"“]?[a-z]", sentence), (answer["id"], sentence)  # no sentence starts lowercase


def test_the_heatmap_answer_lists_every_pair_over_the_cut(record):
    import numpy as np
    import pandas as pd

    matrix = pd.DataFrame(record["eda"]["pearson"]).set_index("column")
    upper = matrix.where(np.triu(np.ones(matrix.shape, dtype=bool), k=1)).stack()
    expected = upper[upper.abs() >= config.CORRELATION_REPORT_LIMIT]

    pairs = correlated_pairs(record)
    assert {(a, b) for a, b, _ in pairs} == set(expected.index) and expected.size >= 1
    answer = next(a for a in course_answers(record) if a["id"] == "correlations")
    listed = answer["blocks"][1]
    for (a, b), r in expected.items():
        assert f"Pearson r = {r:.2f}: {a} and {b}" in listed


def test_an_observed_difference_is_said_to_hold_only_when_the_adjusted_effect_agrees(record):
    changed = copy.deepcopy(record)
    finding = next(f for f in changed["findings"] if f["significant"] and f["name"].startswith(config.CLAIM))
    insight = next(s for s in binary_story(changed)["insights"] if "whose claim status is" in s)
    assert "the difference holds" in insight
    finding["odds_ratio"] = 1 / finding["odds_ratio"]  # the adjusted effect now points the other way
    insight = next(s for s in binary_story(changed)["insights"] if "whose claim status is" in s)
    assert "the difference reverses" in insight and "holds" not in insight


@pytest.mark.parametrize("constant", [[config.SHARES], "all"])
def test_the_heatmap_answer_stands_when_a_constant_column_has_no_correlation(record, constant):
    changed = copy.deepcopy(record)
    rows = changed["eda"]["pearson"]
    names = [row["column"] for row in rows]
    undefined = set(names) if constant == "all" else set(constant)
    for row in rows:  # metrics.json writes the NaN r of a constant column as null
        for name in names:
            if name != row["column"] and (name in undefined or row["column"] in undefined):
                row[name] = None
    answer = next(a for a in course_answers(changed) if a["id"] == "correlations")
    text = " ".join(block if isinstance(block, str) else " ".join(block) for block in answer["blocks"])
    assert all(config.SHARES not in (a, b) for a, b, _ in correlated_pairs(changed))
    if constant == "all":
        assert "No correlation of the heatmap's columns is defined" in text
    else:
        assert f"{config.SHARES} (constant in these rows: its r is undefined)" in text or config.SHARES not in text
