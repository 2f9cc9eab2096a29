"""Shared fixtures. Real-data tests read the dataset beside the checkout (or $TIKTOK_DATA);
under CI (CI=true) a missing dataset is a failure, never a skip."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

from tiktok_claims import config

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


# ---------------------------------------------------------------- made-up records


def _made_up_record(number: int) -> dict[str, str]:
    """One valid record, every value invented (no real rows are used), as the text of each cell."""
    return {
        config.ID_COLUMN: str(number),
        config.CLAIM: config.CATEGORIES[config.CLAIM][number % 2],
        config.VIDEO_ID: str(7_000_000_000 + number),
        config.DURATION: str(5 + number % 55),
        config.TRANSCRIPT: f"made-up transcript number {number}",
        config.VERIFIED: config.CATEGORIES[config.VERIFIED][number % 2],
        config.BAN: config.CATEGORIES[config.BAN][number % 3],
        config.VIEWS: str(1000 * number),
        config.LIKES: str(100 * number),
        config.SHARES: str(10 * number),
        config.DOWNLOADS: str(number),
        config.COMMENTS: str(number // 2),
    }


@pytest.fixture(scope="session")
def made_up_record():
    """The factory ``made_up_record(number) -> {column: text}`` of one valid, invented record."""
    return _made_up_record
