"""The story every document tells of an ordinal, count or continuous outcome, from what this run measured."""

from __future__ import annotations

from .findings import OUTCOME_NAMES
from .subjects import subject

# Continuous and count models that explain less than this share (R², D²) on new videos
# have no practical predictive value.
NEGLIGIBLE_SHARE = 0.02


def family_story(m: dict) -> dict:
    """The story of an ordinal, count or continuous outcome's run, from its metrics record."""
    target = m["target"]
    words = subject(target)
    kind = m["outcome_type"]
    test = m["test"]
    name = OUTCOME_NAMES.get(target, target.replace("video_", "").replace("_", " "))
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
        share = test["r2"] if kind == "continuous" else test["d2_poisson_deviance"]
        measure = "variance" if kind == "continuous" else "Poisson deviance"
        if share < NEGLIGIBLE_SHARE:
            level = "no_practical_value"
            explains = f"{share:.1%} of the {measure}" if share > 0 else f"none of the {measure}"
            headline = (
                f"No characteristic matters in practice: on new videos the model explains {explains} of {name} "
                f"({'R²' if kind == 'continuous' else 'D²'} {share:.3f}), no better than always predicting the average."
            )
        else:
            level = "associations"
            headline = (
                f"The model explains {share:.1%} of the {measure} of {name} on new videos (mean absolute error "
                f"{test['mae']:,.0f} against {test['mae_mean_baseline']:,.0f} for always predicting the average)."
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
            f"Data team: treat {listed} as the characteristic{'s' if several else ''} linked to {name} "
            f"({'each survives' if several else 'it survives'} adjustment for {tests} tests), and test any policy "
            "idea before relying on it."
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
        "insights": [f["sentence"] for f in significant[:4]] or [headline],
        "tests": tests,
        "oddities": oddities,
    }
