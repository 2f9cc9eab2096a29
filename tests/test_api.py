"""The public API (``tiktok_claims/__init__.py`` and ``_version.py``): every name in
``__all__`` resolves to the object of its module, lazily, so that importing the package
(and the command line, for ``--help``) loads none of the numeric libraries; the option
types are ``Literal`` types and the package says it is typed (``py.typed``); every bad
argument of ``analyze`` is a ``ValueError``; every public callable documents each of its
parameters in a numpydoc ``Parameters`` section (read here from ``inspect.signature``)."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys
import tomllib
import typing
from importlib.metadata import version
from pathlib import Path

import pytest

import tiktok_claims
from tiktok_claims import config
from tiktok_claims.artifact.model import LoadedModel
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.errors import OptionsError

HEAVY = ("numpy", "pandas", "scipy", "sklearn", "statsmodels", "matplotlib", "pyarrow", "imblearn", "weasyprint")
IMPORTED_BY_THE_PACKAGE_AND_CLI = r"""
import json, sys
import tiktok_claims, tiktok_claims.cli
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""
HOMES = {
    "analyze": "tiktok_claims.analysis",
    "Analysis": "tiktok_claims.analysis.binary",
    "AnalysisOptions": "tiktok_claims.analysis.options",
    "FamilyAnalysis": "tiktok_claims.analysis.families",
    "ThresholdRule": "tiktok_claims.evaluation.metrics",
    "Balance": "tiktok_claims.config",
    "Engine": "tiktok_claims.config",
    "Outcome": "tiktok_claims.config",
    "ThresholdRuleName": "tiktok_claims.config",
    "Transform": "tiktok_claims.config",
    "load_dataset": "tiktok_claims.data.load",
    "Dataset": "tiktok_claims.data.load",
    "load_model": "tiktok_claims.artifact.store",
    "make_synthetic": "tiktok_claims.data.synthetic",
    "AnalysisError": "tiktok_claims.errors",
    "DataError": "tiktok_claims.errors",
    "ModelFileError": "tiktok_claims.errors",
    "OptionsError": "tiktok_claims.errors",
    "OutputError": "tiktok_claims.errors",
    "TiktokClaimsError": "tiktok_claims.errors",
}


def test_the_version_is_the_installed_distributions():
    from tiktok_claims._version import __version__

    assert tiktok_claims.__version__ == __version__ == version("tiktok-claims")


def test_every_public_name_resolves_to_the_object_where_it_is_defined():
    assert sorted(tiktok_claims.__all__) == sorted([*HOMES, "__version__"])
    for name, home in HOMES.items():
        assert getattr(tiktok_claims, name) is getattr(importlib.import_module(home), name), name


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'tiktok_claims' has no attribute 'fit'"):
        tiktok_claims.fit  # noqa: B018


def test_importing_the_package_and_the_command_line_loads_no_numeric_library():
    result = subprocess.run([sys.executable, "-c", IMPORTED_BY_THE_PACKAGE_AND_CLI], capture_output=True, text=True, check=True)

    loaded = set(json.loads(result.stdout))
    assert "tiktok_claims" in loaded and "typer" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


# ---------------------------------------------------------------- option types


LITERALS = {
    "Balance": ("balance", ("class-weights", "upsample", "smote", "none")),
    "Transform": ("transform", ("none", "log1p")),
    "Engine": ("engine", ("local", "spark")),
    "Outcome": ("target", tuple(c for c in config.COLUMNS if c not in ("#", "video_id", "video_transcription_text"))),
}


@pytest.mark.parametrize("name", sorted(LITERALS))
def test_each_option_type_is_a_literal_of_its_allowed_values_and_types_the_option(name):
    option, values = LITERALS[name]
    literal = getattr(tiktok_claims, name)

    assert typing.get_origin(literal) is typing.Literal
    assert typing.get_args(literal) == values
    assert typing.get_type_hints(tiktok_claims.AnalysisOptions)[option] == literal
    assert typing.get_type_hints(tiktok_claims.analyze)[option] == literal | None


def test_the_threshold_rule_is_exported_and_typed_by_its_literal():
    rule = tiktok_claims.ThresholdRule("recall", target_recall=0.9)

    assert typing.get_args(tiktok_claims.ThresholdRuleName) == ("f1", "recall", "cost") == config.THRESHOLD_RULES
    assert typing.get_type_hints(tiktok_claims.ThresholdRule)["rule"] == tiktok_claims.ThresholdRuleName
    assert tiktok_claims.AnalysisOptions(threshold_rule=rule).threshold_rule is rule


def test_analyze_takes_every_option_as_a_keyword_of_its_own():
    parameters = inspect.signature(tiktok_claims.analyze).parameters
    keywords = [name for name, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]

    assert list(parameters)[:2] == ["data", "options"]
    assert keywords == [*tiktok_claims.AnalysisOptions.names(), "progress", "on_explored", "on_evaluated"]
    assert all(parameters[name].default is None for name in keywords)


def test_the_package_is_marked_typed_and_the_wheel_ships_the_whole_package_folder():
    package = Path(tiktok_claims.__file__).parent
    wheel = tomllib.loads((package.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"]["build"]["targets"]["wheel"]

    assert (package / "py.typed").is_file()
    assert (package / "py.typed").read_bytes() == b""
    # The wheel holds every file of the package folder, as it holds the report templates.
    assert wheel == {"packages": ["src/tiktok_claims"]}
    assert (package / "reporting" / "templates").is_dir()


# ---------------------------------------------------------------- bad arguments


@pytest.fixture(scope="module")
def small_frame():
    return make_synthetic(2000, seed=12)


BAD_ARGUMENTS = {
    "an unknown balance": ({"balance": "oversample"}, "balance"),
    "a threshold rule given as text": ({"threshold_rule": "recall"}, "threshold_rule"),
    "too few folds": ({"cv_folds": 1}, "cv_folds"),
    "a calibrate that is not a bool": ({"calibrate": "yes"}, "calibrate"),
    "an unknown transform": ({"transform": "log"}, "transform"),
    "an unknown engine": ({"engine": "dask"}, "engine"),
    "a spark master that is not text": ({"spark_master": 7}, "spark_master"),
    "options that are not AnalysisOptions": ({"options": {"balance": "none"}}, "options"),
    "data that is neither a path nor a frame": ({"data": 42}, "data"),
    "an identifier as the target": ({"target": "video_id"}, "target"),
    "an unknown target": ({"target": "video_mood"}, "target"),
    "the spark engine for an ordinal outcome": ({"target": "author_ban_status", "engine": "spark"}, "engine"),
}


@pytest.mark.parametrize("case", sorted(BAD_ARGUMENTS))
def test_a_bad_argument_to_analyze_is_a_value_error_naming_it(case, small_frame):
    arguments, option = BAD_ARGUMENTS[case]
    stages = []

    with pytest.raises(ValueError) as refused:
        tiktok_claims.analyze(**{"data": small_frame, **arguments}, progress=stages.append)

    assert isinstance(refused.value, OptionsError) and refused.value.option == option
    assert option.split("_")[0] in str(refused.value)
    assert stages in ([], ["Loading and validating the data", "Choosing the modeling approach"])  # before any fit


def test_an_unknown_keyword_stays_a_type_error():
    with pytest.raises(TypeError, match="folds"):
        tiktok_claims.analyze(folds=3)


# ---------------------------------------------------------------- docstrings


def _section(doc: str, title: str) -> list[str] | None:
    """The names a numpydoc section lists (``name : type`` or ``a, b : type`` lines), or
    ``None`` without the section."""
    lines = inspect.cleandoc(doc).splitlines()
    starts = [i for i in range(len(lines) - 1) if lines[i].strip() == title and set(lines[i + 1].strip()) == {"-"}]
    if not starts:
        return None
    names = []
    for index in range(starts[0] + 2, len(lines)):
        line = lines[index]
        if index + 1 < len(lines) and line.strip() and set(lines[index + 1].strip()) == {"-"}:
            break  # the next section's title
        if line and not line[0].isspace():
            names += [name.strip().lstrip("*") for name in line.split(" : ")[0].split(",")]
    return names


def test_the_section_reader_reads_a_made_up_docstring():
    doc = """Summary.

    Parameters
    ----------
    data : str
        What it is.
        More: on a second line.
    cost_fn, cost_fp : float
        Two at once.
    **option_values
        Keywords.

    Returns
    -------
    int
    """
    assert _section(doc, "Parameters") == ["data", "cost_fn", "cost_fp", "option_values"]
    assert _section(doc, "Returns") == ["int"]
    assert _section(doc, "Raises") is None


def _public_callables():
    """Every callable of ``__all__``, the public methods of its classes and of the model
    ``load_model`` returns, by their dotted names."""
    found = {}
    classes = [getattr(tiktok_claims, name) for name in tiktok_claims.__all__ if inspect.isclass(getattr(tiktok_claims, name))]
    for name in tiktok_claims.__all__:
        value = getattr(tiktok_claims, name)
        if inspect.isfunction(value) or (inspect.isclass(value) and _own_init(value)):
            found[name] = value
    for cls in [*classes, LoadedModel]:
        for base in cls.__mro__:
            if not base.__module__.startswith("tiktok_claims"):
                continue  # what builtins and libraries define is documented there
            for attribute, value in vars(base).items():
                function = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
                if not attribute.startswith("_") and inspect.isfunction(function):
                    found.setdefault(f"{cls.__name__}.{attribute}", getattr(cls, attribute))
    return found


def _own_init(cls) -> bool:
    """A class whose constructor is its own (a dataclass's or one written out), not a builtin's."""
    return getattr(cls.__init__, "__module__", "").startswith("tiktok_claims")


PUBLIC = _public_callables()
# Known gaps, each a name of PUBLIC: the test of each is an expected failure (strict), so it
# turns red the moment the gap is closed without updating this list.
PARAMETERS_UNDOCUMENTED: dict[str, str] = {}
RETURNS_UNDOCUMENTED: dict[str, str] = {}


def _marked(names, offenders: dict[str, str]):
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=offenders[name])) if name in offenders else name
        for name in sorted(names)
    ]


def test_the_public_callables_are_found():
    assert {"analyze", "load_model", "make_synthetic", "AnalysisOptions", "ThresholdRule", "OptionsError"} <= set(PUBLIC)
    assert {"Analysis.summary", "Analysis.write", "Analysis.metrics", "FamilyAnalysis.summary", "LoadedModel.predict"} <= set(PUBLIC)
    assert set(PARAMETERS_UNDOCUMENTED) | set(RETURNS_UNDOCUMENTED) <= set(PUBLIC)


@pytest.mark.parametrize("name", _marked(PUBLIC, PARAMETERS_UNDOCUMENTED))
def test_every_public_callable_documents_each_of_its_parameters(name):
    value = PUBLIC[name]
    parameters = [p for p in inspect.signature(value).parameters if p not in ("self", "cls")]
    doc = inspect.getdoc(value) or ""
    documented = _section(doc, "Parameters")
    if inspect.isclass(value) and documented is None:
        documented = _section(doc, "Attributes")  # a results object's fields are its attributes

    if parameters:
        assert documented == parameters, f"{name}: documents {documented}, takes {parameters}"


@pytest.mark.parametrize("name", _marked((n for n, value in PUBLIC.items() if not inspect.isclass(value)), RETURNS_UNDOCUMENTED))
def test_every_public_function_that_returns_something_documents_it(name):
    value = PUBLIC[name]
    returns = inspect.signature(value).return_annotation

    if returns not in (None, "None", inspect.Signature.empty):
        assert _section(inspect.getdoc(value) or "", "Returns"), f"{name} returns {returns} but has no Returns section"


@pytest.mark.parametrize("name", ["analyze", "load_model", "make_synthetic", "LoadedModel.predict", "LoadedModel.predict_proba", "Analysis.write"])
def test_the_functions_that_refuse_input_document_what_they_raise(name):
    assert _section(inspect.getdoc(PUBLIC[name]) or "", "Raises")


def test_help_of_analyze_names_every_option():
    text = inspect.getdoc(tiktok_claims.analyze)

    for option in tiktok_claims.AnalysisOptions.names():
        assert f"\n{option} : " in f"\n{text}", option


def test_the_committed_api_reference_documents_every_public_name():
    """``docs/api`` is rebuilt by ``python docs/build_api.py`` (pdoc) whenever the public API changes."""
    page = (Path(tiktok_claims.__file__).parents[2] / "docs" / "api" / "tiktok_claims.html").read_text(encoding="utf-8")

    for name in tiktok_claims.__all__:
        assert f'id="{name}"' in page, f"docs/api lacks {name}: run python docs/build_api.py"
    for method in ("summary", "write"):
        assert f'href="tiktok_claims/analysis/results.html#Results.{method}"' in page
