"""The manager's page: the chart that carries the verdict, and the plain words around it.

The executive summary is read by people who do not use the words of statistics, so what
it prints is built here in plain words: how often a ranking beats a coin toss "in 66 of
100 pairs", a finding as the direction and size of a difference, "likely range" for an
interval. The chart's numbers are computed once, here, from the run's metrics record;
they are stored with the story (``metrics.json``) and the figure is drawn from them.
"""

from __future__ import annotations

import math

from .. import config
from ..diagnostics.logistic import EPV_WARN, EVENTS_CHECK
from .effects import UNIT_NAMES, split_dummy, term_label
from .wording import PERCENT_RANGE, capitalized, change_phrase, indefinite, per_1000, percent

METHODS = {
    "binary": "a logistic regression, a standard method for yes/no outcomes",
    "ordinal": "an ordinal regression, a standard method for ordered categories",
    "count": "a regression for counts",
    "continuous": "a linear regression",
}
"""How the summary names the model, by outcome type."""
PER = 1000
CHART_NAME = "verdict"
# Below this many positives in the test part, the rates the page quotes (the share of flags that are right, the
# share of positives caught) are said to rest on few videos, with their likely ranges. A share of n videos is
# uncertain by up to 1.96·√(0.25 / n) either way (95%): with 50 that is ±14 percentage points (±10 at a share
# of 85%), about as loose as a figure to plan with can be; with fewer it widens fast (±27 points with 13).
FEW_TEST_POSITIVES = 50


def binary_chart(m: dict, verdict: dict) -> dict:
    """What the flags of a binary model are worth, per 1,000: right and wrong flags, caught and missed positives."""
    positive, test_rows = m["positive_class"], m["test"]["n"]
    right, wrong = verdict["right_per_1000_flagged"], verdict["false_per_1000_flagged"]
    missed = verdict["missed_per_1000_positives"]
    caught = PER - missed
    flagged = _same_digits([_segment(f"'{positive}'", right), _segment(f"not '{positive}'", wrong)])
    positives = _same_digits([_segment("flagged", caught), _segment("missed", missed)])
    title = (
        f"Of every 1,000 videos the model flags, {flagged[0]['text']} are '{positive}'; of every 1,000 "
        f"'{positive}' videos, it flags {positives[0]['text']} (test part, {test_rows:,} videos)."
    )
    alt = (
        f"Two horizontal bars, each 1,000 videos long. The first stands for the videos the model flags: a solid "
        f"part of {flagged[0]['text']} that are '{positive}', then a hatched part of {flagged[1]['text']} "
        f"that are not. The second stands for the '{positive}' videos: a solid part of {positives[0]['text']} "
        f"the model flags, then a hatched part of {positives[1]['text']} it misses."
    )
    return {
        "name": CHART_NAME,
        "title": title,
        "alt": alt,
        "scale": PER,
        "bars": [
            {"label": "Of every 1,000 videos the model flags", "segments": flagged},
            {"label": f"Of every 1,000 '{positive}' videos", "segments": positives},
        ],
    }


def few_positives_note(m: dict) -> str | None:
    """How few positives of the test part the page's rates rest on, with their likely ranges (the test part's
    bootstrap intervals); ``None`` when there are enough to quote the rates as they are."""
    positive, count, intervals = m["positive_class"], m["test"]["n_positive"], m["test_ci"]
    if count >= FEW_TEST_POSITIVES:
        return None
    ranges = [
        text for text in (
            _likely(intervals["recall"], 0, f"the model could catch {{}} of all '{positive}' videos"),
            _likely(intervals["precision"], 1, f"{{}} of the videos it flags could be '{positive}'"),
        ) if text
    ]
    return (
        f"The rates measured on the test part rest on only {count:,} '{positive}' video{'' if count == 1 else 's'}, "
        "so they are rough" + (": " + ", and ".join(ranges) if ranges else "") + "."
    )


def _likely(interval: dict, digits: int, clause: str) -> str | None:
    """``clause`` with a share's likely range filled in, or ``None`` when the bootstrap gave no range.

    An interval that does not move (every resample of a few videos gives the same share, e.g.
    all of them caught, or none flagged) is no range: the resamples cannot show the shares
    they never drew, and "about 100%" would read as certain where the note says "rough".
    """
    low, high = interval["ci_low"], interval["ci_high"]
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (low, high)):
        return None
    low_text, high_text = percent(low, digits), percent(high, digits)
    if low_text == high_text:
        return None
    return clause.format(f"anywhere from {low_text} to {high_text}")


def too_few_events(m: dict) -> list[str]:
    """The failed events-per-variable check in plain words, with what to do: ``[]`` when it did not fail."""
    check = next((c for c in m.get("assumptions", ()) if c["name"] == EVENTS_CHECK), None)
    if check is None or check["verdict"] != "fail":
        return []
    effects = sum(1 for c in m["coefficients"] if c["name"] != "const")
    rarer = min(m["eda"]["class_balance"], key=lambda row: row["count"])
    return [
        f"The data hold only {rarer['count']:,} '{rarer['level']}' videos, too few to pin down the {effects} effects "
        "the model estimates: its figures are unstable and may change with more data. Before relying on them, collect "
        f"more data: at least {math.ceil(EPV_WARN * effects):,} '{rarer['level']}' videos in all "
        f"({EPV_WARN:g} per effect)."
    ]


def family_chart(m: dict) -> dict:
    """The model beside its baseline on new videos: right guesses per 1,000 (ordinal) or the average error."""
    test, target, kind = m["test"], m["target"], m["outcome_type"]
    name = plain_outcome(target)
    rows = m["split"]["test_rows"]
    if kind == "ordinal":
        majority = m["test_majority_level"]
        model = _same_digits([_segment("right", PER * test["accuracy"]), _segment("wrong", PER * (1 - test["accuracy"]))])
        baseline = _same_digits([
            _segment("right", PER * test["accuracy_majority_baseline"]),
            _segment("wrong", PER * (1 - test["accuracy_majority_baseline"])),
        ])
        return {
            "name": CHART_NAME,
            "title": (
                f"Of every 1,000 new videos, the model's guess of {name} is right for {model[0]['text']}; always "
                f"guessing '{majority}' is right for {baseline[0]['text']} (test part, {rows:,} videos)."
            ),
            "alt": (
                f"Two horizontal bars, each 1,000 videos long, split into a solid part of right guesses and a hatched "
                f"part of wrong ones: {model[0]['text']} and {model[1]['text']} for the model, {baseline[0]['text']} "
                f"and {baseline[1]['text']} for always guessing '{majority}'."
            ),
            "scale": PER,
            "bars": [
                {"label": "The model's most likely level", "segments": model},
                {"label": f"Always guessing '{majority}'", "segments": baseline},
            ],
        }
    unit, digits = UNIT_NAMES.get(target, ""), error_digits(test)
    model, baseline = (
        {"label": f"{unit} off on average", "value": float(value), "text": f"{value:,.{digits}f}"}
        for value in (test["mae"], test["mae_mean_baseline"])
    )
    return {
        "name": CHART_NAME,
        "title": (
            f"On new videos the model's predictions of {name} are off by {model['text']} {unit} on average; always "
            f"predicting the average is off by {baseline['text']} (test part, {rows:,} videos)."
        ),
        "alt": (
            f"Two horizontal bars on one scale, the average distance between prediction and truth: "
            f"{model['text']} {unit} for the model, {baseline['text']} {unit} for always predicting the average "
            "(a shorter bar is better)."
        ),
        "scale": None,
        "bars": [
            {"label": "The model's predictions", "segments": [model]},
            {"label": "Always predicting the average", "segments": [baseline]},
        ],
    }


def _segment(label: str, value: float) -> dict:
    return {"label": label, "value": float(value), "text": _amount(value)}


def _amount(value: float) -> str:
    return per_1000(value) if value < PER else f"{value:,.0f}"


def _same_digits(segments: list[dict]) -> list[dict]:
    """Parts of one bar printed to the same decimals, so that they add up to the bar as printed (999.6 and 0.4)."""
    small = any(0 < s["value"] < 9.95 for s in segments)
    if small:
        return [{**s, "text": f"{s['value']:,.1f}"} for s in segments]
    return segments


def error_digits(test: dict) -> int:
    """Decimals for an average error: none for errors of 100 or more, one below."""
    return 0 if min(test["mae"], test["mae_mean_baseline"]) >= 100 else 1


def plain_outcome(target: str) -> str:
    """``view count``, ``duration``, ``author ban status``: an outcome as a reader names it."""
    return term_label(target) if target in UNIT_NAMES else target.replace("_", " ")


def plain_family_insight(finding: dict, m: dict) -> str:
    """A surviving finding of an ordinal, count or continuous model as its direction and size, without statistics' words."""
    name, kind = plain_outcome(m["target"]), m["outcome_type"]
    actor = _actor(finding["name"], m)
    adjusted = "once the other characteristics are taken into account"
    if finding.get("per_step"):
        return (
            f"{actor} goes with a different {name}, {adjusted}; how much differs between the steps of its order "
            "(the report gives each)."
        )
    effect = finding["effect"]
    if kind == "ordinal":
        return f"{actor} makes a more severe {name} {'more' if effect > 1 else 'less'} likely, {adjusted}."
    if m["family"] == "ols":
        unit = UNIT_NAMES.get(m["target"], "")
        direction = "raises" if effect > 0 else "lowers"
        low, high = sorted(abs(finding[key]) for key in ("effect_ci_low", "effect_ci_high"))
        return (
            f"{actor} {direction} the average {name} by {abs(effect):,.2f} {unit}, {adjusted} (likely range "
            f"{low:,.2f} to {high:,.2f} {unit})."
        )
    what = f"typical {name}" if m["family"] == "log_ols" else f"expected {name}"
    if effect < PERCENT_RANGE[0]:  # a fraction reads better as a share than as "multiplies by 0.0102"
        return f"{actor} goes with {indefinite(what)} only {percent(effect)} as high, {adjusted}."
    return f"{actor} {change_phrase(effect, 'the ' + what)}, {adjusted}."


def _actor(term: str, m: dict) -> str:
    """``Each additional 10 seconds`` or ``A claim status of 'opinion' rather than 'claim'``."""
    if term in UNIT_NAMES:
        unit = next((c["unit"] for c in m["coefficients"] if c["name"] == term), f"per 1 {UNIT_NAMES[term]}")
        return "Each " + ("additional " if not unit.startswith("per doubling") else "") + unit.removeprefix("per ")
    column, level = split_dummy(term)
    return capitalized(indefinite(f"{column.replace('_', ' ')} of '{level}' rather than '{config.CATEGORIES[column][0]}'"))
