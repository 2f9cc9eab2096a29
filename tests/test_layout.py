"""The package's shape, read from its source with ``ast``: layers, cycles, size, deferred
imports, and a test module for each module (``TEST_MODULES``: where to find its tests).

Every ``import`` and ``from ... import`` statement of every module is read, at module
level and inside functions, absolute and relative. A ``from X import name`` counts as
an import of the module ``X.name`` when that module exists, else of ``X``. Importing a
submodule also runs its packages' ``__init__``; that implied import is not counted
(else the package's own ``__init__``, which re-exports its submodules, would make every
package a cycle).

Known offenders are marked ``xfail(strict=True)`` one module at a time, so the test
turns red the moment one is fixed without updating the lists below.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import tiktok_claims

PACKAGE = "tiktok_claims"
SOURCE = Path(tiktok_claims.__file__).resolve().parent

# The layer order, lowest first, by the first component of a module's name under the
# package. A module may import from its own layer and the layers below it, never above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("config", "errors", "escaping", "folders", "parallel", "stdio", "timing", "_version"),
    ("data",),
    ("eda", "approach"),
    ("model",),
    ("diagnostics", "evaluation", "interpretation", "spark"),
    ("analysis",),
    ("reporting", "artifact"),
    ("scoring",),
)
# The top: the command line (also run as ``python -m``) and the public API (with the writer of
# a run's files that both use) may import anything.
TOP = ("cli", "__main__", "__init__", "outputs")

MAX_LINES = 600
# Imported inside functions on purpose: optional dependencies, required ones that are slow to
# import and needed by one option only (imbalanced-learn loads scikit-learn's test utilities:
# imported where a balance strategy resamples), the package's modules that exist only for
# Spark, the figures (matplotlib loads only in the process that draws: ``run`` draws in the
# printer's process, the analysis never plots), anything in cli.py (deferred so that
# `--help` stays fast) and in the printer's module (imported first, so that its process
# starts before the rest of the package is loaded).
OPTIONAL_DEPENDENCIES = ("pyspark", "weasyprint", "nbformat", "nbclient", "ipykernel", "jupyter_client")
SLOW_FOR_ONE_OPTION = ("imblearn",)
SPARK_ONLY_MODULES = (f"{PACKAGE}.spark", f"{PACKAGE}.scoring.spark")
DRAWING_MODULES = (f"{PACKAGE}.reporting.figures",)
DEFERS_EVERYTHING = (f"{PACKAGE}.cli", f"{PACKAGE}.reporting.printer")
# The upward imports made on purpose, each only inside a function (importer -> imported): a
# results object writes the files of ``run`` (``Analysis.write``) through the top's writer,
# which renders results objects and so cannot be imported by them at module level.
DEFERRED_UPWARD: dict[str, str] = {f"{PACKAGE}.analysis.results": f"{PACKAGE}.outputs"}

# Known offenders, each a module's name (none today).
TOO_LONG: dict[str, str] = {}
FUNCTION_LOCAL_IMPORTS: dict[str, str] = {}
LAYER_VIOLATIONS: dict[str, str] = {}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module, absolute
    line: int
    local: bool  # inside a function


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(path): path for path in sorted(SOURCE.rglob("*.py"))}


def _resolve(source: str, node: ast.ImportFrom) -> str:
    """The absolute module name of a ``from`` import's base."""
    if node.level == 0:
        return node.module or ""
    package = source if MODULES[source].name == "__init__.py" else source.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imports_in(source: str, text: str) -> list[Import]:
    """Every import statement of ``text``, the source of the module named ``source``."""
    found = []

    def visit(node: ast.AST, local: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(source, alias.name, node.lineno, local) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(source, node)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.append(Import(source, submodule if submodule in MODULES else base, node.lineno, local))
        inside = local or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(ast.parse(text), False)
    return found


IMPORTS: dict[str, list[Import]] = {name: imports_in(name, path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


def layer_of(module: str) -> int:
    """The index of ``module``'s layer in ``LAYERS``; ``len(LAYERS)`` for the top."""
    parts = module.split(".")
    first = parts[1] if len(parts) > 1 else "__init__"
    if first in TOP:
        return len(LAYERS)
    for index, layer in enumerate(LAYERS):
        if first in layer:
            return index
    raise AssertionError(f"{module} is in no layer: add {first!r} to LAYERS in {__file__}")


def internal(imports: list[Import]) -> list[Import]:
    return [i for i in imports if i.target == PACKAGE or i.target.startswith(f"{PACKAGE}.")]


def known(offenders: dict[str, str]) -> list:
    """Every module, its known offenders marked as strict expected failures."""
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=offenders[name])) if name in offenders else name
        for name in MODULES
    ]


# ---------------------------------------------------------------- the reading itself


def test_every_module_is_read_and_imports_resolve_to_modules_that_exist():
    assert {f"{PACKAGE}.config", f"{PACKAGE}.data.load", f"{PACKAGE}.analysis", f"{PACKAGE}.cli"} <= set(MODULES)
    for imports in IMPORTS.values():
        for found in internal(imports):
            assert found.target in MODULES, f"{found.source}:{found.line} imports {found.target}, which is no module"


MADE_UP_SOURCE = """
import numpy as np
from .. import config
from ..data.load import load_dataset
from . import figures
from .render import format_number


def deferred():
    from ..spark.fit import fit_spark
    from weasyprint import HTML
"""


def test_absolute_relative_and_function_local_imports_are_resolved():
    found = [(i.target, i.line, i.local) for i in imports_in(f"{PACKAGE}.reporting.kinds", MADE_UP_SOURCE)]

    assert found == [
        ("numpy", 2, False),
        (f"{PACKAGE}.config", 3, False),
        (f"{PACKAGE}.data.load", 4, False),
        (f"{PACKAGE}.reporting.figures", 5, False),
        (f"{PACKAGE}.reporting.render", 6, False),
        (f"{PACKAGE}.spark.fit", 10, True),
        ("weasyprint", 11, True),
    ]
    # In a package's __init__, one dot is the package itself.
    assert [i.target for i in imports_in(f"{PACKAGE}.analysis", "from .options import AnalysisOptions")] == [
        f"{PACKAGE}.analysis.options"
    ]


def test_layers_name_every_top_level_module_and_package_once():
    names = [name for layer in LAYERS for name in layer] + list(TOP)
    present = {path.stem for path in SOURCE.glob("*.py")} | {path.parent.name for path in SOURCE.glob("*/__init__.py")}

    assert len(names) == len(set(names))
    assert present == set(names)


def test_every_known_offender_is_a_module():
    for offenders in (TOO_LONG, FUNCTION_LOCAL_IMPORTS, LAYER_VIOLATIONS):
        assert set(offenders) <= set(MODULES)


# ---------------------------------------------------------------- the rules


@pytest.mark.parametrize("module", known(LAYER_VIOLATIONS))
def test_imports_point_down_the_layers(module):
    upward = [
        f"line {i.line}: {i.target} (layer {layer_of(i.target)})"
        for i in internal(IMPORTS[module])
        if layer_of(i.target) > layer_of(module) and not _deferred_upward(i)
    ]

    assert upward == [], f"{module} (layer {layer_of(module)}) imports from above"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges[node]:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def import_graph() -> dict[str, set[str]]:
    return {name: {i.target for i in internal(imports)} for name, imports in IMPORTS.items()}


def test_cycle_finder_finds_a_made_up_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}

    assert sorted(_cycles(edges)) == [["a", "b", "c"], ["e"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules():
    assert _cycles(import_graph()) == []


@pytest.mark.parametrize("module", known(TOO_LONG))
def test_no_module_is_over_600_lines(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())

    assert lines <= MAX_LINES, f"{module} has {lines} lines"


def _deferred_upward(found: Import) -> bool:
    """One of the upward imports made on purpose, and made inside a function."""
    return found.local and DEFERRED_UPWARD.get(found.source) == found.target


def test_the_deferred_upward_imports_exist_and_are_inside_functions():
    for source, target in DEFERRED_UPWARD.items():
        assert layer_of(target) > layer_of(source), f"{source} -> {target} is no upward import: remove it from DEFERRED_UPWARD"
        made = [i for i in IMPORTS[source] if i.target == target]
        assert made and all(i.local for i in made), f"{source} imports {target} at module level (or never)"


def test_a_deferred_upward_import_is_allowed_only_inside_a_function():
    source, target = next(iter(DEFERRED_UPWARD.items()))

    assert _deferred_upward(Import(source, target, 1, local=True))
    assert not _deferred_upward(Import(source, target, 1, local=False))
    assert not _deferred_upward(Import(source, f"{PACKAGE}.cli", 1, local=True))


def _deferral_allowed(found: Import) -> bool:
    if found.source in DEFERS_EVERYTHING or _deferred_upward(found):
        return True
    if found.target.split(".")[0] in (*OPTIONAL_DEPENDENCIES, *SLOW_FOR_ONE_OPTION):
        return True
    return any(found.target == m or found.target.startswith(f"{m}.") for m in (*SPARK_ONLY_MODULES, *DRAWING_MODULES))


@pytest.mark.parametrize("module", known(FUNCTION_LOCAL_IMPORTS))
def test_function_local_imports_are_only_of_optional_or_spark_only_modules(module):
    deferred = [f"line {i.line}: {i.target}" for i in IMPORTS[module] if i.local and not _deferral_allowed(i)]

    assert deferred == [], f"{module} imports inside functions what it could import at the top"


def test_config_imports_the_standard_library_only():
    imported = {i.target.split(".")[0] for i in IMPORTS[f"{PACKAGE}.config"]}

    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


# ---------------------------------------------------------------- a test module for each module

TESTS = Path(__file__).resolve().parent

# Where the tests of each module are: tests/test_<module>.py or tests/test_<package>_<module>.py
# (test_<package>.py for a small package). A new module needs a line here and a test module.
TEST_MODULES: dict[str, str] = {
    PACKAGE: "test_api.py",
    f"{PACKAGE}._version": "test_api.py",
    f"{PACKAGE}.config": "test_config.py",
    f"{PACKAGE}.errors": "test_errors.py",
    f"{PACKAGE}.escaping": "test_escaping.py",
    f"{PACKAGE}.parallel": "test_parallel.py",
    f"{PACKAGE}.timing": "test_timing.py",
    f"{PACKAGE}.folders": "test_folders.py",
    f"{PACKAGE}.stdio": "test_cli_stdio.py",
    f"{PACKAGE}.data.schema": "test_data_schema.py",
    f"{PACKAGE}.data.rules": "test_rules.py",
    f"{PACKAGE}.data.load": "test_load.py",
    f"{PACKAGE}.data.files": "test_data_files.py",
    f"{PACKAGE}.data.csv_lines": "test_data_csv_lines.py",
    f"{PACKAGE}.data.checking": "test_data_checking.py",
    f"{PACKAGE}.data.synthetic": "test_synthetic.py",
    f"{PACKAGE}.eda": "test_eda.py",
    f"{PACKAGE}.approach": "test_approach.py",
    f"{PACKAGE}.model.features": "test_features.py",
    f"{PACKAGE}.model.formula": "test_model_formula.py",
    f"{PACKAGE}.model.transforms": "test_transforms.py",
    f"{PACKAGE}.model.split": "test_split.py",
    f"{PACKAGE}.model.separation": "test_separation.py",
    f"{PACKAGE}.model.firth": "test_firth.py",
    f"{PACKAGE}.model.logistic": "test_model_logistic.py",
    f"{PACKAGE}.model.design": "test_model_design.py",
    f"{PACKAGE}.model.irls": "test_model_irls.py",
    f"{PACKAGE}.model.families": "test_model_families.py",
    f"{PACKAGE}.model.stability": "test_stability.py",
    f"{PACKAGE}.diagnostics.check": "test_diagnostics_check.py",
    f"{PACKAGE}.diagnostics.statistics": "test_statistics.py",
    f"{PACKAGE}.diagnostics.logistic": "test_diagnostics_logistic.py",
    f"{PACKAGE}.diagnostics.families": "test_diagnostics_families.py",
    f"{PACKAGE}.evaluation.metrics": "test_metrics.py",
    f"{PACKAGE}.evaluation.cross_validation": "test_cross_validation.py",
    f"{PACKAGE}.evaluation.leakage": "test_leakage.py",
    f"{PACKAGE}.evaluation.families": "test_evaluation_families.py",
    f"{PACKAGE}.interpretation.wording": "test_wording.py",
    f"{PACKAGE}.interpretation.effects": "test_interpretation_effects.py",
    f"{PACKAGE}.interpretation.findings": "test_findings.py",
    f"{PACKAGE}.interpretation.separation": "test_interpretation_separation.py",
    f"{PACKAGE}.interpretation.subjects": "test_interpretation_story.py",
    f"{PACKAGE}.interpretation.story": "test_interpretation_story.py",
    f"{PACKAGE}.interpretation.family_story": "test_interpretation_story.py",
    f"{PACKAGE}.interpretation.summary": "test_interpretation_story.py",
    f"{PACKAGE}.interpretation.course": "test_interpretation_story.py",
    f"{PACKAGE}.spark.session": "test_spark.py",
    f"{PACKAGE}.spark.fit": "test_spark.py",
    f"{PACKAGE}.analysis": "test_analysis.py",
    f"{PACKAGE}.analysis.options": "test_analysis_options.py",
    f"{PACKAGE}.analysis.records": "test_analysis_records.py",
    f"{PACKAGE}.analysis.preflight": "test_analysis_preflight.py",
    f"{PACKAGE}.analysis.binary": "test_analysis_binary.py",
    f"{PACKAGE}.analysis.families": "test_analysis_families.py",
    f"{PACKAGE}.analysis.results": "test_analysis_results.py",
    f"{PACKAGE}.reporting.figures": "test_figures.py",
    f"{PACKAGE}.reporting.kinds": "test_reporting_kinds.py",
    f"{PACKAGE}.reporting.render": "test_reporting_render.py",
    f"{PACKAGE}.reporting.pdf": "test_reporting_pdf.py",
    f"{PACKAGE}.reporting.printer": "test_reporting_printer.py",
    f"{PACKAGE}.reporting.notebook": "test_reporting_notebook.py",
    f"{PACKAGE}.artifact.schema": "test_artifact_schema.py",
    f"{PACKAGE}.artifact.model": "test_artifact_model.py",
    f"{PACKAGE}.artifact.card": "test_artifact_card.py",
    f"{PACKAGE}.artifact.store": "test_artifact_store.py",
    f"{PACKAGE}.artifact.description": "test_artifact_description.py",
    f"{PACKAGE}.scoring.local": "test_scoring.py",
    f"{PACKAGE}.scoring.contract": "test_scoring_contract.py",
    f"{PACKAGE}.scoring.csv_records": "test_scoring_contract.py",
    f"{PACKAGE}.scoring.reading": "test_scoring_contract.py",
    f"{PACKAGE}.scoring.writing": "test_scoring_contract.py",
    f"{PACKAGE}.scoring.merge": "test_scoring_merge.py",
    f"{PACKAGE}.scoring.spark": "test_spark_scoring.py",
    f"{PACKAGE}.outputs": "test_outputs.py",
    f"{PACKAGE}.cli": "test_cli.py",
    f"{PACKAGE}.__main__": "test_cli_main.py",
}


def _holds_code(module: str) -> bool:
    """Whether a module has anything besides its docstring (empty package markers need no tests)."""
    body = ast.parse(MODULES[module].read_text(encoding="utf-8")).body
    return any(not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) for node in body)


def _test_imports(test_file: str) -> set[str]:
    """Every module a test module imports, anywhere in it (absolute imports only, as tests use)."""
    found = set()
    for node in ast.walk(ast.parse((TESTS / test_file).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_every_module_with_code_has_a_test_module_listed():
    with_code = {name for name in MODULES if _holds_code(name)}

    assert with_code - set(TEST_MODULES) == set(), "add the new module's test module to TEST_MODULES"
    assert set(TEST_MODULES) - set(MODULES) == set(), "TEST_MODULES lists a module that no longer exists"


@pytest.mark.parametrize("module", sorted(TEST_MODULES))
def test_the_test_module_exists_and_imports_its_module(module):
    test_file = TEST_MODULES[module]

    assert (TESTS / test_file).is_file(), f"{test_file} (the tests of {module}) does not exist"
    assert module in _test_imports(test_file), f"{test_file} never imports {module}"


@pytest.mark.parametrize("module", sorted(name for name in TEST_MODULES if name.count(".") >= 1 and name != f"{PACKAGE}._version"))
def test_the_test_module_is_named_after_its_module(module):
    *_, package, name = module.split(".")
    words = set(TEST_MODULES[module].removeprefix("test_").removesuffix(".py").split("_"))

    assert set(name.strip("_").split("_")) <= words or (package != PACKAGE and package in words), TEST_MODULES[module]
