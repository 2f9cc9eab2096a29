"""The leakage audit (``evaluation/leakage.py``): the course's recipe on the real data gives
the figures the course published, its copies of test rows recounted by hand, and the
explanation quotes both sets of numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split
from sklearn.utils import resample

from tiktok_claims import config
from tiktok_claims.evaluation.leakage import explain

# The course's upsample-then-split recipe on the real data, as published (3 decimals).
COURSE_PUBLISHED = {"precision": 0.645, "recall": 0.837, "accuracy": 0.686, "roc_auc": 0.703}


@pytest.fixture(scope="module")
def audit(real_analysis):
    return real_analysis.leakage


def test_course_recipe_reproduces_the_published_figures(audit):
    for metric, published in COURSE_PUBLISHED.items():
        assert round(audit.course[metric], 3) == published, metric
    assert audit.course["converged"]


def test_course_test_part_is_artificially_balanced_and_shares_rows_with_training(audit):
    assert 0.45 < audit.course["test_base_rate"] < 0.55
    assert 0.3 < audit.course["test_rows_with_copy_in_training"] < 1


def test_explanation_quotes_the_course_numbers(audit):
    text = " ".join(audit.explanation)

    assert f"{audit.course['test_rows_with_copy_in_training']:.0%}" in text
    assert f"{audit.course['precision']:.3f}" in text
    assert f"draws {audit.course['drawn']:,} 'verified' rows" in text and f"from the {audit.course['minority_rows']:,} there are" in text


def test_course_test_rows_with_a_copy_in_training_are_counted_by_hand(real_dataset, real_analysis):
    """The share of test rows that are copies of training rows, recounted from the recipe's steps by row label."""
    frame, seed = real_dataset.frame, real_analysis.seed
    verified = frame[config.VERIFIED] == "verified"
    copies = resample(frame[verified], replace=True, n_samples=int((~verified).sum()), random_state=seed)
    data = pd.concat([frame[~verified], copies])
    train_rows, test_rows = train_test_split(data.index.to_numpy(), test_size=config.TEST_SIZE, random_state=seed)

    assert real_analysis.leakage.course["test_rows_with_copy_in_training"] == pytest.approx(
        np.isin(test_rows, train_rows).mean(), rel=1e-12
    )
    assert real_analysis.leakage.course["test_base_rate"] == pytest.approx(verified.loc[test_rows].mean(), rel=1e-12)


# ---------------------------------------------------------------- made-up numbers


def test_explanation_quotes_both_sets_of_numbers_and_says_when_the_fit_did_not_converge():
    course = {"test_rows_with_copy_in_training": 0.612, "test_base_rate": 0.5, "precision": 0.6454, "converged": False,
              "iterations": 800, "minority_class": "verified", "copies_added": 16_700, "drawn": 17_900,
              "minority_rows": 1_200}
    honest = {"base_rate": 0.0628, "precision": 0.1234}

    audit = explain(course, honest, positive="verified", honest_precision_ci=(0.11, 0.14))

    first, second, third = audit.explanation
    assert "draws 17,900 'verified' rows (the smaller class) with replacement from the 1,200 there are" in first
    assert "61% of its test rows have an exact copy" in first
    assert "50% 'verified' instead of the real 6.3%" in second
    assert "inflate precision from 0.123 (honest, natural prevalence) to 0.645" in second
    assert "stopped at 800 iterations without converging" in third
    assert audit.course is course and audit.inflated
    assert len(explain({**course, "converged": True}, honest, "verified", (0.11, 0.14)).explanation) == 2


@pytest.mark.parametrize(("interval", "inflated", "words"), [((0.6, 0.7), False, "stays within"), ((0.7, 0.8), False, "lowers")])
def test_a_course_precision_inside_or_below_the_honest_interval_is_not_called_inflated(interval, inflated, words):
    course = {"test_rows_with_copy_in_training": 0.27, "test_base_rate": 0.5, "precision": 0.6454, "converged": True,
              "iterations": 100, "minority_class": "opinion", "copies_added": 132, "drawn": 9_608, "minority_rows": 9_476}
    audit = explain(course, {"base_rate": 0.503, "precision": 0.65}, "claim", interval)
    assert audit.inflated is inflated
    text = " ".join(audit.explanation)
    assert words in text and "inflate" not in text and "close to the real one" in text
