"""tiktok-claims: an honest logistic regression of TikTok video characteristics.

>>> import tiktok_claims as tc
>>> result = tc.analyze("tiktok_dataset.csv", target="verified_status")  # doctest: +SKIP
>>> print(result.summary())  # doctest: +SKIP
>>> result.write("out")  # doctest: +SKIP
>>> tc.load_model("out/model.json").predict(new_videos)  # doctest: +SKIP

:func:`analyze` returns an :class:`Analysis` (a binary outcome) or a
:class:`FamilyAnalysis` (ordinal, count or continuous); :func:`load_model` reads back the
model that ``run`` and :meth:`Analysis.write` save. The option types (:data:`Balance`,
:data:`ThresholdRuleName`, :data:`Transform`, :data:`Engine`, :data:`Outcome`) are
``Literal`` types for type checkers. Errors of a bad argument or bad data are
``ValueError`` subclasses (:class:`OptionsError`, :class:`DataError`).

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
    "ThresholdRule": "tiktok_claims.evaluation.metrics",
    "Balance": "tiktok_claims.config",
    "Engine": "tiktok_claims.config",
    "Outcome": "tiktok_claims.config",
    "ThresholdRuleName": "tiktok_claims.config",
    "Transform": "tiktok_claims.config",
    "load_dataset": "tiktok_claims.data.load",
    "load_model": "tiktok_claims.artifact.store",
    "Dataset": "tiktok_claims.data.load",
    "make_synthetic": "tiktok_claims.data.synthetic",
    "AnalysisError": "tiktok_claims.errors",
    "DataError": "tiktok_claims.errors",
    "ModelFileError": "tiktok_claims.errors",
    "OptionsError": "tiktok_claims.errors",
    "OutputError": "tiktok_claims.errors",
    "TiktokClaimsError": "tiktok_claims.errors",
}

__all__ = [*_EXPORTS, "__version__"]

if TYPE_CHECKING:
    from .analysis import Analysis, AnalysisOptions, FamilyAnalysis, analyze
    from .artifact.store import load_model
    from .config import Balance, Engine, Outcome, ThresholdRuleName, Transform
    from .data.load import Dataset, load_dataset
    from .data.synthetic import make_synthetic
    from .errors import AnalysisError, DataError, ModelFileError, OptionsError, OutputError, TiktokClaimsError
    from .evaluation.metrics import ThresholdRule


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tiktok_claims' has no attribute {name!r}")
