"""The wording rules (interpretation/wording.py): ratios, intervals, changes, the bound."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tiktok_claims.interpretation.wording import (
    RATIO_BOUND,
    change_phrase,
    format_interval,
    format_p,
    format_ratio,
    indefinite,
    pairs_of_100,
    per_1000,
    percent,
    within_bound,
)


@pytest.mark.parametrize(
    ("low", "high"),
    [(1.0004, 1.06), (0.75, 0.99951), (0.9996, 1.0004), (1.0000004, 2.5), (0.031, 0.99999)],
)
def test_an_interval_never_prints_as_touching_1_when_it_does_not(low, high):
    shown_low, shown_high = (float(part) for part in format_interval(low, high).split("–"))
    assert (shown_low > 1) == (low > 1) and (shown_low < 1) == (low < 1)
    assert (shown_high > 1) == (high > 1) and (shown_high < 1) == (high < 1)


def test_random_intervals_keep_their_side_of_1():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        low = math.exp(rng.normal(0, 0.01))
        high = low * math.exp(abs(rng.normal(0, 0.01)))
        shown_low, shown_high = (float(part) for part in format_interval(low, high).split("–"))
        assert (shown_low > 1) == (low > 1) and (shown_high < 1) == (high < 1)


def test_an_ordinary_interval_keeps_two_decimals():
    assert format_interval(4.2581, 8.4432) == "4.26–8.44"


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (1.13, "raises the odds by 13%"),
        (0.87, "lowers the odds by 13%"),
        (6.0, "multiplies the odds by 6.00"),
        (0.31, "multiplies the odds by 0.31"),
        (1.001, "multiplies the odds by 1.00"),  # a change that rounds to 0% is not a percentage
        (1.4e-06, "multiplies the odds by 1.4e-06"),
    ],
)
def test_percentages_only_where_they_read_naturally(ratio, expected):
    assert change_phrase(ratio, "the odds") == expected


def test_the_bound_is_symmetric_and_refuses_non_finite_ratios():
    assert within_bound(RATIO_BOUND, 1 / RATIO_BOUND, 1.0)
    assert not within_bound(RATIO_BOUND * 1.01)
    assert not within_bound(1 / RATIO_BOUND / 1.01)
    assert not within_bound(math.inf)
    assert not within_bound(math.nan)


def test_p_values_and_ratios_and_rates():
    assert format_p(0.0004) == "p < 0.001" and format_p(0.0234) == "p = 0.023"
    assert format_ratio(0.05) == "0.05" and format_ratio(12345.0) == "1.23e+04" and format_ratio(2.5) == "2.50"
    assert format_ratio(math.inf) == "∞"
    assert per_1000(0.42) == "0.4" and per_1000(44.2) == "44" and per_1000(0) == "0"


def test_a_share_reads_0_or_100_percent_only_when_it_is():
    rng = np.random.default_rng(0)
    near_edges = 10.0 ** -rng.uniform(3, 7, 2000)
    for share in [*near_edges, *(1 - near_edges), *rng.uniform(0, 1, 2000)]:
        text = percent(share)
        shown = float(text.rstrip("%"))
        assert 0 < shown < 100, (share, text)
        decimals = len(text.rstrip("%").partition(".")[2])
        assert abs(shown - 100 * share) <= 0.5 * 10.0**-decimals + 1e-9


def test_a_share_keeps_its_digits_where_rounding_hides_nothing():
    assert (percent(0.104), percent(0.991, 0), percent(1.0), percent(0.0)) == ("10.4%", "99%", "100.0%", "0.0%")
    assert (percent(0.9996), percent(0.996, 0)) == ("99.96%", "99.6%")


@pytest.mark.parametrize(
    ("auc", "text"),
    [(0.664, "66 of 100"), (0.5, "50 of 100"), (0.998, "more than 99 of 100"), (1.0, "100 of 100"),
     (0.004, "fewer than 1 of 100"), (0.0, "0 of 100"), (0.995, "more than 99 of 100"), (0.9949, "99 of 100")],
)
def test_a_ranking_reads_as_pairs_of_100_never_rounded_to_perfect(auc, text):
    assert pairs_of_100(auc) == text


def test_the_indefinite_article_follows_the_first_sound():
    assert indefinite("author ban status of 'banned'") == "an author ban status of 'banned'"
    assert indefinite("claim status of 'opinion'") == "a claim status of 'opinion'"
