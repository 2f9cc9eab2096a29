"""The four deliverables exist after `run` on the real data (the session's ``real_run``),
every number in the people-facing documents can be traced to metrics.json, and
``report --from`` re-renders them without refitting, or even importing what fits."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from tiktok_claims import config
from tiktok_claims.cli import app

NUMBER = re.compile(r"(?<![\w.])-?\d(?:[\d,]*\d)?(?:\.\d+)?")
# Numbers that are part of the wording, not results: "95% CI", "per 1,000 videos",
# "0.5 is a coin toss and 1.0 is perfect", "50/50", "4/n", PACE's 1-based section numbers.
WORDING = {"95", "1,000", "0.5", "1.0", "50", "4", "1", "100", "2"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "title")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "title")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def test_all_deliverables_exist(real_run):
    for name in (
        "executive_summary.html", "executive_summary.pdf", "technical_summary.md", "technical_summary.html",
        "pace_strategy.md", "pace_strategy.html", "report.html", "report.md",
    ):
        assert (real_run.out / name).stat().st_size > 500, name
    assert (real_run.out / "executive_summary.pdf").read_bytes().startswith(b"%PDF")


def perturbed(value, factor: float = 1.37):
    """Every number in a metrics record moved, strings and flags left alone."""
    if isinstance(value, bool) or isinstance(value, str) or value is None:
        return value
    if isinstance(value, int):
        return value * 3 + 7
    if isinstance(value, float):
        return value * factor + 0.0123
    if isinstance(value, dict):
        return {key: perturbed(item, factor) for key, item in value.items()}
    return [perturbed(item, factor) for item in value]


def string_leaves(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from string_leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from string_leaves(item)


def document_tokens(path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        text = html_text(text)
    return NUMBER.findall(text)


@pytest.mark.parametrize("document", ["executive_summary.html", "technical_summary.md", "pace_strategy.md"])
def test_every_number_in_the_document_comes_from_metrics_json(real_run, document, tmp_path):
    """Render from metrics.json and from a copy with every number moved: a number that
    does not move was typed into the template, unless it is wording or comes from a
    sentence stored in metrics.json (generated from its numbers)."""
    import difflib
    import shutil

    from tiktok_claims.reporting.render import render_documents

    metrics = json.loads((real_run.out / "metrics.json").read_text(encoding="utf-8"))
    renders = {}
    for name, record in (("original", metrics), ("moved", perturbed(metrics, 1.37)), ("moved again", perturbed(metrics, 1.71))):
        directory = tmp_path / name
        shutil.copytree(real_run.out / "figures", directory / "figures")
        render_documents(record, directory)
        renders[name] = document_tokens(directory / document)
    from_sentences = {t for s in string_leaves(metrics) for t in NUMBER.findall(s)}

    def unmoved_in(other: str) -> set[tuple[int, str]]:
        matcher = difflib.SequenceMatcher(a=renders["original"], b=renders[other], autojunk=False)
        return {
            (i, renders["original"][i])
            for tag, i1, i2, _, _ in matcher.get_opcodes() if tag == "equal"
            for i in range(i1, i2)
        }

    # A number that stays put under two different moves was typed into the template.
    unmoved = {token for _, token in unmoved_in("moved") & unmoved_in("moved again")}

    assert len(renders["original"]) > 20
    assert sorted(unmoved - WORDING - from_sentences) == []


class Refit(BaseException):
    """Raised by a patched estimator; a BaseException, so that no ``except Exception`` swallows it."""


def _refit(*args, **kwargs):
    raise Refit("report --from must not refit")


def forbid_fitting(monkeypatch, *names: str) -> None:
    """Patch the estimators a run fits with (all of them, or those ``names``), wherever they are imported from."""
    import sklearn.linear_model
    import statsmodels.discrete.discrete_model

    import tiktok_claims.model.firth

    estimators = {
        "LogisticRegression.fit": (sklearn.linear_model.LogisticRegression, "fit"),
        "Logit.fit": (statsmodels.discrete.discrete_model.Logit, "fit"),
        "firth": (tiktok_claims.model.firth, "firth"),
    }
    for name in names or estimators:
        monkeypatch.setattr(*estimators[name], _refit)


def test_report_from_saved_results_reproduces_the_documents_without_refitting(real_run, monkeypatch, tmp_path):
    import shutil

    run = shutil.copytree(real_run.out, tmp_path / "run")  # the session's run stays as written
    before = {name: (run / name).read_text(encoding="utf-8") for name in ("report.html", "technical_summary.md")}

    forbid_fitting(monkeypatch)
    result = CliRunner().invoke(app, ["report", "--from", str(run)])

    assert result.exit_code == 0, result.output
    for name, text in before.items():
        assert (run / name).read_text(encoding="utf-8") == text


@pytest.mark.parametrize(
    ("estimator", "target"),
    [
        ("LogisticRegression.fit", config.VERIFIED),  # the classifier of the pipeline
        ("Logit.fit", config.VERIFIED),  # the inference model, fitted after the classifier
        ("firth", config.CLAIM),  # the generator's claims separate by view count: Firth's method
    ],
)
def test_each_patch_of_the_no_refit_test_does_stop_a_fit(monkeypatch, estimator, target):
    """The patches above are the ones a fit goes through: with any one of them, an analysis cannot finish."""
    from tiktok_claims.analysis import analyze
    from tiktok_claims.data.synthetic import make_synthetic

    frame = make_synthetic(800, seed=3)
    forbid_fitting(monkeypatch, estimator)

    with pytest.raises(Refit, match="must not refit"):
        analyze(frame, target=target, cv_folds=2, bootstrap=100, workers=1)


# Modules that fit a model; re-rendering must not even import them.
FITTING_MODULES = (
    "tiktok_claims.analysis",
    "tiktok_claims.analysis.binary",
    "tiktok_claims.analysis.families",
    "tiktok_claims.model.logistic",
    "tiktok_claims.model.firth",
    "tiktok_claims.model.separation",
    "tiktok_claims.evaluation.cross_validation",
    "tiktok_claims.evaluation.leakage",
    "tiktok_claims.diagnostics.logistic",
    "tiktok_claims.diagnostics.families",
    "tiktok_claims.spark.fit",
)
IMPORTED_BY_REPORT_FROM = r"""
import json, sys
from tiktok_claims import config
from tiktok_claims.cli import app
try:
    app(["report", "--from", sys.argv[1]], prog_name="tiktok-claims")
except SystemExit as exc:
    code = exc.code
with open(sys.argv[2], "w", encoding="utf-8") as handle:
    json.dump({"exit_code": code, "modules": sorted(sys.modules)}, handle)
"""


@pytest.fixture(scope="module")
def modules_of_report_from(real_run, tmp_path_factory) -> set[str]:
    """The modules loaded by ``report --from DIR`` in a fresh interpreter (on a copy of the real run)."""
    import shutil
    import subprocess
    import sys

    scratch = tmp_path_factory.mktemp("report-from")
    run = shutil.copytree(real_run.out, scratch / "run")
    subprocess.run([sys.executable, "-c", IMPORTED_BY_REPORT_FROM, str(run), str(scratch / "modules.json")], check=True)
    found = json.loads((scratch / "modules.json").read_text(encoding="utf-8"))
    assert found["exit_code"] == 0
    return set(found["modules"])


def test_report_from_in_a_fresh_interpreter_loads_the_renderer(modules_of_report_from):
    """The check below can see what the command imports: the renderer itself is there."""
    assert {"tiktok_claims.cli", "tiktok_claims.reporting.render"} <= modules_of_report_from


@pytest.mark.parametrize(
    "module",
    [*FITTING_MODULES, "tiktok_claims.model.families"],
)
def test_report_from_does_not_import_the_fitting_modules(modules_of_report_from, module):
    from importlib.util import find_spec

    assert find_spec(module) is not None  # a module that exists, so that its absence means something
    assert module not in modules_of_report_from


def test_report_from_refuses_a_record_of_another_layout(real_run, tmp_path):
    import shutil

    copy = tmp_path / "old"
    shutil.copytree(real_run.out, copy)
    metrics = json.loads((copy / "metrics.json").read_text(encoding="utf-8"))
    metrics["tool"]["metrics_schema"] = -1
    (copy / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    result = CliRunner().invoke(app, ["report", "--from", str(copy)])

    assert result.exit_code == 1
    assert "metrics layout" in result.stderr and "Re-run" in result.stderr
