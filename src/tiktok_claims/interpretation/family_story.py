"""The story every document tells of an ordinal, count or continuous outcome, from what this run measured."""

from __future__ import annotations

from .effects import UNIT_NAMES
from .subjects import subject
from .summary import METHODS, error_digits, family_chart, plain_family_insight, plain_outcome

# Continuous and count models that explain less than this share (R², D²) on new videos
# have no practical predictive value.
NEGLIGIBLE_SHARE = 0.02


def family_story(m: dict) -> dict:
    """The story of an ordinal, count or continuous outcome's run, from its metrics record."""
    target = m["target"]
    words = subject(target)
    kind = m["outcome_type"]
    test = m["test"]
    name = plain_outcome(target)
    significant = [f for f in m["findings"] if f["significant"]]
    per_step = m.get("proportional_odds_holds") is False
    tests = sum(1 for c in (m["cut_coefficients"] if per_step else m["coefficients"]) if c["name"] != "const")
    if kind == "ordinal":
        majority = m["test_majority_level"]
        if test["accuracy"] <= test["accuracy_majority_baseline"]:
            level = "no_better_than_majority"
            headline = (
                f"Its predictions are no better than always guessing '{majority}' (right for {test['accuracy']:.1%} "
                f"of new videos, against {test['accuracy_majority_baseline']:.1%}): do not use them; read only the "
                "associations."
            )
        else:
            level = "associations"
            headline = (
                f"It is right for {test['accuracy']:.1%} of new videos against {test['accuracy_majority_baseline']:.1%} "
                f"for always guessing '{majority}': use its associations, and its predictions only with care."
            )
    else:
        # The share of variance (R²) or of Poisson deviance (D²) the model explains decides; the words quote the
        # average error, which a reader can picture.
        share = test["r2"] if kind == "continuous" else test["d2_poisson_deviance"]
        unit = UNIT_NAMES[target]
        digits = error_digits(test)
        off = f"off by {test['mae']:,.{digits}f} {unit} on average, against {test['mae_mean_baseline']:,.{digits}f}"
        if share < NEGLIGIBLE_SHARE:
            level = "no_practical_value"
            headline = (
                f"No characteristic matters in practice: on new videos the model predicts {name} "
                f"{'hardly' if share > 0 else 'no'} better than always predicting the average (its predictions are "
                f"{off} for the average)."
            )
        else:
            level = "associations"
            headline = (
                f"The model predicts {name} better than the average does: on new videos its predictions are {off} for "
                "always predicting the average."
            )
    recommendations = [
        f"Operations: do not use this model's predictions for decisions about {words.decisions}."
        if level != "associations"
        else f"Operations: use the associations in the report for planning, not for decisions about {words.decisions}.",
    ]
    listed = ", ".join(f["label"] for f in significant[:3])
    several = len(significant) > 1
    if significant and level == "no_practical_value":
        recommendations.append(
            f"Data team: the association{'s' if several else ''} that survive{'' if several else 's'} adjustment for "
            f"{tests} tests ({listed}) {'are' if several else 'is'} statistically detectable but too small to matter "
            f"in practice; do not build on {'them' if several else 'it'}."
        )
    elif significant:
        recommendations.append(
            f"Data team: report {listed} to Operations as the characteristic{'s' if several else ''} linked to "
            f"{name} ({'each survives' if several else 'it survives'} adjustment for {tests} tests), and try any "
            "policy built on it on a sample of videos before rolling it out."
        )
    else:
        recommendations.append(
            f"Data team: no characteristic survives adjustment for {tests} tests; look for other information before "
            f"modelling {name} again."
        )
    oddities = []
    if m.get("proportional_odds_holds") is False:
        oddities.append(
            "The proportional-odds assumption fails: the characteristics relate differently to each step of the "
            "order, so effects are reported per step."
        )
    if kind == "count" and test["predictions_above_observed_max"]:
        oddities.append(
            f"{test['predictions_above_observed_max']:,} test predictions exceed the largest {name} seen in training "
            f"({test['largest_training']:,.0f}; largest prediction {test['largest_prediction']:,.0f}): they extrapolate."
        )
    return {
        "question": words.question,
        "title": words.title,
        "purpose": words.purpose,
        "verdict": {"level": level, "headline": headline},
        "recommendations": recommendations,
        "insights": [plain_family_insight(f, m) for f in significant[:4]] or [headline],
        "method": METHODS[kind],
        "chart": family_chart(m),
        # A binary model's qualifiers (few positives behind its rates, too few events per effect) have no
        # counterpart checked for these outcomes.
        "rates_note": None,
        "caveats": [],
        "tests": tests,
        "oddities": oddities,
    }
