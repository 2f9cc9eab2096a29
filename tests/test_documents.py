"""Every document of every outcome says only what its own run measured (issue 11).

For each target the whole `run` is executed (real data; the synthetic default in the fast
tier), every document is read back, and each sentence-level promise is checked against
metrics.json and against an independent recomputation: the title and recommendations
name the analysed outcome, no other outcome's story appears, the verdict is the one the
metrics decide, key findings survive Holm's adjustment, and no printed odds or rate ratio
lies beyond the bound.
"""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests
from typer.testing import CliRunner

from tiktok_claims import config
from tiktok_claims.cli import app
from tiktok_claims.data.synthetic import write_synthetic
from tiktok_claims.interpretation.course import QUESTIONS
from tiktok_claims.interpretation.effects import UNIT_NAMES
from tiktok_claims.interpretation.subjects import SUBJECTS
from tiktok_claims.interpretation.wording import RATIO_BOUND as PACKAGE_BOUND
from tiktok_claims.interpretation.wording import pairs_of_100, percent
from tiktok_claims.reporting import figures

# The largest odds or rate ratio per readable unit that any document may print (the
# package's own bound must not be looser).
RATIO_BOUND = 1000.0
TARGETS = (config.VERIFIED, config.CLAIM, config.BAN, config.VIEWS, config.DURATION)
BINARY = (config.VERIFIED, config.CLAIM)
# The words that must name each outcome in its documents' titles and recommendations.
OUTCOME_WORDS = {
    config.VERIFIED: ("verified",),
    config.CLAIM: ("claim",),
    config.BAN: ("ban", "author"),
    config.VIEWS: ("view",),
    config.DURATION: ("duration", "longer"),
}
TEXT_DOCUMENTS = (
    "report.md", "report.html", "executive_summary.html", "technical_summary.md", "pace_strategy.md", "model_card.md",
)
RATIO_PATTERNS = (
    re.compile(r"(?:odds|rate) ratio(?: per [^0-9(]*?)? ([0-9][0-9,.]*(?:e[+-]?\d+)?)"),
    re.compile(r"([0-9][0-9,.]*(?:e[+-]?\d+)?) times the odds"),
    re.compile(r"multiplies [^.;()]*? by ([0-9][0-9,.]*(?:e[+-]?\d+)?)"),
)

_runs: dict[tuple[str, str], Path] = {}


def _run(data: str | None, target: str, tmp_path_factory, extra: tuple[str, ...] = ()) -> Path:
    key = (str(data), target, *extra)
    if key not in _runs:
        out = tmp_path_factory.mktemp(f"documents-{target}") / "out"
        arguments = ["run", "--target", target, "--out", str(out), "--quiet", "--bootstrap", "200", "--cv-folds", "3", *extra]
        if data is not None:
            arguments += ["--data", str(data)]
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 0, result.output
        _runs[key] = out
    return _runs[key]


def _documents(out: Path) -> dict[str, str]:
    texts = {}
    for name in TEXT_DOCUMENTS:
        path = out / name
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            if name.endswith(".html"):
                text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<img[^>]*>", " ", text)))
            texts[name] = text.replace("\\", "")
    return texts


@pytest.fixture(scope="module", params=TARGETS)
def real_run(request, real_data_path, tmp_path_factory):
    out = _run(real_data_path, request.param, tmp_path_factory)
    return request.param, out, json.loads((out / "metrics.json").read_text()), _documents(out)


@pytest.fixture(scope="module", params=TARGETS)
def synthetic_run(request, tmp_path_factory):
    out = _run(None, request.param, tmp_path_factory)
    return request.param, out, json.loads((out / "metrics.json").read_text()), _documents(out)


def _check_documents(target: str, m: dict, documents: dict[str, str]) -> None:
    story = m["story"]
    assert m["target"] == target
    expected = {"report.md", "report.html", "executive_summary.html"}
    if target in BINARY:
        expected |= {"technical_summary.md", "pace_strategy.md", "model_card.md"}
    assert expected <= set(documents)
    words = OUTCOME_WORDS[target]
    # The title and the question name the analysed outcome, in every document that has them.
    assert any(word in story["title"].lower() for word in words), story["title"]
    assert any(word in story["question"].lower() for word in words), story["question"]
    for name in ("report.md", "executive_summary.html"):
        assert story["title"] in documents[name], name
    # Recommendations name the outcome (its column, its classes or its subject) and who acts.
    for recommendation in story["recommendations"]:
        assert re.match(r"^[A-Z][A-Za-z ]+: ", recommendation), recommendation
    naming = " ".join(story["recommendations"] + [story["verdict"]["headline"]]).lower()
    assert any(word in naming for word in words), naming
    # The verdict headline is printed where the verdict is stated.
    for name in ("report.md", "executive_summary.html"):
        assert story["verdict"]["headline"] in " ".join(documents[name].split()), name
    # No other outcome's story: its title, question or subject clause never appears.
    for other, subject in SUBJECTS.items():
        if other == target:
            continue
        for name, text in documents.items():
            assert subject.title not in text, (target, other, name)
            assert subject.question not in text, (target, other, name)
            if subject.positive_clause and target in BINARY:
                assert subject.positive_clause not in text, (target, other, name, subject.positive_clause)
    # No printed ratio lies beyond the bound, in sentences or in the tables' ratio columns.
    assert PACKAGE_BOUND <= RATIO_BOUND
    for name, text in documents.items():
        for pattern in RATIO_PATTERNS:
            for found in pattern.findall(text):
                value = float(found.replace(",", "").rstrip("."))
                assert 1 / RATIO_BOUND <= value <= RATIO_BOUND, (name, found)
        for value in _ratio_cells(text):
            assert 1 / RATIO_BOUND <= value <= RATIO_BOUND, (name, value)
    # Key findings survive Holm's adjustment, recomputed independently from the raw p-values.
    terms = [c for c in (m["cut_coefficients"] if m.get("proportional_odds_holds") is False else m["coefficients"])
             if c["name"] != "const"]
    holm = multipletests([c["p_value"] for c in terms], method="holm")[1]
    for coefficient, adjusted in zip(terms, holm):
        assert coefficient["p_adjusted"] == pytest.approx(adjusted, rel=1e-9, abs=1e-12)
    for finding in m["findings"]:
        assert finding["significant"] == (finding["p_adjusted"] < 0.05)
    # Markdown: a bold question or label always starts its own paragraph.
    for name, text in documents.items():
        if name.endswith(".md"):
            lines = text.split("\n")
            for i, line in enumerate(lines[1:], start=1):
                if line.startswith("**") and lines[i - 1].strip():
                    pytest.fail(f"{name}: '{line[:50]}' is glued to the paragraph before it")
    # Every sentence starts with a capital, even one built from a column's or a parameter's name.
    for name in ("report.md", "technical_summary.md", "pace_strategy.md"):
        for line in documents.get(name, "").split("\n"):
            body = line.removeprefix("- ").strip()
            if body and not body.startswith(("#", "|", ">", "`", "!")):
                assert not re.match(r"['\"“]?[a-z]", body), (name, body[:80])
                assert not re.findall(r"(?<![\d.])[.?!] [a-z]\w*", body), (name, re.findall(r"(?<![\d.])[.?!] [a-z]\w*", body))


def _ratio_cells(markdown: str) -> list[float]:
    """The numbers in the ratio columns (odds ratio, rate ratio, ratio, …) of a document's Markdown tables."""
    values = []
    header = None
    for line in markdown.split("\n"):
        if not line.startswith("|"):
            header = None
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if header is None:
            header = cells
            continue
        for title, cell in zip(header, cells):
            if "ratio" in title.lower() and re.fullmatch(r"[0-9][0-9,.]*(e[+-]?\d+)?", cell):
                values.append(float(cell.replace(",", "")))
    return values


def _check_binary_verdict(m: dict, documents: dict[str, str]) -> None:
    """The verdict level, recomputed from the test metrics' intervals, and its wording everywhere."""
    ci, test = m["test_ci"], m["test"]
    if ci["roc_auc"]["ci_low"] >= 0.9 and ci["precision"]["ci_low"] >= 0.9:
        level = "rank"
    elif ci["roc_auc"]["ci_low"] >= 0.7:
        level = "assist"
    else:
        level = "do_not_use"
    verdict = m["story"]["verdict"]
    assert verdict["level"] == level
    false_per_1000 = 1000 * (1 - test["precision"])
    assert verdict["false_per_1000_flagged"] == pytest.approx(false_per_1000)
    card = documents["model_card.md"]
    if level == "rank":
        assert "Fit to rank" in verdict["headline"]
        assert "Do not use this model" not in " ".join(documents.values())
        assert "Rank reported videos" in card
    else:
        assert "Fit to rank" not in " ".join(documents.values())
        assert "Rank reported videos so that moderators review" not in card
    if level == "do_not_use":
        assert "Do not use this model" in verdict["headline"] and "Not for decisions" in card
    # The model card names the output for what it is.
    assert m["output"]["name"] == ("score" if m["balance"] != "none" and not m["calibrated"] else "probability")
    assert f"column `{m['output']['name']}`" in card


def test_documents_of_every_real_outcome_tell_its_own_story(real_run):
    target, out, m, documents = real_run
    _check_documents(target, m, documents)
    if target in BINARY:
        _check_binary_verdict(m, documents)


def test_documents_of_every_synthetic_outcome_tell_its_own_story(synthetic_run):
    target, out, m, documents = synthetic_run
    _check_documents(target, m, documents)
    if target in BINARY:
        _check_binary_verdict(m, documents)


def test_documents_of_a_formula_name_it_and_read_its_interactions_as_such(real_data_path, tmp_path_factory):
    formula = "verified_status ~ claim_status * author_ban_status + np.log1p(video_view_count)"
    out = _run(real_data_path, config.VERIFIED, tmp_path_factory, ("--formula", formula))
    m, documents = json.loads((out / "metrics.json").read_text()), _documents(out)

    _check_documents(config.VERIFIED, m, documents)
    _check_binary_verdict(m, documents)
    for name in ("report.md", "report.html", "technical_summary.md", "pace_strategy.md", "model_card.md"):
        assert formula in documents[name], name
    interactions = [f for f in m["findings"] if ":" in f["name"]]
    assert len(interactions) == 2
    for finding in interactions:
        assert finding["sentence"].startswith("The interaction term claim status 'opinion' × author ban status")
        assert finding["sentence"] in " ".join(documents["report.md"].split())


def test_every_real_executive_summary_fits_one_page(real_run):
    from weasyprint import CSS, HTML

    target, out, m, documents = real_run
    summary = HTML(filename=str(out / "executive_summary.html"))
    assert len(summary.render().pages) == 1, target  # the document's own page size, A4
    for size, width in (("A4", 210 / 25.4 * 96), ("letter", 8.5 * 96)):
        # A user style sheet wins over the document's @page only when important.
        pages = summary.render(stylesheets=[CSS(string=f"@page {{ size: {size} !important }}")]).pages
        assert len(pages) == 1 and pages[0].width == pytest.approx(width), (target, size)
    assert (out / "executive_summary.pdf").read_bytes().startswith(b"%PDF")


def test_claim_status_describes_its_separating_rule_instead_of_astronomical_odds(real_data_path, tmp_path_factory):
    out = _run(real_data_path, config.CLAIM, tmp_path_factory)
    m = json.loads((out / "metrics.json").read_text())
    documents = _documents(out)
    rule = m["estimation"]["separating_rule"]
    assert m["estimation"]["separation"] == "near" and rule["predictor"] == config.VIEWS
    # The rule's numbers, recomputed from the data: the share of claims at or above the threshold.
    import pandas as pd

    frame = pd.read_csv(real_data_path).dropna(subset=[config.CLAIM, config.VIEWS])
    above = frame[config.VIEWS] >= rule["threshold"]
    assert rule["high_share"] == pytest.approx(float((frame.loc[above, config.CLAIM] == rule["high_class"]).mean()))
    assert rule["low_share"] == pytest.approx(float((frame.loc[~above, config.CLAIM] == rule["low_class"]).mean()))
    stated = f"with at least {rule['threshold']:,.0f} views are '{rule['high_class']}' in {rule['high_share']:.1%} of cases"
    for name in ("report.md", "executive_summary.html", "technical_summary.md"):
        assert stated in " ".join(documents[name].split()), name
    # The estimation note says why Firth was used, truthfully: the ML fit exists here.
    assert "exist and are finite" in m["estimation"]["reason"] and "infinite" not in m["estimation"]["reason"]
    assert m["estimation"]["firth_shift"] is not None


def test_verified_key_findings_do_not_depend_on_the_seed(real_data_path):
    from tiktok_claims import analyze

    findings = {}
    for seed in (0, 42):
        analysis = analyze(real_data_path, seed=seed, cv_folds=2, bootstrap=100, stability_refits=20)
        findings[seed] = {f["name"] for f in analysis.findings if f["significant"]}
        assert all(f["p_adjusted"] < 0.05 for f in analysis.findings if f["significant"])
    assert findings[0] == findings[42] and findings[0]


def test_leakage_audit_upsamples_whichever_class_is_smaller(real_data_path, tmp_path_factory):
    out = _run(real_data_path, config.CLAIM, tmp_path_factory)
    audit = json.loads((out / "metrics.json").read_text())["leakage_audit"]
    import pandas as pd

    frame = pd.read_csv(real_data_path).dropna(subset=[config.CLAIM])
    counts = frame[config.CLAIM].value_counts()
    assert audit["course"]["minority_class"] == counts.idxmin()
    assert audit["course"]["copies_added"] == int(counts.max() - counts.min())
    text = " ".join(audit["explanation"])
    assert f"draws {counts.max():,} '{counts.idxmin()}' rows" in text and f"from the {counts.min():,} there are" in text
    if not audit["inflated"]:
        assert "inflate" not in text


def test_every_real_verified_number_in_the_headline_is_recomputable(real_data_path, tmp_path_factory):
    out = _run(real_data_path, config.VERIFIED, tmp_path_factory)
    m = json.loads((out / "metrics.json").read_text())
    matrix = np.array(m["test_confusion_matrix"]["matrix"])
    flagged = matrix[:, 1].sum()
    precision = matrix[1, 1] / flagged
    assert m["test"]["precision"] == pytest.approx(precision)
    headline = m["story"]["verdict"]["headline"]
    # "of every 1,000 videos it flags": right flags per 1,000 *flagged* videos, i.e. 1,000 × precision.
    assert f"of every 1,000 videos it flags, only {1000 * precision:,.0f} come from a verified account" in headline
    assert f"precision {precision:.1%}" in headline
    assert not math.isnan(m["story"]["verdict"]["roc_auc"])


# ---------------------------------------------------------------- the manager's page and its chart

# Words of statistics that the executive summary never prints: its readers plan and operate.
JARGON = re.compile(
    r"ROC|\bAUC\b|\bCI\b|confidence interval|\bodds\b|cross-validat|gradient[- ]boosting|fingerprint|sha256"
    r"|\bp [=<]|p-value|log-odds|R²|D²|deviance|Holm|\bVIF\b|coefficient|McFadden|Firth",
    re.IGNORECASE,
)
PAIRS = re.compile(r"in (more than 99|fewer than 1|\d+) of 100 pairs")
# A share printed as a proportion ("0.10"), where the page says "10.0%"; amounts in units (0.35 seconds) are fine.
BARE_PROPORTION = re.compile(
    rf"(?<![\d.,])0\.\d{{2,}}(?!(?: to [\d.,]+)? (?:{'|'.join(sorted(set(UNIT_NAMES.values())))})\b)"
)


def _summary_text(out: Path) -> str:
    """The executive summary as a reader meets it: its text, and the alternative text of its chart."""
    page = (out / "executive_summary.html").read_text(encoding="utf-8")
    alts = re.findall(r'<img[^>]* alt="([^"]*)"', page)
    text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(style|title)>.*?</\1>", " ", page, flags=re.S)))
    return " ".join((text + " " + " ".join(html.unescape(a) for a in alts)).split())


def _check_plain_summary(target: str, m: dict, out: Path) -> None:
    text = _summary_text(out)
    assert not JARGON.findall(text), (target, sorted(set(JARGON.findall(text))))
    # One figure for ranking, with one meaning: how often the model ranks a positive above a negative, of 100 pairs.
    quoted = set(PAIRS.findall(text))
    if m["outcome_type"] == "binary":
        assert quoted == {pairs_of_100(m["test"]["roc_auc"]).removesuffix(" of 100")}, (target, quoted)
        # Precision in one format: the test part's, as a percentage, never as a proportion.
        shown = set(re.findall(r"precision ([0-9.]+%)", text))
        assert shown == {percent(m["test"]["precision"])}, (target, shown)
    else:
        assert not quoted
    assert not BARE_PROPORTION.findall(text), (target, BARE_PROPORTION.findall(text))
    # Recommendations (and next steps) say who does what.
    for item in m["story"]["recommendations"] + m["story"].get("next_steps", []):
        assert re.match(r"^[A-Z][A-Za-z ]+: [a-z]", item), item
        assert item in text, item


def _check_summary_chart(target: str, m: dict, out: Path) -> None:
    """The chart's numbers are the test part's, recomputed here from metrics.json; the page shows it with its words."""
    chart = m["story"]["chart"]
    bars = [[segment["value"] for segment in bar["segments"]] for bar in chart["bars"]]
    if m["outcome_type"] == "binary":
        (_, false_positives), (false_negatives, true_positives) = m["test_confusion_matrix"]["matrix"]
        flagged, positives = false_positives + true_positives, false_negatives + true_positives
        expected = [
            [1000 * true_positives / flagged, 1000 * false_positives / flagged],
            [1000 * true_positives / positives, 1000 * false_negatives / positives],
        ]
        assert bars[0][0] == pytest.approx(1000 * m["test"]["precision"])
        assert bars[1][0] == pytest.approx(1000 * m["test"]["recall"])
    elif m["outcome_type"] == "ordinal":
        test = m["test"]
        expected = [[1000 * test["accuracy"], 1000 * (1 - test["accuracy"])],
                    [1000 * test["accuracy_majority_baseline"], 1000 * (1 - test["accuracy_majority_baseline"])]]
    else:
        expected = [[m["test"]["mae"]], [m["test"]["mae_mean_baseline"]]]
    assert len(bars) == len(expected)
    for drawn, computed in zip(bars, expected):
        assert drawn == pytest.approx(computed, rel=1e-9)
    # The figure draws exactly these parts, each on the chart's scale.
    figure = figures.verdict_chart(chart)
    for axes, values in zip(figure.figure.axes, bars):
        widths = [patch.get_width() for patch in axes.patches]
        assert widths == pytest.approx(values), target
        assert axes.get_xlim()[1] == pytest.approx(chart["scale"] or max(sum(v) for v in bars))
    # The page embeds it, with its caption and an alternative text that adds to it; the run lists and writes it.
    page = (out / "executive_summary.html").read_text(encoding="utf-8")
    shown = re.findall(r'<figure><img src="data:image/png;base64,[^"]+" alt="([^"]*)"><figcaption>([^<]*)</figcaption>', page)
    assert [(html.unescape(alt), html.unescape(caption)) for alt, caption in shown] == [(chart["alt"], chart["title"])]
    entry = next(f for f in m["figures"] if f["name"] == chart["name"])
    assert entry == {"name": chart["name"], "title": chart["title"], "alt": chart["alt"], "file": f"figures/{chart['name']}.png"}
    assert (out / entry["file"]).read_bytes().startswith(b"\x89PNG")


def _check_course_answers(target: str, m: dict, out: Path, documents: dict[str, str]) -> None:
    """Every course question is asked once, in the course's order, as its own paragraph, and answered."""
    if target not in BINARY:
        assert "pace_strategy.md" not in documents
        return
    text = documents["pace_strategy.md"]
    position, stage = 0, None
    for question in QUESTIONS:
        if question.stage != stage:
            stage = question.stage
            position = text.index(f"\n## {stage}\n", position)
        start = text.index(f"\n\n**{question.text}**\n\n", position)
        answer_start = start + len(question.text) + 8
        following = [text.find(marker, answer_start) for marker in ("\n\n**", "\n## ")]
        end = min([index for index in following if index >= 0], default=len(text))
        answer = text[answer_start:end].strip()
        assert len(answer) > 20, (target, question.id, answer)
        position = end
    page = (out / "pace_strategy.html").read_text(encoding="utf-8")
    for question in QUESTIONS:  # each question is a paragraph of its own
        assert f"<p><strong>{html.escape(question.text, quote=False)}</strong></p>" in page, question.id
    assert "within 0.000" not in text
    # The heatmap answer lists every pair over the cut, computed here from the heatmap's matrix.
    rows = {row["column"]: row for row in m["eda"]["pearson"]}
    names = list(rows)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            stated = f"Pearson r = {rows[a][b]:.2f}: {a} and {b}"
            assert (stated in text) == (abs(rows[a][b]) >= config.CORRELATION_REPORT_LIMIT), (target, stated)
    # What was odd: correlated predictors whose coefficients disagree in sign, estimates resting on few rows.
    odd = text[text.index("**Do you notice anything odd?**"):text.index("**Can you improve it?")]
    coefficients = {c["name"]: c for c in m["coefficients"]}
    for pair in m["features"]["correlated_pairs"]:
        a, b = coefficients.get(pair["feature_a"]), coefficients.get(pair["feature_b"])
        if a and b and pair["r"] >= config.CORRELATION_REPORT_LIMIT and (a["coef"] > 0) != (b["coef"] > 0):
            assert f"are correlated (r = {pair['r']:.2f}) but their coefficients have opposite signs" in odd, target
    positive = m["positive_class"]
    for row in m["eda"]["by_category"]:
        if f"{row['column']}_{row['level']}" in coefficients:
            positives = round(row["videos"] * row[f"share_{positive}"])
            if 0 < min(positives, row["videos"] - positives) < 50:
                assert f"whose {row['column'].replace('_', ' ')} is '{row['level']}' are" in odd and "few rows" in odd


def test_every_real_managers_page_speaks_plainly_and_shows_its_chart(real_run):
    target, out, m, documents = real_run
    _check_plain_summary(target, m, out)
    _check_summary_chart(target, m, out)


def test_every_synthetic_managers_page_speaks_plainly_and_shows_its_chart(synthetic_run):
    target, out, m, documents = synthetic_run
    _check_plain_summary(target, m, out)
    _check_summary_chart(target, m, out)


# ---------------------------------------------------------------- rates and estimates that rest on few videos

# What the documents say of rates resting on few test positives, and of too few events per effect.
FEW_POSITIVES_WORDS, FEW_EVENTS_WORDS = "rest on only", "too few to pin down"


@pytest.fixture(scope="module")
def thin_run(tmp_path_factory):
    """Verified status on 700 synthetic rows: 13 'verified' videos in the test part, 52 for 8 effects in all."""
    data = tmp_path_factory.mktemp("thin") / "thin.csv"
    write_synthetic(data, rows=700, seed=4)
    out = _run(data, config.VERIFIED, tmp_path_factory)
    return out, json.loads((out / "metrics.json").read_text()), _documents(out)


def test_a_thin_run_says_how_few_videos_its_rates_and_estimates_rest_on(thin_run):
    from weasyprint import HTML

    out, m, documents = thin_run
    _check_documents(config.VERIFIED, m, documents)
    _check_binary_verdict(m, documents)
    _check_plain_summary(config.VERIFIED, m, out)
    # The rates rest on the test part's positives, counted here from its confusion matrix; their likely ranges
    # are the bootstrap intervals, rounded as the page prints precision (13.3%) and the share caught (85%).
    (_, false_positives), (false_negatives, true_positives) = m["test_confusion_matrix"]["matrix"]
    positives = false_negatives + true_positives
    assert m["test"]["n_positive"] == positives < 50
    recall, precision = m["test_ci"]["recall"], m["test_ci"]["precision"]
    note = (
        f"The rates measured on the test part rest on only {positives} 'verified' videos, so they are rough: the model "
        f"could catch anywhere from {recall['ci_low']:.0%} to {recall['ci_high']:.0%} of all 'verified' videos, and "
        f"anywhere from {precision['ci_low']:.1%} to {precision['ci_high']:.1%} of the videos it flags could be 'verified'."
    )
    summary = _summary_text(out)
    assert f"{m['story']['chart']['title']} {note}" in summary  # right under the chart that quotes the rates
    for name in ("report.md", "report.html", "technical_summary.md", "model_card.md", "pace_strategy.md"):
        assert note in " ".join(documents[name].split()), name
    assert (
        f"as measured on the test part's {m['test']['n']:,} videos, {positives} of them 'verified'"
        in " ".join(documents["report.md"].split())
    )
    # Too few 'verified' videos for the model's effects: the failed check, recomputed from the class counts.
    counts = {row["level"]: row["count"] for row in m["eda"]["class_balance"]}
    effects = sum(1 for c in m["coefficients"] if c["name"] != "const")
    check = next(c for c in m["assumptions"] if c["name"] == "Events per variable")
    assert check["verdict"] == "fail" and check["statistic"] < 10
    assert check["statistic"] == pytest.approx(min(counts.values()) / effects)
    caveat = (
        f"The data hold only {counts['verified']} 'verified' videos, too few to pin down the {effects} effects the model "
        "estimates: its figures are unstable and may change with more data. Before relying on them, collect more "
        f"data: at least {20 * effects} 'verified' videos in all (20 per effect)."
    )
    assert caveat in summary[summary.index("Caveats:"):]
    assert f"- **Events per variable** (fail): {check['consequence']}" in documents["technical_summary.md"]
    assert len(HTML(filename=str(out / "executive_summary.html")).render().pages) == 1


def test_real_rates_with_plenty_of_positives_carry_no_few_videos_caveat(real_run):
    target, out, m, documents = real_run
    assert m["story"]["rates_note"] is None and m["story"]["caveats"] == []
    if target in BINARY:
        assert m["test"]["n_positive"] >= 50
        assert next(c for c in m["assumptions"] if c["name"] == "Events per variable")["verdict"] != "fail"
    for name, text in documents.items():
        for words in (FEW_POSITIVES_WORDS, FEW_EVENTS_WORDS):
            assert words not in text, (target, name, words)
    assert FEW_POSITIVES_WORDS not in _summary_text(out) and FEW_EVENTS_WORDS not in _summary_text(out)


def test_every_real_course_question_is_answered_in_order(real_run):
    target, out, m, documents = real_run
    _check_course_answers(target, m, out, documents)


def test_every_synthetic_course_question_is_answered_in_order(synthetic_run):
    target, out, m, documents = synthetic_run
    _check_course_answers(target, m, out, documents)


def test_the_real_heatmap_answer_names_views_and_likes(real_data_path, tmp_path_factory):
    """The pair the course expects (views and likes, r ≈ 0.80), recomputed from the data file."""
    import pandas as pd

    out = _run(real_data_path, config.VERIFIED, tmp_path_factory)
    frame = pd.read_csv(real_data_path).dropna(subset=list(config.CONTINUOUS_COLUMNS) + [config.CLAIM, config.TRANSCRIPT])
    r = frame[config.VIEWS].corr(frame[config.LIKES])
    assert 0.75 < r < 0.85
    text = _documents(out)["pace_strategy.md"]
    assert f"Pearson r = {r:.2f}: {config.VIEWS} and {config.LIKES}" in text
