"""tiktok-claims: an honest logistic regression of TikTok video characteristics.

The public API is imported lazily so that ``tiktok-claims --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

_EXPORTS = {
    "analyze": "tiktok_claims.analysis",
    "Analysis": "tiktok_claims.analysis",
    "AnalysisOptions": "tiktok_claims.analysis",
    "FamilyAnalysis": "tiktok_claims.analysis",
    "load_dataset": "tiktok_claims.data.load",
    "load_model": "tiktok_claims.artifact.store",
    "Dataset": "tiktok_claims.data.load",
    "make_synthetic": "tiktok_claims.data.synthetic",
    "DataError": "tiktok_claims.errors",
    "ModelFileError": "tiktok_claims.errors",
    "OptionsError": "tiktok_claims.errors",
    "TiktokClaimsError": "tiktok_claims.errors",
}

__all__ = [*_EXPORTS, "__version__"]

if TYPE_CHECKING:
    from .analysis import Analysis, AnalysisOptions, FamilyAnalysis, analyze
    from .artifact.store import load_model
    from .data.load import Dataset, load_dataset
    from .data.synthetic import make_synthetic
    from .errors import DataError, ModelFileError, OptionsError, TiktokClaimsError


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tiktok_claims' has no attribute {name!r}")
