"""One sentence per model term, with the numbers it quotes: the findings every document reports.

The rules that make a finding worth reporting:

* **Multiplicity.** A term is a *key* finding only if its Holm-adjusted p-value (across
  the model's terms, the constant excluded) is below ``alpha``; every sentence says so.
  The others are said plainly to be indistinguishable from no association.
* **Stability.** Where bootstrap refits were run, each sentence gives the share of refits
  in which the term was significant after the same adjustment.
* **A scale that means something.** A per-unit ratio beyond
  :data:`~tiktok_claims.interpretation.wording.RATIO_BOUND` (near or complete
  separation) is never printed; the sentence gives the average change in the predicted
  probability per standard deviation (or per level) instead.
"""

from __future__ import annotations

import math

import pandas as pd

from .. import config
from ..approach import Approach, Family, OutcomeKind
from .effects import EFFECT_NAMES, EFFECT_SHORT, INTERACTION, UNIT_NAMES, is_compound, split_dummy, term_label
from .wording import (
    RATIO_BOUND,
    change_phrase,
    format_interval,
    format_p,
    format_ratio,
    percentage_points,
    within_bound,
)

OUTCOME_NAMES = {config.DURATION: "video duration (seconds)"}


def outcome_phrase(approach: Approach) -> str:
    """How sentences name the modelled quantity (the odds of the positive class, the expected count, ...)."""
    target = approach.target
    if approach.kind is OutcomeKind.BINARY:
        if target == config.VERIFIED:
            return "coming from a verified account"
        if target == config.CLAIM:
            return f"being a {approach.positive_class}"
        return f"{target.replace('_', ' ')} being '{approach.positive_class}'"
    name = OUTCOME_NAMES.get(target, target.replace("_", " "))
    if approach.kind is OutcomeKind.ORDINAL:
        return f"the odds of a more severe {name}"
    if approach.family is Family.LOG_OLS:
        return f"the typical (geometric-mean) {name}"
    return f"the expected {name}"


def key_findings(table: pd.DataFrame, outcome_phrase: str, alpha: float = 0.05) -> list[dict]:
    """One sentence per term of a logistic model, strongest evidence first.

    ``table`` is a :func:`~tiktok_claims.interpretation.effects.coefficient_table`, with
    ``probability_change`` and, when bootstrap refits were run, ``stable_sign``,
    ``stable_significance`` and ``refits`` beside it. Each finding keeps the numbers it
    quotes so that every report can trace them to ``metrics.json``.
    """
    findings = []
    terms = table[table["name"] != "const"].sort_values(["p_adjusted", "p_value"])
    tests = len(terms)
    for row in terms.itertuples(index=False):
        bounded = within_bound(row.odds_ratio, row.or_ci_low, row.or_ci_high)
        evidence = _evidence(row, tests, alpha)
        if not bounded:
            direction = "positive" if row.coef > 0 else "negative"
            which = "its odds ratio" if not within_bound(row.odds_ratio) else "the 95% interval of its odds ratio"
            sentence = (
                f"Holding the other characteristics fixed, the association of {term_label(row.name)} with "
                f"{outcome_phrase} is {direction} ({evidence}), but {which} {row.unit} lies outside "
                f"{1 / RATIO_BOUND:g}–{RATIO_BOUND:,.0f} because the classes (nearly) separate, so no odds ratio is "
                + (
                    f"quoted; {_probability_step(row)} changes the average predicted probability by "
                    f"{percentage_points(row.probability_change)}."
                    if not is_compound(row.name) else f"quoted. {_compound_reading(row.name)}"
                )
            )
        elif is_compound(row.name):
            sentence = (
                f"The {'interaction' if INTERACTION in row.name else 'curvature'} term {term_label(row.name)} multiplies "
                f"the odds of {outcome_phrase} by {format_ratio(row.odds_ratio)} {row.unit} "
                f"(95% CI {format_interval(row.or_ci_low, row.or_ci_high)}; {evidence}). {_compound_reading(row.name)}"
            )
        elif row.name in UNIT_NAMES:
            change = (
                f"each doubling of (1 + {UNIT_NAMES[row.name]})" if row.log1p
                else f"each additional {row.unit_size:,.0f} {UNIT_NAMES[row.name]}"
            )
            sentence = (
                f"Holding the other characteristics fixed, {change} {change_phrase(row.odds_ratio, f'the odds of {outcome_phrase}')} "
                f"(odds ratio {format_ratio(row.odds_ratio)}, 95% CI {format_interval(row.or_ci_low, row.or_ci_high)}; {evidence})."
            )
        else:
            column, level = split_dummy(row.name)
            noun, reference = column.replace("_", " "), config.CATEGORIES[column][0]
            sentence = (
                f"Holding the other characteristics fixed, videos whose {noun} is '{level}' have "
                f"{format_ratio(row.odds_ratio)} times the odds of {outcome_phrase} of those whose {noun} is "
                f"'{reference}' (95% CI {format_interval(row.or_ci_low, row.or_ci_high)}; {evidence})."
            )
        findings.append(
            _finding(
                row, sentence, tests, alpha, bounded,
                odds_ratio=row.odds_ratio,
                or_ci_low=row.or_ci_low,
                or_ci_high=row.or_ci_high,
                probability_change=row.probability_change,
                stable_significance=getattr(row, "stable_significance", None),
            )
        )
    return findings


def family_findings(table: pd.DataFrame, family: Family, outcome_phrase: str, alpha: float = 0.05) -> list[dict]:
    """One sentence per term of a non-binary model, strongest evidence first, with its numbers."""
    exponentiated = family is not Family.OLS
    short = EFFECT_SHORT[EFFECT_NAMES[family]]
    terms = table[table["name"] != "const"].sort_values(["p_adjusted", "p_value"])
    tests = len(terms)
    findings = []
    for row in terms.itertuples(index=False):
        evidence = _evidence(row, tests, alpha)
        change = _family_change(row.name, row.unit)
        bounded = not exponentiated or within_bound(row.effect, row.effect_ci_low, row.effect_ci_high)
        held = f"Holding the other characteristics fixed, {change}"
        if not bounded:
            sentence = (
                f"{held} goes with a {short} (or an interval of it) outside {1 / RATIO_BOUND:g}–{RATIO_BOUND:,.0f} "
                f"for {outcome_phrase}, too extreme to be meaningful ({evidence})."
            )
        elif exponentiated:
            sentence = (
                f"{held} {change_phrase(row.effect, outcome_phrase)} ({short} {format_ratio(row.effect)}, "
                f"95% CI {format_interval(row.effect_ci_low, row.effect_ci_high)}; {evidence})."
            )
        else:
            sentence = (
                f"{held} changes {outcome_phrase} by {row.effect:+,.2f} "
                f"(95% CI {row.effect_ci_low:+,.2f} to {row.effect_ci_high:+,.2f}; {evidence})."
            )
        findings.append(
            _finding(
                row, sentence, tests, alpha, bounded,
                effect=float(row.effect),
                effect_ci_low=float(row.effect_ci_low),
                effect_ci_high=float(row.effect_ci_high),
            )
        )
    return findings


def _finding(row, sentence: str, tests: int, alpha: float, bounded: bool, **numbers) -> dict:
    """A term's finding: its sentence (with the adjustment's verdict when it does not survive) and the numbers it quotes."""
    significant = bool(row.p_adjusted < alpha)
    if not significant:
        sentence += f" Once the {tests} tests are adjusted for, this is indistinguishable from no association."
    return {
        "name": row.name,
        "label": term_label(row.name),
        "sentence": sentence,
        **numbers,
        "bounded": bounded,
        "p_value": float(row.p_value),
        "p_adjusted": float(row.p_adjusted),
        "significant": significant,
    }


def _family_change(name: str, unit: str) -> str:
    """``each additional 10 seconds`` or ``videos whose claim status is 'opinion' rather than 'claim'``."""
    if name in UNIT_NAMES:
        return "each " + str(unit).removeprefix("per ")
    column, level = split_dummy(name)
    return f"videos whose {column.replace('_', ' ')} is '{level}' rather than '{config.CATEGORIES[column][0]}'"


def _compound_reading(name: str) -> str:
    """How to read a formula's interaction or curvature term: beside the terms it modifies."""
    if INTERACTION in name:
        return "It changes the effects of its parts where they occur together, so it is read beside them, not alone."
    return "It bends the effect of its column, so it is read with that column's linear term, not alone."


def _evidence(row, tests: int, alpha: float) -> str:
    """``p = 0.004, Holm-adjusted over 8 terms p = 0.03; significant in 78% of 200 refits``."""
    text = f"{format_p(row.p_value)}; Holm-adjusted over {tests} terms {format_p(row.p_adjusted)}"
    share = getattr(row, "stable_significance", None)
    refits = getattr(row, "refits", None)
    if share is not None and refits and not math.isnan(share):
        text += f"; significant in {share:.0%} of {int(refits)} bootstrap refits"
    return text


def _probability_step(row) -> str:
    """``100,000 more views`` or ``'banned' instead of 'active' author ban status``."""
    if row.name in UNIT_NAMES:
        if row.log1p:
            return f"doubling (1 + {UNIT_NAMES[row.name]})"
        return f"{row.unit_size:,.0f} more {UNIT_NAMES[row.name]}"
    column, level = split_dummy(row.name)
    return f"a {column.replace('_', ' ')} of '{level}' rather than '{config.CATEGORIES[column][0]}'"


def cut_findings(table: pd.DataFrame, levels: tuple[str, ...], alpha: float = 0.05) -> list[dict]:
    """Per-step sentences of an ordinal outcome whose proportional-odds assumption fails.

    One sentence per term, giving its odds ratio at each step of the order ("at least
    'under review'", "'banned'"), each with its interval and Holm-adjusted p-value
    (over every step and term); ``significant`` when any step survives the adjustment.
    Whether a given term's effect differs between the steps is not tested (only the
    proportional-odds assumption as a whole is), so the sentence does not claim it.
    """
    terms = table[table["name"] != "const"]
    tests = len(terms)
    findings = []
    for name, rows in terms.groupby("name", sort=False):
        rows = rows.set_index("cut").loc[[level for level in levels[1:] if level in set(rows["cut"])]]
        parts = []
        for level, row in rows.iterrows():
            reached = f"'{level}'" if level == levels[-1] else f"at least '{level}'"
            if within_bound(row["effect"], row["effect_ci_low"], row["effect_ci_high"]):
                value = (
                    f"odds ratio {format_ratio(row['effect'])} for reaching {reached} "
                    f"(95% CI {format_interval(row['effect_ci_low'], row['effect_ci_high'])}; "
                    f"Holm-adjusted {format_p(row['p_adjusted'])})"
                )
            else:
                value = f"an odds ratio outside {1 / RATIO_BOUND:g}–{RATIO_BOUND:,.0f} for reaching {reached} (not meaningful)"
            parts.append(value)
        change = _family_change(name, rows.iloc[0]["unit"])
        significant = bool((rows["p_adjusted"] < alpha).any())
        sentence = f"Holding the other characteristics fixed, {change}: {'; '.join(parts)}."
        if not significant:
            sentence += f" Once the {tests} tests are adjusted for, no step differs from no association."
        best = rows.loc[rows["p_adjusted"].idxmin()]
        findings.append(
            {
                "name": name,
                "label": term_label(name),
                "sentence": sentence,
                "effect": float(best["effect"]),
                "effect_ci_low": float(best["effect_ci_low"]),
                "effect_ci_high": float(best["effect_ci_high"]),
                "bounded": within_bound(best["effect"], best["effect_ci_low"], best["effect_ci_high"]),
                "p_value": float(best["p_value"]),
                "p_adjusted": float(best["p_adjusted"]),
                "significant": significant,
                "per_step": True,
            }
        )
    return sorted(findings, key=lambda f: f["p_adjusted"])
