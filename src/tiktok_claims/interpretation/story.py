"""The story every document tells of a binary outcome, derived from what this run measured.

:func:`binary_story` (and :func:`tiktok_claims.interpretation.family_story.family_story`
for the other outcomes) reads a metrics record (``metrics.json``) and returns the words that the reports, summaries, PACE document and model card print:
the question asked of this outcome, a title, the verdict on the model (with the numbers
that decide it, and what qualifies them when they rest on few videos), the caveats of the
manager's page, recommendations that say who does what, plain insights, the oddities worth
a second look, and what the model's output is and is for. Nothing here is
written for one target: every sentence names the outcome analysed and holds only if
the numbers behind it do.
"""

from __future__ import annotations

from scipy import stats

from .. import config
from ..diagnostics.logistic import EVENTS_CHECK
from .effects import UNIT_NAMES, is_compound, split_dummy, term_label
from .subjects import Subject, subject
from .summary import METHODS, binary_chart, few_positives_note, too_few_events
from .wording import capitalized, pairs_of_100, per_1000, percent

# Verdict of a binary classifier, from its test metrics' 95% intervals.
RANK_MIN_AUC = 0.90
RANK_MIN_PRECISION = 0.90
ASSIST_MIN_AUC = 0.70
# Differences in cross-validated ROC-AUC below this are "little", whatever the folds' intervals.
AUC_MARGIN = 0.02
# The cross-validated models the story compares with the default one.
CLAIM_ALONE = "claim status alone (baseline)"
REFERENCE = "gradient boosting (reference)"
# At or above this cross-validated ROC-AUC the model ranks (nearly) perfectly: nothing limits it.
NEAR_PERFECT_AUC = 0.98
# A level with fewer positive rows than this gives an estimate that rests on few rows.
FEW_ROWS = 50
CORRELATED = config.CORRELATION_REPORT_LIMIT
ALPHA = 0.05


def binary_story(m: dict) -> dict:
    """The story of a binary outcome's run, from its metrics record."""
    target, positive = m["target"], m["positive_class"]
    words = subject(target, positive)
    verdict = binary_verdict(m, words)
    level = verdict["level"]
    rates_note = few_positives_note(m)
    return {
        "question": words.question,
        "title": words.title,
        "purpose": words.purpose,
        "verdict": verdict,
        "method": METHODS["binary"],
        "chart": binary_chart(m, verdict),
        "rates_note": rates_note,
        "caveats": too_few_events(m),
        "can": _can(m, words, level),
        "cannot": _cannot(m, words, level),
        "next_steps": _next_steps(m, level),
        "ethics": _ethics(m),
        "ethics_in_use": _ethics_in_use(m, words, level),
        "improvement": _improvement(m, level),
        "recommendations": _binary_recommendations(m, words, level),
        "insights": _binary_insights(m, words),
        "oddities": _binary_oddities(m),
        "intended_use": _intended_use(m, words, verdict["level"]),
        "output": m["output"],
        "limitations": _limitations(m, words, rates_note),
    }


def binary_verdict(m: dict, words: Subject) -> dict:
    """``rank`` (fit to rank the backlog), ``assist`` (order reviews only) or ``do_not_use``, with its numbers.

    Rates per 1,000 come from the test part's confusion matrix; where they rest on few
    errors, the upper end of their exact (Clopper-Pearson) 95% interval is quoted beside them.
    """
    ci, test = m["test_ci"], m["test"]
    positive = m["positive_class"]
    (_, false_positives), (false_negatives, true_positives) = m["test_confusion_matrix"]["matrix"]
    flagged, positives = false_positives + true_positives, false_negatives + true_positives
    auc_low, precision_low = ci["roc_auc"]["ci_low"], ci["precision"]["ci_low"]
    numbers = {
        "roc_auc": test["roc_auc"],
        "roc_auc_ci_low": auc_low,
        "roc_auc_ci_high": ci["roc_auc"]["ci_high"],
        "precision": test["precision"],
        "precision_ci_low": precision_low,
        "recall": test["recall"],
        "false_per_1000_flagged": _per_1000(false_positives, flagged),
        "false_per_1000_flagged_upper": _upper_per_1000(false_positives, flagged),
        "missed_per_1000_positives": _per_1000(false_negatives, positives),
        "missed_per_1000_positives_upper": _upper_per_1000(false_negatives, positives),
        "right_per_1000_flagged": _per_1000(true_positives, flagged),
        "test_rows": test["n"],
    }
    wrong, wrong_note = _rate(false_positives, flagged)
    if auc_low >= RANK_MIN_AUC and precision_low >= RANK_MIN_PRECISION:
        level = "rank"
        missed, missed_note = _rate(false_negatives, positives)
        headline = (
            f"Fit to rank the backlog by how likely a video is to be '{positive}': of every 1,000 videos it flags, "
            f"{wrong} are not '{positive}'{wrong_note}, and it misses {missed} of every 1,000 '{positive}' "
            f"videos{missed_note}, on {test['n']:,} test videos it had never seen."
        )
    elif auc_low >= ASSIST_MIN_AUC:
        level = "assist"
        headline = (
            f"Use only to order reviews, never to decide: it ranks videos better than chance ({_pairs(m)}), but of "
            f"every 1,000 videos it flags, {wrong} are not '{positive}'{wrong_note}."
        )
    else:
        level = "do_not_use"
        ranking = (
            f"it ranks videos only modestly better than chance ({_pairs(m)})"
            if auc_low > 0.5
            else f"it does not rank videos measurably better than chance ({_pairs(m)}; likely range "
            f"{round(100 * auc_low)} to {round(100 * ci['roc_auc']['ci_high'])})"
        )
        headline = (
            f"Do not use this model for decisions about {words.decisions}: of every 1,000 videos it flags, "
            f"{'only ' if test['precision'] < 0.5 else ''}{per_1000(numbers['right_per_1000_flagged'])} "
            f"{words.positive_clause} (precision {percent(test['precision'])}), and {ranking}."
        )
    return {"level": level, "headline": headline, **numbers}


def _pairs(m: dict) -> str:
    """The test ROC-AUC in plain words: the one figure of ranking quality the manager's page quotes."""
    positive = m["positive_class"]
    negative = next(label for label in m["test_confusion_matrix"]["labels"] if label != positive)
    return (
        f"a random '{positive}' video is ranked above a random '{negative}' one in {pairs_of_100(m['test']['roc_auc'])} "
        "pairs; 50 would be a coin toss"
    )


# Below this many errors a rate per 1,000 is quoted with its upper 95% bound.
FEW_ERRORS = 10


def _per_1000(count: int, total: int) -> float:
    return 1000 * count / total if total else float("nan")


def _upper_per_1000(count: int, total: int) -> float:
    """Upper end of the exact (Clopper-Pearson) two-sided 95% interval of ``count / total``, per 1,000."""
    if not total:
        return float("nan")
    return 1000 * (1.0 if count >= total else float(stats.beta.ppf(0.975, count + 1, total - count)))


def _rate(count: int, total: int) -> tuple[str, str]:
    """A rate per 1,000 as words, and a note when it rests on few errors (with its plausible upper bound)."""
    text = f"about {per_1000(_per_1000(count, total))}"
    if count >= FEW_ERRORS:
        return text, ""
    return text, (
        f" ({count} of {total:,} in the test part; with so few, up to {per_1000(_upper_per_1000(count, total))} "
        "per 1,000 is plausible)"
    )


def _strongest_category(m: dict) -> dict | None:
    """The significant categorical finding with the smallest adjusted p-value, with the observed rates behind it."""
    shares = {(r["column"], r["level"]): r for r in m["eda"]["by_category"]}
    key = f"share_{m['positive_class']}"
    for finding in m["findings"]:
        if not finding["significant"] or finding["name"] in UNIT_NAMES or is_compound(finding["name"]):
            continue
        column, level = split_dummy(finding["name"])
        reference = config.CATEGORIES[column][0]
        level_row, reference_row = shares.get((column, level)), shares.get((column, reference))
        if level_row and reference_row and key in level_row:
            return {**finding, "column": column, "level": level, "reference": reference,
                    "level_rate": level_row[key], "reference_rate": reference_row[key]}
    return None


def _binary_insights(m: dict, words: Subject) -> list[str]:
    """What a manager should take away, in plain words: every figure is the test part's or an observed share."""
    insights = []
    strongest = _strongest_category(m)
    if strongest is not None:
        noun = strongest["column"].replace("_", " ")
        # The adjusted effect (a surviving finding) agrees with the observed difference, or reverses it.
        agrees = (strongest["odds_ratio"] > 1) == (strongest["level_rate"] > strongest["reference_rate"])
        insights.append(
            f"{strongest['level_rate']:.1%} of videos whose {noun} is '{strongest['level']}' {words.positive_clause}, "
            f"against {strongest['reference_rate']:.1%} of '{strongest['reference']}' videos; "
            + ("the difference holds when the other characteristics are taken into account." if agrees else
               "taking the other characteristics into account, the difference reverses.")
        )
    rule = m["estimation"].get("separating_rule")
    if rule:
        insights.append(_separation_insight(rule))
    insights.extend(_cv_insights(m))
    per, test = m["threshold"]["per_1000_videos"], m["test"]
    only = "only " if test["precision"] < 0.5 else ""
    right = per_1000(per["flagged_positive"])
    if right == per_1000(per["flagged"]) and per["flagged_positive"] < per["flagged"]:
        right = f"all but {per_1000(per['flagged'] - per['flagged_positive'])}"
    insights.append(
        f"Used as a filter, the model would flag {per_1000(per['flagged'])} of every 1,000 videos, of which {only}"
        f"{right} {words.positive_clause} (precision {percent(test['precision'])}), while "
        f"catching {percent(test['recall'], 0)} of all such videos."
    )
    return insights


def _separation_insight(rule: dict) -> str:
    """What separates the classes, as the separation record found it (one characteristic, groups, or a combination)."""
    if rule["kind"] == "single":
        nearly = "nearly " if rule["misclassified_share"] > 0 else ""
        return f"One characteristic {nearly}decides the outcome on its own: {rule['clause']}."
    if rule["kind"] == "groups":
        several = len(rule["groups"]) > 1
        return f"{'Several groups each hold' if several else 'One group holds'} a single class: {rule['clause']}."
    return f"No single characteristic nearly decides the outcome; the characteristics together do: {rule['clause']}."


def _cv_insights(m: dict) -> list[str]:
    """What cross-validation says about the predictors, in words only: the page quotes one ranking figure, the test part's.

    A difference is claimed only when the folds support it (:func:`_ranks_better`); when
    no model ranks measurably better than chance, that is all it says.
    """
    models = m["cv"]["models"]
    full = models[m["cv"]["default_model"]]["roc_auc"]
    claim_only = models.get(CLAIM_ALONE)
    reference = models.get(REFERENCE)
    compared = [model["roc_auc"] for model in (claim_only, reference) if model is not None]
    if compared and all(auc["ci_low"] <= 0.5 for auc in (full, *compared)):
        others = " nor ".join(
            name for name, model in (("claim status alone", claim_only), ("a more flexible kind of model", reference))
            if model is not None
        )
        return [f"Neither the full model nor {others} ranks videos measurably better than chance in cross-validation."]
    clauses = []
    if claim_only is not None:
        alone = claim_only["roc_auc"]
        paired = _paired(m, CLAIM_ALONE)
        if _ranks_better(full, alone, _flipped(paired)):
            clauses.append("the full model ranks videos better than claim status alone")
        elif _ranks_better(alone, full, paired):
            clauses.append("claim status alone ranks videos better than the full model")
        else:
            clauses.append("claim status alone ranks videos about as well as the full model")
    if reference is not None:
        flexible = reference["roc_auc"]
        paired = _paired(m, REFERENCE)
        if _ranks_better(flexible, full, paired):
            them = "them" if clauses else "videos"
            clauses.append(f"a more flexible kind of model ranks {them} better, so this one misses some of what the characteristics tell")
        else:
            verb = "does worse" if _ranks_better(full, flexible, _flipped(paired)) else "does about as well"
            # The limit is the information only if the folds rule out a flexible model doing much
            # better (the paired interval's top below the margin), and a model that ranks (nearly)
            # perfectly has no limit to blame on anything.
            ruled_out = paired is None or paired["ci_high"] < AUC_MARGIN
            limited = ruled_out and full["mean"] < NEAR_PERFECT_AUC
            limit = ", so the limit is the information in these characteristics, not the method" if limited else ""
            clauses.append(f"a more flexible kind of model {verb}{limit}")
    return [capitalized("; ".join(clauses)) + "."] if clauses else []


def _ranks_better(a: dict, b: dict, difference: dict | None = None) -> bool:
    """Whether cross-validated ROC-AUC ``a`` beats ``b`` by at least ``AUC_MARGIN`` and beyond the folds' uncertainty.

    ``difference`` is ``a - b`` fold by fold (the record's ``paired_roc_auc``): its 95%
    interval must lie above zero. A record without it (written before it was kept) is
    judged by the two models' own intervals, which must not overlap (more cautious).
    """
    if difference is not None:
        return difference["mean"] >= AUC_MARGIN and difference["ci_low"] > 0
    return a["mean"] - b["mean"] >= AUC_MARGIN and a["ci_low"] > b["ci_high"]


def _paired(m: dict, model: str) -> dict | None:
    """``model``'s ROC-AUC less the default model's, fold by fold, as the record summarizes it (``None`` if absent)."""
    return m["cv"].get("paired_roc_auc", {}).get(model)


def _flipped(difference: dict | None) -> dict | None:
    """The difference the other way round (``b - a`` from ``a - b``)."""
    if difference is None:
        return None
    return {"mean": -difference["mean"], "ci_low": -difference["ci_high"], "ci_high": -difference["ci_low"]}


def _binary_recommendations(m: dict, words: Subject, level: str) -> list[str]:
    """Who does what, each naming the outcome; the figures are the ones the summary prints."""
    positive, test = m["positive_class"], m["test"]
    wrong = per_1000(1000 * (1 - test["precision"]))
    recommendations = []
    if level == "rank":
        recommendations += [
            f"Moderation operations: order the review queue by the model's score, most likely '{positive}' first, "
            "and keep a moderator's decision on every video.",
            "Moderation operations and data team: each month, moderators label a random sample of reports, flagged "
            "or not (the queue alone never shows what the model missed); the data team compares the shares of flags "
            f"right and of '{positive}' videos flagged with today's ({percent(test['precision'])} and "
            f"{percent(test['recall'])}) and retrains when either falls.",
        ]
        rule = m["estimation"].get("separating_rule")
        if rule and rule["kind"] == "single":
            predictor = rule["predictor"]
            if predictor in UNIT_NAMES:
                change = f"the way {term_label(predictor)} accrues changes (for example a change to recommendations)"
            else:
                column, level = split_dummy(predictor)
                change = f"the share of videos whose {column.replace('_', ' ')} is '{level}' changes"
            recommendations.append(
                f"Data team: the scores lean on the one rule above; re-check the model whenever {change}."
            )
    elif level == "assist":
        recommendations += [
            "Moderation operations: use the score only to decide which reports to review first; never act on a "
            f"video or account because of it (about {wrong} of every 1,000 flagged videos are not '{positive}').",
            "Data team: improve the model before any wider use (more informative characteristics, then a new test).",
        ]
    else:
        recommendations.append(
            f"Operations: do not use this model to make decisions about {words.decisions}; "
            f"{'only ' if test['precision'] < 0.5 else ''}{percent(test['precision'])} of the videos it flags "
            f"{words.positive_clause}."
        )
        strongest = _strongest_category(m)
        if strongest is not None:
            noun = strongest["column"].replace("_", " ")
            recommendations.append(
                f"Finance and Operations: when forecasting how many reviewed videos {words.positive_clause}, use the "
                f"observed rates by {noun} ({strongest['level_rate']:.1%} of '{strongest['level']}' videos against "
                f"{strongest['reference_rate']:.1%} of '{strongest['reference']}' videos), not the model's flags."
            )
        recommendations.append(
            f"Data team: add the information these data lack (an author identifier and account history) before "
            f"modelling {m['target'].replace('_', ' ')} again."
        )
    if m["leakage_audit"]["inflated"]:
        recommendations.append(
            f"Everyone quoting results: quote {percent(test['precision'])} of flags right, measured on new videos at the "
            f"real mix; the course recipe's {percent(m['leakage_audit']['course']['precision'], 0)} came from testing "
            "on copies of training videos in an artificial 50/50 mix."
        )
    return recommendations


def _can(m: dict, words: Subject, level: str) -> list[str]:
    can = []
    # The verdict quotes the ranking figure unless the model is fit to rank; it is quoted once.
    if level == "rank":
        can.append(f"Rank reported videos so that the likeliest '{m['positive_class']}' videos are reviewed first: {_pairs(m)}.")
    elif level == "assist":
        can.append("Suggest which reports to review first, ranking them better than chance (see the verdict).")
    elif m["test_ci"]["roc_auc"]["ci_low"] > 0.5:
        can.append("Rank videos better than chance (see the verdict), though not well enough to act on.")
    if any(f["significant"] for f in m["findings"]):
        can.append(
            f"Show which characteristics go together with videos that {words.positive_clause}, with a measure of "
            "certainty for each."
        )
    else:
        can.append(
            f"Show that none of these characteristics is clearly linked to whether videos {words.positive_clause}: "
            f"none survives adjustment for the {len(m['findings'])} tests."
        )
    return can


def _cannot(m: dict, words: Subject, level: str) -> list[str]:
    test, positive = m["test"], m["positive_class"]
    cannot = []
    if level == "rank":
        cannot.append(
            f"Replace a moderator's decision: about {per_1000(1000 * (1 - test['precision']))} of every 1,000 flagged "
            f"videos are not '{positive}'."
        )
    else:
        cannot.append(
            f"Pick out videos that {words.positive_clause} reliably: {'only ' if test['precision'] < 0.5 else ''}"
            f"{percent(test['precision'])} of the videos it flags do."
        )
    cannot.append("Explain causes: it shows associations, not why they occur.")
    return cannot


def _next_steps(m: dict, level: str) -> list[str]:
    """What comes after this analysis, and who takes it on (never a repeat of a recommendation)."""
    if level == "rank":
        return [
            "Moderation operations and data team: pilot the ranking on part of the live backlog and compare "
            "moderators' decisions with the scores before using it on the whole queue.",
        ]
    if m["target"] != config.CLAIM:
        return ["Data team: build the claim-versus-opinion classifier, the model that will prioritize the report backlog."]
    return ["Data team: try features of the transcript text (its words and phrases), which these characteristics leave out."]


def _ethics(m: dict) -> str:
    target = m["target"]
    if target == config.VERIFIED:
        about = (
            "Verified status describes people, not videos: a model that flags \"likely verified\" posters could be "
            "used to treat accounts differently, and its errors fall on real users."
        )
    elif target == config.CLAIM:
        about = (
            "Claim status decides which reports are reviewed first: a claim ranked low waits longer in the queue, and "
            "an opinion ranked high takes a moderator's time; the errors fall on users who report and on those reported."
        )
    else:
        about = f"{capitalized(target.replace('_', ' '))} describes videos and their authors; errors fall on real users."
    return (
        f"{about} The data have no author identifier, so repeated authors cannot be detected and the rows may not be "
        "independent."
    )


def _ethics_in_use(m: dict, words: Subject, level: str) -> str:
    per, test = m["threshold"]["per_1000_videos"], m["test"]
    errors = (
        f"At its threshold the model flags {per_1000(per['flagged'])} of every 1,000 videos and "
        f"{percent(test['precision'])} of those flags are right"
    )
    if level == "rank":
        return (
            f"{errors}, and it misses {per_1000(1000 * (1 - test['recall']))} of every 1,000 '{m['positive_class']}' "
            "videos: a moderator must still decide every case, the ranking must be monitored for drift, and users "
            "should be able to appeal."
        )
    return (
        f"{errors}: errors would fall on real {words.decisions.removeprefix('individual ')}. Any use must keep a human "
        "decision, be monitored for drift, and be explained to stakeholders as an association, not a cause."
    )


def _improvement(m: dict, level: str) -> str:
    models = m["cv"]["models"]
    default = models[m["cv"]["default_model"]]["roc_auc"]
    full = default["mean"]
    reference = models.get(REFERENCE)
    flexible = reference["roc_auc"]["mean"] if reference is not None else None
    if flexible is not None and _ranks_better(reference["roc_auc"], default, _paired(m, REFERENCE)):
        return (
            f"Yes: a flexible gradient-boosting model reaches a cross-validated ROC-AUC of {flexible:.3f} against "
            f"{full:.3f}, so interactions or non-linear terms would help; better data would help more."
        )
    if level == "rank":
        return (
            f"Only at the margins: the cross-validated ROC-AUC is already {full:.3f}. What would help is fresh "
            "labelled reports (to catch drift) and transcript text features for the few videos the current "
            "characteristics misjudge."
        )
    return (
        f"Yes, but mostly with better data, not a more complex model: the cross-validated ROC-AUC is {full:.3f} "
        f"{f'(gradient boosting: {flexible:.3f}) ' if flexible is not None else ''}and McFadden's pseudo-R² is "
        f"{m['fit']['mcfadden_pseudo_r2']:.3f}. Author-level features, transcript text features and the claim "
        "classifier's score are the candidates."
    )


def _binary_oddities(m: dict) -> list[str]:
    """What deserves a second look: signs that contradict correlations, estimates on few rows, tests that do not survive."""
    oddities = []
    coefficients = {c["name"]: c for c in m["coefficients"]}
    tests = sum(1 for c in m["coefficients"] if c["name"] != "const")
    for pair in m["features"]["correlated_pairs"]:
        a, b = coefficients.get(pair["feature_a"]), coefficients.get(pair["feature_b"])
        if a and b and pair["r"] >= CORRELATED and (a["coef"] > 0) != (b["coef"] > 0):  # positively correlated
            surviving = [term_label(c["name"]) for c in (a, b) if c["p_adjusted"] < ALPHA]
            evidence = (
                f"neither survives adjustment for the {tests} tests" if not surviving
                else f"only {surviving[0]} survives adjustment for the {tests} tests" if len(surviving) == 1
                else f"both survive adjustment for the {tests} tests"
            )
            oddities.append(
                f"{capitalized(term_label(a['name']))} and {term_label(b['name'])} are correlated (r = {pair['r']:.2f}) "
                f"but their coefficients have opposite signs ({evidence}): the model splits one signal between them, "
                "so neither coefficient can be read on its own."
            )
    positive = m["positive_class"]
    negative = next(label for label in m["test_confusion_matrix"]["labels"] if label != positive)
    key = f"share_{positive}"
    for row in m["eda"]["by_category"]:
        name = f"{row['column']}_{row['level']}"
        if name in coefficients and key in row:
            positives = round(row["videos"] * row[key])
            rarer, count = (positive, positives) if positives <= row["videos"] - positives else (
                negative, row["videos"] - positives
            )
            if count < FEW_ROWS:
                group = f"the {row['videos']:,} videos whose {row['column'].replace('_', ' ')} is '{row['level']}'"
                oddities.append(
                    f"None of {group} is '{rarer}', so that estimate cannot be pinned down from these data."
                    if count == 0
                    else f"Only {count:,} of {group} are '{rarer}', so that estimate rests on few rows."
                )
    fragile = [f for f in m["findings"] if f["p_value"] < 0.05 and not f["significant"]]
    if fragile:
        listed = ", ".join(f"{f['label']} (p = {f['p_value']:.3f})" for f in fragile)
        several = len(fragile) > 1
        oddities.append(
            f"{capitalized(listed)} {'look' if several else 'looks'} significant on {'their' if several else 'its'} own "
            f"but not after adjusting for the {tests} tests, so {'they are' if several else 'it is'} not reported as "
            f"{'findings' if several else 'a finding'}."
        )
    test = m["test"]
    if abs(test["base_rate"] - 0.5) > 0.1:
        labels = m["test_confusion_matrix"]["labels"]
        majority = labels[1] if test["base_rate"] > 0.5 else labels[0]
        oddities.append(
            f"Only {test['base_rate']:.1%} of test videos are '{m['positive_class']}', so accuracy misleads: always "
            f"answering '{majority}' scores {test['null_accuracy']:.3f}."
        )
    oddities.extend(_transform_oddities(m))
    rule = m["estimation"].get("separating_rule")
    if rule:
        oddities.append(
            f"The classes (nearly) separate ({rule['clause']}): the coefficients come from Firth's penalized "
            "likelihood, and the odds ratios involved are too extreme to mean anything on their own."
        )
    return oddities


def _transform_oddities(m: dict) -> list[str]:
    """Whether the log1p remedy helped: cross-validation with and without it, and what the VIF rule dropped."""
    models = m["cv"]["models"]
    default = m["cv"]["default_model"]
    raw = models.get(f"{default} without the log1p transform")
    if not m["features"]["log1p"] or raw is None:
        return []
    with_remedy, without = models[default]["roc_auc"]["mean"], raw["roc_auc"]["mean"]
    dropped = m["features"]["vif_dropped"]
    effect = (
        "lowers" if with_remedy < without - AUC_MARGIN / 4 else "raises" if with_remedy > without + AUC_MARGIN / 4
        else "leaves unchanged"
    )
    sentence = (
        f"The log1p transform (--transform log1p) {effect} the cross-validated ROC-AUC ({without:.3f} without it, "
        f"{with_remedy:.3f} with it)"
    )
    if dropped:
        sentence += f"; with it the VIF rule drops {', '.join(dropped)}"
    raw_tests = m["assumption_tables"]["raw_box_tidwell"] or []
    raw_p = [row["p_adjusted"] for row in raw_tests if row["p_adjusted"] is not None]
    if raw_p and min(raw_p) >= ALPHA:
        sentence += (
            f"; linearity already held on the raw counts (smallest adjusted Box-Tidwell p = {min(raw_p):.3g}), so the "
            "remedy was not needed"
        )
    return [sentence + "."]


def _intended_use(m: dict, words: Subject, level: str) -> str:
    positive = m["positive_class"]
    if level == "rank":
        return (
            f"Rank reported videos so that moderators review the most likely '{positive}' videos first. Every "
            "decision stays with a moderator; the scores are associations learned from past videos, not causes."
        )
    if level == "assist":
        return (
            f"Order the review of reported videos (most likely '{positive}' first) and nothing more: never decide "
            "about a video or account from the score. The scores are associations learned from past videos, not causes."
        )
    return (
        f"Not for decisions about {words.decisions}, nor for ranking them: only {m['test']['precision']:.0%} of the "
        f"videos it flags {words.positive_clause}. It documents associations between video characteristics and "
        f"{m['target']} for the data team."
    )


def _limitations(m: dict, words: Subject, rates_note: str | None) -> list[str]:
    limitations = [
        f"Its output is {m['output']['description']}.",
        "It learned associations from past videos, not causes; it will drift as content and reporting change.",
        "The data carry no author identifier, so videos by one author may not be independent.",
    ]
    rule = m["estimation"].get("separating_rule")
    if rule and rule["kind"] == "single":
        limitations.append(f"It leans on one rule: {rule['sentence']}")
    elif rule and rule["kind"] == "groups":
        limitations.append(f"Its estimates for some groups rest on videos of one class only: {rule['sentence']}")
    for name in m["features"].get("unestimable", ()):
        shown = name.replace("_", " ") if name in config.CATEGORIES else term_label(name)
        limitations.append(f"It does not use {shown}: {m['features']['dropped'][name]}.")
    if rates_note:
        limitations.append(rates_note)
    events = next((c for c in m["assumptions"] if c["name"] == EVENTS_CHECK and c["verdict"] == "fail"), None)
    if events:
        limitations.append(
            f"It rests on few examples of the rarer outcome: {events['consequence'][0].lower()}{events['consequence'][1:]} Its findings may not hold in more data."
        )
    return limitations


