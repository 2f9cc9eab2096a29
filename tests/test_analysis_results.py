"""What every results object shows of itself (``analysis/results.py``): ``summary()`` as
text, a one-line ``repr`` and a compact, escaped ``_repr_html_``, each built from the
computed results (no fit runs), with its numbers checked against independent
computations (scikit-learn's metrics, statsmodels' estimates)."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
import statsmodels.discrete.discrete_model as discrete
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import r2_score, roc_auc_score

from tiktok_claims import config
from tiktok_claims.analysis import FamilyAnalysis, analyze
from tiktok_claims.analysis.results import Results, number_text, p_text, text_table
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.interpretation.effects import EFFECT_NAMES

FAMILY_TARGETS = (config.BAN, config.VIEWS, config.DURATION)


@pytest.fixture(scope="module")
def binary(claim_model):
    return claim_model.analysis  # analyze(<synthetic>, target="claim_status", bootstrap=100, cv_folds=2)


@pytest.fixture(scope="module")
def families() -> dict[str, FamilyAnalysis]:
    frame = make_synthetic(2000, seed=12)
    return {target: analyze(frame, target=target, workers=1) for target in FAMILY_TARGETS}


@pytest.fixture()
def no_fitting(monkeypatch):
    """Any fit (statsmodels' or scikit-learn's logistic regression) fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a results object refitted a model")

    monkeypatch.setattr(discrete.Logit, "fit", refuse)
    monkeypatch.setattr(LogisticRegression, "fit", refuse)


def _table_row(summary: str, term: str) -> list[str]:
    """The cells after ``term`` on its (first) line of the summary: the coefficient table's."""
    line = next(line for line in summary.splitlines() if line.startswith(f"{term} ") or line == term)
    return line[len(term):].split()


# ---------------------------------------------------------------- summary, binary outcome


def test_the_summary_states_the_outcome_family_and_rows(binary, no_fitting):
    text = binary.summary()
    dataset = binary.dataset

    assert text.splitlines()[0].strip() == f"Binomial logistic regression of {config.CLAIM}"
    assert f"{config.CLAIM} (positive class 'claim')" in text
    set_aside = dataset.rows_read - dataset.rows_used
    assert f"{dataset.rows_used:,} used of {dataset.rows_read:,} read ({set_aside:,} set aside)" in text
    for reason, n in dataset.rows_set_aside.items():
        assert re.search(rf"set aside:\s+{n:,} {re.escape(reason)}", text)
    assert f"{len(binary.split.train):,} training / {len(binary.split.test):,} test rows" in text


def test_the_summarys_coefficients_are_statsmodels_estimates_per_readable_unit(binary):
    text = binary.summary()
    result = binary.inference.result
    assert not binary.inference.penalized  # plain maximum likelihood: statsmodels' numbers apply
    intercept = _table_row(text, "const")

    assert intercept[:7] == [
        f"{result.params['const']:.4f}", f"{result.bse['const']:.4f}", f"{result.tvalues['const']:.3f}",
        p_text(result.pvalues["const"]), f"{result.conf_int().loc['const', 0]:.4f}",
        f"{result.conf_int().loc['const', 1]:.4f}", f"{np.exp(result.params['const']):.4f}",
    ]
    for row in binary.coefficients.to_dict(orient="records"):
        if row["name"] == "const":
            continue
        cells = _table_row(text, f"{row['name']} ({row['unit']})")
        # statsmodels fits per SD of a continuous predictor; the table is per readable unit.
        per_unit = row["unit_size"] / row["sd"] if pd.notna(row["sd"]) else 1.0
        assert float(cells[0]) == pytest.approx(result.params[row["name"]] * per_unit, abs=5e-5)
        assert float(cells[1]) == pytest.approx(result.bse[row["name"]] * per_unit, abs=5e-5)
        assert float(cells[2]) == pytest.approx(result.tvalues[row["name"]], abs=5e-4)
        assert float(cells[6]) == pytest.approx(np.exp(float(cells[0])), rel=1e-3)


def test_the_summarys_test_metrics_match_scikit_learn_on_the_test_scores(binary):
    text = binary.summary()
    test = binary.dataset.frame.loc[binary.split.test]
    y = (test[config.CLAIM] == "claim").astype(int)
    flagged = binary.test_scores >= binary.threshold.threshold

    (auc_line,) = [line for line in text.splitlines() if line.startswith("roc_auc ")]
    assert float(auc_line.split()[1]) == pytest.approx(roc_auc_score(y, binary.test_scores), abs=5e-5)
    assert f"Threshold: {binary.threshold.threshold:.4f}, rule 'f1'" in text
    assert f"{int(flagged.sum()):,} of {len(test):,} rows flagged" in " ".join(text.split())
    assert f"precision {y[flagged].mean():.3f}" in text.replace("\n", " ")


def test_the_summary_is_text_that_fits_its_rules(binary):
    lines = binary.summary().splitlines()
    width = len(lines[1])

    assert set(lines[1]) == {"="} and lines[-1] == lines[1] and width >= 78
    assert all(len(line) <= width for line in lines)
    assert binary.summary() == binary.summary()


# ---------------------------------------------------------------- summary, other outcomes


@pytest.mark.parametrize("target", FAMILY_TARGETS)
def test_a_family_summary_shows_its_effects_its_test_metrics_and_no_threshold(families, target, no_fitting):
    result = families[target]
    text = result.summary()

    assert text.splitlines()[0].strip().lower() == f"{result.approach.label} of {target}".lower()
    assert EFFECT_NAMES[result.approach.family] in text
    for name, value in result.evaluation.test.items():
        (line,) = [line for line in text.splitlines() if line.split()[:1] == [name]]
        assert line.split()[1] == number_text(value)
    for row in result.coefficients.to_dict(orient="records"):
        term = row["name"] if row["name"] == "const" else f"{row['name']} ({row['unit']})"
        assert _table_row(text, term)[0] == number_text(row["coef"])
    assert "Threshold" not in text


def test_least_squares_coefficients_are_t_statistics(families):
    assert "P>|t|" in families[config.DURATION].summary()
    assert "P>|z|" in families[config.VIEWS].summary()


def test_an_ordinal_summary_shows_each_steps_own_coefficients(families):
    result = families[config.BAN]
    text = result.summary()

    for level in ("under review", "banned"):
        assert f"At least {level!r}:" in text
    assert ("Proportional odds:      holds" in text) == bool(result.proportional_odds_holds)


# ---------------------------------------------------------------- repr and HTML


def test_the_repr_is_one_short_line_with_the_outcome_rows_and_key_metric(binary, families, no_fitting):
    test = binary.dataset.frame.loc[binary.split.test]
    auc = roc_auc_score((test[config.CLAIM] == "claim").astype(int), binary.test_scores)

    assert repr(binary) == (
        f"Analysis(target='claim_status', family='binomial logistic regression', "
        f"rows_used={binary.dataset.rows_used}, test_roc_auc={auc:.3f})"
    )
    continuous = families[config.DURATION]
    predictions = continuous.evaluation.predictions
    r2 = r2_score(predictions["observed"], predictions["predicted"])
    assert repr(continuous).endswith(f"rows_used={continuous.dataset.rows_used}, test_r2={r2:.3f})")
    assert repr(families[config.BAN]).endswith(f"test_accuracy={families[config.BAN].evaluation.test['accuracy']:.3f})")
    for result in (binary, *families.values()):
        assert "\n" not in repr(result) and len(repr(result)) < 200


class _Cells(HTMLParser):
    """The text of every table cell of an HTML fragment, and every tag seen."""

    def __init__(self):
        super().__init__()
        self.cells, self.tags, self._open = [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._open = tag in ("td", "th")
        if self._open:
            self.cells.append("")

    def handle_endtag(self, tag):
        self._open = self._open and tag not in ("td", "th")

    def handle_data(self, data):
        if self._open:
            self.cells[-1] += data


def test_the_html_is_a_compact_table_of_the_headline_and_coefficients(binary, no_fitting):
    page = binary._repr_html_()
    cells = _Cells()
    cells.feed(page)

    assert cells.tags.count("table") == 2 and "script" not in cells.tags
    assert "Test ROC AUC" in cells.cells and f"{binary.evaluation.metrics['roc_auc']:.3f}" in cells.cells
    assert f"{binary.dataset.rows_used:,} used of {binary.dataset.rows_read:,} read" in " ".join(cells.cells)
    assert len(page) < 20_000  # never the data themselves


def test_the_html_escapes_every_text(binary):
    coefficients = binary.coefficients.copy()
    coefficients.loc[1, "name"] = "<script>alert(1)</script>"
    edited = dataclasses.replace(binary, coefficients=coefficients)

    page = edited._repr_html_()
    cells = _Cells()
    cells.feed(page)

    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "script" not in cells.tags
    assert any(cell.startswith("<script>alert(1)</script>") for cell in cells.cells)


# ---------------------------------------------------------------- the pieces


def test_every_analysis_kind_is_a_results_object(binary, families):
    assert all(isinstance(result, Results) for result in (binary, *families.values()))


def test_numbers_and_p_values_read_as_a_table_shows_them():
    assert [number_text(x) for x in (0.12345, -3.2, 0.0, 12_345_678.0, 0.00001234, float("nan"), None, float("inf"), 7)] == [
        "0.1235", "-3.2000", "0.0000", "1.235e+07", "1.234e-05", "n/a", "n/a", "inf", "7",
    ]
    assert [p_text(p) for p in (0.5, 0.0004, 0.001, float("nan"))] == ["0.500", "<0.001", "0.001", "n/a"]


def test_a_text_table_aligns_its_columns():
    assert text_table(["", "a", "bb"], [["x", "1", "22"], ["longer", "333", "4"]]) == [
        "          a  bb",
        "x         1  22",
        "longer  333   4",
    ]
