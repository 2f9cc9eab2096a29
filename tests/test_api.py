"""The public API (``tiktok_claims/__init__.py`` and ``_version.py``): every name in
``__all__`` resolves to the object of its module, lazily, so that importing the package
(and the command line, for ``--help``) loads none of the numeric libraries."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from importlib.metadata import version

import pytest

import tiktok_claims

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
    "load_dataset": "tiktok_claims.data.load",
    "Dataset": "tiktok_claims.data.load",
    "load_model": "tiktok_claims.artifact.store",
    "make_synthetic": "tiktok_claims.data.synthetic",
    "DataError": "tiktok_claims.errors",
    "ModelFileError": "tiktok_claims.errors",
    "OptionsError": "tiktok_claims.errors",
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
