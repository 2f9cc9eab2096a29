"""The leakage audit's "before" numbers: the course's recipe on the real data gives the
figures the course published, and the explanation quotes them."""

from __future__ import annotations

import pytest

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
    assert f"{audit.course['precision']:.2f}" in text
