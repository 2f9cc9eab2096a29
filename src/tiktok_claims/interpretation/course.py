"""The course's questions (Course 5's PACE strategy document and notebook), answered from one run.

:data:`QUESTIONS` lists every question once, in the order the course asks them; the PACE
document and the notebook both print :func:`course_answers`, so a question is added,
reworded or answered in one place. Each answer is built from the run's metrics record
(``metrics.json``) of a binary outcome and holds only what that run measured.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import config
from .subjects import subject
from .wording import per_1000, percent


@dataclass(frozen=True)
class Question:
    """One question of the course: ``id`` (stable, for code and tests), PACE ``stage``, ``text`` as the course words it."""

    id: str
    stage: str
    text: str


STAGES = ("Plan", "Analyze", "Construct", "Execute")
QUESTIONS: tuple[Question, ...] = (
    Question("stakeholders", "Plan", "Who are your external stakeholders for this project?"),
    Question("goal", "Plan", "What are you trying to solve or accomplish?"),
    Question("observations", "Plan", "What are your initial observations when you explore the data?"),
    Question("plan_resources", "Plan", "What resources do you find yourself using as you complete this stage?"),
    Question("eda_purpose", "Analyze", "What are some purposes of EDA before constructing a logistic regression model?"),
    Question("correlations", "Analyze", "What variables are shown to be correlated in the heatmap?"),
    Question("text_length", "Analyze", "What is the average length of the video transcription text in each class of the outcome?"),
    Question("analyze_ethics", "Analyze", "Do you have any ethical considerations in this stage?"),
    Question("odd", "Construct", "Do you notice anything odd?"),
    Question("change", "Construct", "Can you improve it? Is there anything you would change about the model?"),
    Question("construct_resources", "Construct", "What resources do you find yourself using as you complete this stage?"),
    Question("insights", "Execute", "What key insights emerged from your model(s)?"),
    Question("recommendations", "Execute", "What business recommendations do you propose based on the models built?"),
    Question("coefficients", "Execute", "To interpret model results, why is it important to interpret the beta coefficients?"),
    Question("improved", "Execute", "Do you think your model could be improved? Why or why not? How?"),
    Question(
        "other_questions", "Execute",
        "Given what you know about the data and the models you were using, what other questions could you address for the team?",
    ),
    Question("execute_resources", "Execute", "What resources do you find yourself using as you complete this stage?"),
    Question("ethical", "Execute", "Is my model ethical?"),
    Question("mistakes", "Execute", "When my model makes a mistake, what is happening? How does that translate to my use case?"),
    Question("execute_ethics", "Execute", "Do you have any ethical considerations at this stage?"),
    Question("takeaways", "Execute", "What are the key takeaways from this project?"),
    Question("presentable", "Execute", "What results can be presented from this project?"),
)
CORRELATION_CUT = config.CORRELATION_REPORT_LIMIT
"""Pairs of the heatmap with |r| at or above this are "correlated" (the cut the report lists pairs by)."""
TEXT_LENGTH = "text_length"
"""The course's name for the length of the transcript, were it a predictor."""
ACCOUNT_COLUMNS = (config.VERIFIED, config.BAN)
"""Predictors that describe the account or its author rather than the video."""


def course_answers(m: dict) -> list[dict]:
    """Every question of :data:`QUESTIONS`, in order, with its answer.

    An answer is a list of ``blocks``, each a paragraph (a string) or a bulleted list (a
    list of strings); empty blocks are left out.
    """
    return [
        {"id": q.id, "stage": q.stage, "question": q.text, "blocks": [block for block in ANSWERS[q.id](m) if block]}
        for q in QUESTIONS
    ]


def _stakeholders(m):
    return [
        "Inside TikTok but outside the data team: the Operations Lead (Maika Abadi), the Project Management Officer "
        "(Mary Joanna Rodgers) and the Finance Lead, Americas (Margery Adebowale). Beyond them, the moderators whose "
        "backlog this work is meant to shorten, and the users whose reports and videos are scored."
    ]


def _goal(m):
    story = m["story"]
    return [
        f"{story['purpose']} The question for this model: {story['question']} The answer must come with honest "
        "uncertainty, as a step toward prioritizing the report backlog."
    ]


def _observations(m):
    data, eda = m["data"], m["eda"]
    reasons = "; ".join(f"{reason}: {n:,}" for reason, n in data["rows_set_aside"].items())
    classes = ", ".join(f"'{r['level']}' {r['count']:,} ({r['share']:.1%})" for r in eda["class_balance"])
    balance = "imbalanced" if max(r["share"] for r in eda["class_balance"]) > 0.65 else "roughly balanced"
    text = [
        f"The file holds {data['rows_read']:,} rows and {eda['columns']} columns; {data['rows_set_aside_total']:,} rows "
        f"lack values in key fields and were set aside ({reasons or 'none'}).",
        f"The outcome {m['target']} splits into {classes}, so the classes are {balance}.",
    ]
    for row in eda["describe"]:
        if row["column"] == config.VIEWS:
            shape = "are heavy-tailed" if row["mean"] > 2 * row["50%"] else "range widely"
            text.append(f"Views {shape} (median {row['50%']:,.0f}, mean {row['mean']:,.0f}, max {row['max']:,.0f}).")
    text.append("Duplicates: " + "; ".join(f"{r['check']}: {r['count']:,}" for r in eda["duplicates"]) + ".")
    return [" ".join(text)]


def _plan_resources(m):
    return [
        "We used pandas and pyarrow to load and validate the data, the package's EDA tables and figures, and the "
        "documentation of pandas, scikit-learn and statsmodels."
    ]


def _eda_purpose(m):
    features = m["features"]
    outliers = ", ".join(f"{r['column']} {r['n_above']:,}" for r in m["eda"]["outliers"] if r["n_above"] > 0) or "none"
    dropped = ", ".join(f"{name} ({features['dropped'][name]})" for name in features["vif_dropped"])
    if "formula" in m:  # the formula names the terms: the VIF rule reports, without dropping one
        resolved = f"which the formula {m['formula']['text']} leaves as it names them (the VIF rule reports, without dropping a term)"
    else:
        resolved = f"which the VIF rule resolved by {'dropping ' + dropped if dropped else 'keeping every count'}"
    return [
        "To find what must be handled before fitting: the rows with missing values (set aside, above); outliers "
        f"(beyond the upper IQR fence: {outliers}), kept because large counts are real viral videos; "
        "multicollinearity among the predictors (next answer), which logistic regression does not tolerate and "
        f"{resolved}; and the class balance, which decides how the model is balanced and evaluated."
    ]


def correlated_pairs(m: dict) -> list[tuple[str, str, float]]:
    """Every pair of the heatmap (the Pearson matrix of ``eda.pearson``) with |r| at or above the cut, strongest first."""
    rows = {row["column"]: row for row in m["eda"]["pearson"]}
    columns = list(rows)
    pairs = [
        (a, b, rows[a][b])
        for i, a in enumerate(columns)
        for b in columns[i + 1:]
        if rows[a][b] is not None and abs(rows[a][b]) >= CORRELATION_CUT  # None: a constant column, r undefined
    ]
    return sorted(pairs, key=lambda pair: -abs(pair[2]))


def _defined(rows: dict, pairs) -> list[tuple[str, str]]:
    """The pairs whose Pearson r is defined (neither column constant)."""
    return [(a, b) for a, b in pairs if rows[a][b] is not None]


def _correlations(m):
    pairs = correlated_pairs(m)
    rows = {row["column"]: row for row in m["eda"]["pearson"]}
    paired = {name for a, b, _ in pairs for name in (a, b)}
    if not pairs:
        defined = _defined(rows, ((a, b) for i, a in enumerate(rows) for b in list(rows)[i + 1:]))
        if not defined:
            return ["No correlation of the heatmap's columns is defined: the columns are constant in these rows."]
        a, b = max(defined, key=lambda pair: abs(rows[pair[0]][pair[1]]))
        return [
            f"No pair of the heatmap's columns reaches |r| ≥ {CORRELATION_CUT}; the strongest is {a} and {b} "
            f"(r = {rows[a][b]:.2f})."
        ]
    alone = [name for name in rows if name not in paired]
    text = [f"Taking |r| ≥ {CORRELATION_CUT} as a strong correlation, the heatmap shows {len(pairs)} correlated pair"
            f"{'s' if len(pairs) > 1 else ''} (Pearson r, on all {m['data']['rows_used']:,} used rows):"]
    closing = []
    if alone:
        largest = ", ".join(
            f"{name} (largest |r| = {max(abs(rows[name][o]) for _, o in others):.2f})"
            if (others := _defined(rows, ((name, o) for o in rows if o != name)))
            else f"{name} (constant in these rows: its r is undefined)"
            for name in alone
        )
        closing.append(
            f"The column{'s' if len(alone) > 1 else ''} {largest} {'are each' if len(alone) > 1 else 'is'} correlated "
            "with none of the others."
        )
    dropped = m["features"]["vif_dropped"]
    if "formula" in m:
        closing.append(
            "Logistic regression assumes no severe multicollinearity; the formula names its terms, so the VIF rule "
            "reports on them (in the checklist) without dropping one."
        )
    else:
        closing.append(
            "Logistic regression assumes no severe multicollinearity, so these predictors cannot all stay in the model: "
            + (f"the VIF rule dropped {', '.join(dropped)}." if dropped else "the VIF rule checked them and dropped none.")
        )
    return [" ".join(text), [correlated_pair(a, b, r) for a, b, r in pairs], " ".join(closing)]


def correlated_pair(a: str, b: str, r: float) -> str:
    """``Pearson r = 0.80: video_view_count and video_like_count``, as the heatmap answer lists a pair."""
    return f"Pearson r = {r:.2f}: {a} and {b}"


def _text_length(m):
    rows = m["eda"]["text_length"]
    parts = "; ".join(
        f"'{r['level']}' videos average {r['mean']:.1f} characters (median {r['median']:.0f}, {r['count']:,} videos)"
        for r in rows
    )
    longest, shortest = max(rows, key=lambda r: r["mean"]), min(rows, key=lambda r: r["mean"])
    used = TEXT_LENGTH in (*m["features"]["continuous"], *m["features"]["categorical"])
    return [
        f"The length of {config.TRANSCRIPT}, in characters: {parts}. Videos labelled '{longest['level']}' have the "
        f"longer transcripts, by {longest['mean'] - shortest['mean']:.1f} characters on average. "
        + ("Transcript length is one of the model's predictors." if used else
           "Transcript length is not one of the model's predictors; the report shows its distribution by class.")
    ]


def _analyze_ethics(m):
    return [
        f"{m['story']['ethics']} {m['data']['rows_set_aside_total']:,} rows were set aside, not imputed, and are "
        "listed in set_aside_rows.csv so the choice can be audited."
    ]


def _odd(m):
    oddities = m["story"]["oddities"]
    return [list(oddities)] if oddities else ["Nothing beyond what the assumption checklist reports."]


def _change(m):
    threshold = m["threshold"]
    return [
        m["cv"]["default_reason"],
        f"The flagging threshold, {threshold['value']:.3f}, {threshold['description']}; it was chosen on the "
        f"{threshold['chosen_on']}.",
        "Whether more would help is answered under Execute (could the model be improved?).",
    ]


def _construct_resources(m):
    inference = (
        "the checks; the inference model is the package's own Firth fit, as R's logistf" if m["estimation"]["penalized"]
        else "maximum-likelihood inference"
    )
    return [
        "We used scikit-learn (pipelines, cross-validation), imbalanced-learn (resampling inside folds) and "
        f"statsmodels ({inference}), with their documentation."
    ]


def _insights(m):
    return [list(m["story"]["insights"])]


def _recommendations(m):
    story = m["story"]
    note = [story["rates_note"]] if story["rates_note"] else []  # the verdict's rates, when they rest on few videos
    return [story["verdict"]["headline"], *note, list(story["recommendations"])]


def _coefficients(m):
    example = next((f["sentence"] for f in m["findings"] if f["significant"]), None)
    course = m["leakage_audit"]["course"]
    problems = (
        f"the course recipe's lbfgs fit on unscaled counts stopped after {course['iterations']} iterations without "
        "converging, so its coefficients are not the maximum-likelihood estimates."
        if not course["converged"] else
        "coefficients fitted on upsampled rows (the course recipe) count each copied video as new evidence, so their "
        "standard errors and p-values are too small; ours come from the original rows."
    )
    return [
        f"Each coefficient is the change in the log-odds of '{m['positive_class']}' per unit of a predictor, holding "
        "the others fixed; its exponential is an odds ratio, which is what stakeholders can act on."
        + (f" For example: {example}" if example else " In this model no term survives the adjustment for multiple tests."),
        f"Reading coefficients also exposes problems: {problems}",
    ]


def _improved(m):
    return [m["story"]["improvement"]]


def _other_questions(m):
    questions = [
        text for target, text in FURTHER_QUESTIONS.items() if target != m["target"]
    ] + ["How many reports would the ranking move to the front of the queue at a given share of right flags?"]
    return ["Questions these data could answer next:", questions, "What this run says to do next:",
            list(m["story"]["next_steps"])]


FURTHER_QUESTIONS = {
    config.CLAIM: "Can video characteristics tell claims from opinions, so that reports can be prioritized (run --target claim_status)?",
    config.BAN: "Which characteristics go with the author's ban status (run --target author_ban_status)?",
}
"""Questions about the other outcomes the course cares about, by the outcome they are about."""


def _execute_resources(m):
    return [
        "The user guides of scikit-learn (logistic regression, cross-validation, model evaluation: "
        "https://scikit-learn.org/stable/user_guide.html), statsmodels (discrete choice models: "
        "https://www.statsmodels.org/stable/discretemod.html) and imbalanced-learn "
        "(https://imbalanced-learn.org/stable/user_guide.html)."
    ]


def _ethical(m):
    verdict, test, positive = m["story"]["verdict"], m["test"], m["positive_class"]
    words = subject(m["target"], positive)
    level = verdict["level"]
    wrong = per_1000(verdict["false_per_1000_flagged"])
    if level == "rank":
        use = (
            "Yes, for what it is fit for: ordering the review queue, with a moderator deciding every case. Its errors "
            f"({wrong} of every 1,000 flags wrong, {per_1000(verdict['missed_per_1000_positives'])} of every 1,000 "
            f"'{positive}' videos missed) must be monitored, and users should be able to appeal."
        )
    elif level == "assist":
        use = (
            f"Only to order reviews: {wrong} of every 1,000 of its flags are wrong, so acting on a flag would treat "
            f"{words.decisions.removeprefix('individual ')} unfairly; every decision stays with a person."
        )
    else:
        use = (
            f"Not as a decision tool: only {percent(test['precision'])} of its flags are right, so acting on them "
            f"would treat many {words.decisions.removeprefix('individual ')} wrongly. As a description of "
            "associations, reported with its uncertainty and used by the data team, it is."
        )
    accounts = [column for column in ACCOUNT_COLUMNS if column in m["features"]["categorical"]]
    if accounts:
        use += (
            f" Its predictors include {' and '.join(c.replace('_', ' ') for c in accounts)}, which "
            f"{'describe' if len(accounts) > 1 else 'describes'} the account or its author rather than the video: a "
            "model that leans on such a predictor carries an account's standing into how its videos are treated."
        )
    return [use]


def _mistakes(m):
    verdict, positive = m["story"]["verdict"], m["positive_class"]
    (_, false_positives), (false_negatives, _) = m["test_confusion_matrix"]["matrix"]
    negative = next(label for label in m["test_confusion_matrix"]["labels"] if label != positive)
    return [
        f"A mistake is one of two kinds. A false flag: a video that is '{negative}' scores above the threshold; "
        f"{false_positives:,} of the {m['test']['n']:,} test videos, {per_1000(verdict['false_per_1000_flagged'])} of "
        f"every 1,000 flags. A miss: a video that is '{positive}' scores below it; {false_negatives:,} test videos, "
        f"{per_1000(verdict['missed_per_1000_positives'])} of every 1,000 '{positive}' videos.",
        MISTAKE_COSTS.get(m["target"], GENERIC_COST).format(positive=positive, negative=negative),
    ]


MISTAKE_COSTS = {
    config.CLAIM: (
        "In the review queue a false flag puts a video that is '{negative}' ahead of the claims and costs a "
        "moderator's time; a miss leaves a '{positive}' video waiting at the back of the queue, the costlier error, "
        "since claims are "
        "what the queue must reach first."
    ),
    config.VERIFIED: (
        "A false flag takes a post for one from a verified account when it is not, a miss the reverse; verified "
        "status describes an account, so acting on either error would treat an account by a guess about it."
    ),
}
GENERIC_COST = (
    "A false flag treats a video that is '{negative}' as '{positive}', a miss the reverse; whichever costs more decides "
    "where the threshold should sit."
)


def _execute_ethics(m):
    return [m["story"]["ethics_in_use"]]


def _takeaways(m):
    story = m["story"]
    return [story["verdict"]["headline"], [
        *(f"It can: {item[:1].lower()}{item[1:]}" for item in story["can"]),
        *(f"It cannot: {item[:1].lower()}{item[1:]}" for item in story["cannot"]),
    ]]


def _presentable(m):
    test = m["test"]
    return [
        "The coefficient table with odds ratios and their 95% intervals (coefficients.csv), the honest test metrics "
        f"(precision {test['precision']:.3f}, recall {test['recall']:.3f}, ROC-AUC {test['roc_auc']:.3f} at "
        f"{test['base_rate']:.1%} '{m['positive_class']}', each with its bootstrap interval), the confusion matrix and "
        "curves of the report, and the leakage audit. The executive summary (with its chart) and the data-team brief "
        "are generated from the same record."
    ]


ANSWERS = {
    "stakeholders": _stakeholders, "goal": _goal, "observations": _observations, "plan_resources": _plan_resources,
    "eda_purpose": _eda_purpose, "correlations": _correlations, "text_length": _text_length,
    "analyze_ethics": _analyze_ethics, "odd": _odd, "change": _change, "construct_resources": _construct_resources,
    "insights": _insights, "recommendations": _recommendations, "coefficients": _coefficients, "improved": _improved,
    "other_questions": _other_questions, "execute_resources": _execute_resources, "ethical": _ethical,
    "mistakes": _mistakes, "execute_ethics": _execute_ethics, "takeaways": _takeaways, "presentable": _presentable,
}
"""The answer of each question, by its id: ``answer(m) -> (paragraphs, items)``."""

