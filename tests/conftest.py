"""Shared fixtures. Real-data tests read the dataset beside the checkout (or $TIKTOK_DATA);
under CI (CI=true) a missing dataset is a failure, never a skip."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REAL_DATA = REPO.parent / "shared" / "data" / "tiktok_dataset.csv"


def _real_data_path() -> Path:
    return Path(os.environ.get("TIKTOK_DATA", DEFAULT_REAL_DATA))


@pytest.fixture(scope="session")
def real_data_path() -> Path:
    path = _real_data_path()
    if not path.is_file():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"real dataset not found at {path}; CI must run the real-data tests")
        pytest.skip(reason=f"real dataset not found at {path} (set TIKTOK_DATA)")
    return path


@pytest.fixture(scope="session")
def real_dataset(real_data_path):
    from tiktok_claims.data.load import load_dataset

    return load_dataset(real_data_path)
