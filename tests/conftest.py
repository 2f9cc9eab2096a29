"""Shared fixtures. Real-data tests read the dataset beside the checkout (or $TIKTOK_DATA);
under CI (CI=true) a missing dataset is a failure, never a skip.

What several test modules need lives here as a fixture, never as an import from another
test module. The expensive results are computed once per session: the real-data
analysis (``real_analysis``) and the real-data ``run`` command (``real_run``).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from typer.testing import CliRunner

from tiktok_claims import config, escaping
from tiktok_claims.analysis import analyze
from tiktok_claims.approach import choose_approach
from tiktok_claims.artifact.store import save_model
from tiktok_claims.cli import app
from tiktok_claims.data.load import load_dataset
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.model.features import select_features
from tiktok_claims.model.split import split

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
    return load_dataset(real_data_path)


@pytest.fixture(scope="session")
def real_analysis(real_data_path):
    """``analyze`` of the real data with every default."""
    return analyze(str(real_data_path))


@pytest.fixture(scope="session")
def real_parts(real_analysis) -> dict:
    """Every used row, the training and test rows of the real analysis, with 0/1 labels computed here."""
    frame = real_analysis.dataset.frame
    train, test = frame.loc[real_analysis.split.train], frame.loc[real_analysis.split.test]
    return {
        "frame": frame,
        "train": train,
        "test": test,
        "y": (frame[config.VERIFIED] == "verified").astype(int),
        "y_train": (train[config.VERIFIED] == "verified").astype(int),
        "y_test": (test[config.VERIFIED] == "verified").astype(int),
    }


@pytest.fixture(scope="session")
def real_model(real_analysis, tmp_path_factory) -> dict:
    """The real analysis saved: ``model.json``, ``model_card.json`` and ``model_card.md`` by name."""
    return save_model(real_analysis, tmp_path_factory.mktemp("real-model") / "model.json")


@pytest.fixture(scope="session")
def real_run(real_data_path, tmp_path_factory) -> SimpleNamespace:
    """``tiktok-claims run --data <real> --out <tmp> --quiet``, in-process.

    ``result`` is the CliRunner result, ``out`` the output directory, and ``neutralized``
    the frames handed to :func:`tiktok_claims.escaping.neutralize_frame` (so a test can
    tell which CSV outputs went through the formula guard).
    """
    out = tmp_path_factory.mktemp("real-run") / "out"
    neutralized = []
    original = escaping.neutralize_frame

    def recording(frame):
        neutralized.append(frame.copy())
        return original(frame)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(escaping, "neutralize_frame", recording)
        result = CliRunner().invoke(app, ["run", "--data", str(real_data_path), "--out", str(out), "--quiet"])
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not escaped, f"uncaught {result.exception!r}; output: {result.output}"
    assert result.exit_code == 0, result.output
    return SimpleNamespace(result=result, out=out, neutralized=neutralized)


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


class MadeUpClaims:
    """Claims files of made-up records (``_made_up_record``), edited cell by cell or line by line."""
    header = ",".join(config.COLUMNS)
    n_rows = 5
    png_bytes = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01"
        b"\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    record = staticmethod(_made_up_record)

    @staticmethod
    def line(record: dict[str, str]) -> str:
        """The CSV line of ``record`` (no field needs quoting)."""
        return ",".join(record[column] for column in config.COLUMNS)

    def csv(
        self,
        n_rows: int = n_rows,
        cells: dict[tuple[int, str], str] | None = None,
        lines: dict[int, str] | None = None,
    ) -> str:
        """CSV text of ``n_rows`` valid made-up rows, with the header on line 1.

        ``cells`` maps ``(line, column)`` to the raw text that cell should hold instead;
        ``lines`` maps a line number to the raw text of the whole line.
        """
        records = [self.record(number) for number in range(1, n_rows + 1)]
        for (line, column), value in (cells or {}).items():
            records[line - 2][column] = value
        text_lines = [self.header, *(self.line(r) for r in records)]
        for line, text in (lines or {}).items():
            text_lines[line - 1] = text
        return "\n".join(text_lines) + "\n"

    def requoted(self, number: int) -> str:
        """The line of record ``number`` as a spreadsheet re-quotes it: the whole record in one field."""
        return '"' + self.line(self.record(number)) + '"'

    @staticmethod
    def cut_last_line(text: str, keep: int) -> str:
        """``text`` cut ``keep`` characters into its last line, with no final newline."""
        start_of_last_line = text.rstrip("\n").rindex("\n") + 1
        return text[: start_of_last_line + keep]

    @staticmethod
    def write(directory: Path, content: str | bytes, name: str = "claims.csv") -> Path:
        """Write ``content`` byte for byte (no newline translation)."""
        path = directory / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path


@pytest.fixture(scope="session")
def claims() -> MadeUpClaims:
    """Made-up claims files: ``claims.csv(n_rows, cells, lines)``, ``claims.write(directory, content)``, ..."""
    return MadeUpClaims()


# ---------------------------------------------------------------- made-up model data


def _made_up_logit_data(n: int = 1500, seed: int = 0):
    """Raw-scale predictors (``count`` with zeros), a dummy, and an outcome curved in ``size``."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "size": rng.uniform(1, 100, n),
            "count": rng.poisson(3, n).astype(float),
            "flag": rng.integers(0, 2, n).astype(float),
        }
    )
    eta = -2 + 0.8 * np.log(frame["size"]) - 0.1 * frame["count"] + 0.5 * frame["flag"]
    y = pd.Series(rng.binomial(1, expit(eta)), name="y")
    return frame, y


def _design_by_hand(train, rows, spec):
    """``rows`` encoded as the model reads them, computed here with numpy: log(1 + x) where
    ``spec.log1p`` says, standardized with the training rows' mean and population SD, then
    one dummy per non-reference level (no constant)."""
    columns = {}
    for name in spec.continuous:
        reference, values = train[name].to_numpy(dtype=float), rows[name].to_numpy(dtype=float)
        if name in spec.log1p:
            reference, values = np.log1p(reference), np.log1p(values)
        columns[name] = (values - reference.mean()) / reference.std()
    for name in spec.categorical:
        for level in config.CATEGORIES[name][1:]:
            columns[f"{name}_{level}"] = (rows[name] == level).to_numpy(dtype=float)
    return pd.DataFrame(columns, index=rows.index)


@pytest.fixture(scope="session")
def design_by_hand():
    """``design_by_hand(train, rows, spec) -> DataFrame``: the encoded predictors of ``rows``, built with numpy."""
    return _design_by_hand


@pytest.fixture(scope="session")
def family_parts():
    """``family_parts(target)``: a synthetic frame (4,000 rows) split and prepared for ``target``
    as ``run`` does it: ``approach``, ``train``, ``test`` and the feature ``spec``."""
    frame = make_synthetic(4_000, seed=9).dropna().reset_index(drop=True)

    def parts(target: str) -> SimpleNamespace:
        approach = choose_approach(frame, target)
        rows = split(frame, approach.stratify_on, seed=3)
        train, test = frame.loc[rows.train], frame.loc[rows.test]
        return SimpleNamespace(approach=approach, train=train, test=test, spec=select_features(train, target))

    return parts


@pytest.fixture(scope="session")
def made_up_logit_data():
    """``made_up_logit_data(n=1500, seed=0) -> (frame, y)``: overlapping classes whose log-odds bend in ``size``."""
    return _made_up_logit_data


# ---------------------------------------------------------------- model artifacts


def _write_artifact(path: Path, document, *, fix_checksum: bool = False) -> Path:
    """Write ``document`` (any JSON value) as JSON at ``path``.

    With ``fix_checksum`` its ``payload_sha256`` is first recomputed from its (edited)
    payload, here with hashlib over the sorted-key JSON, as a careless editor would.
    """
    if fix_checksum:
        body = json.dumps(document["payload"], sort_keys=True)
        document = {**document, "payload_sha256": hashlib.sha256(body.encode("utf-8")).hexdigest()}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def claim_model(tmp_path_factory) -> SimpleNamespace:
    """A claim-status model (the backlog's real need) and its saved files.

    Fitted on a small synthetic frame in which a fifth of the claim labels were flipped:
    the generator's claims and opinions have disjoint view counts, which no logistic fit
    converges on. ``analysis`` is the results object, ``written`` the files by name.
    """
    frame = make_synthetic(4000, seed=1)
    flip = frame[config.CLAIM].notna() & (np.random.default_rng(0).random(len(frame)) < 0.2)
    frame.loc[flip, config.CLAIM] = frame.loc[flip, config.CLAIM].map({"claim": "opinion", "opinion": "claim"})
    analysis = analyze(frame, target=config.CLAIM, bootstrap=100, cv_folds=2, workers=1)
    return SimpleNamespace(analysis=analysis, written=save_model(analysis, tmp_path_factory.mktemp("claim-model") / "model.json"))


@pytest.fixture(scope="session")
def write_artifact():
    """``write_artifact(path, document, fix_checksum=False) -> path``: an artifact document, edited or not, on disk."""
    return _write_artifact


@pytest.fixture(scope="session")
def logistic_check_names() -> list[str]:
    """The logistic checklist, in reading order, as the reports promise it."""
    return [
    "Outcome is binary",
    "Independence of observations",
    "Multicollinearity (VIF)",
    "Linearity of the log-odds (Box-Tidwell)",
    "Influential observations",
    "Events per variable",
    "Separation",
    "Goodness of fit (Hosmer-Lemeshow)",
    "McFadden pseudo-R²",
    "Likelihood-ratio test vs null",
]


# ---------------------------------------------------------------- special files


@pytest.fixture()
def fifo(tmp_path):
    """``fifo(name, content=b"{}") -> Path``: a FIFO (named pipe) in ``tmp_path``.

    A thread waits to write ``content`` into it, so that code which opens the FIFO and
    reads it (instead of refusing it) gets an answer rather than hanging the test run; at
    teardown the thread is released by opening the FIFO's other end here.
    """
    if not hasattr(os, "mkfifo"):  # Windows: no named pipes in the file system, so nothing to refuse
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("os.mkfifo is missing; CI runs on Linux, where the FIFO tests must run")
        pytest.skip(reason="os.mkfifo is missing on this platform (Windows): FIFO paths cannot exist here")
    made: list[tuple[Path, threading.Thread]] = []

    def make(name: str, content: bytes = b"{}") -> Path:
        path = tmp_path / name
        os.mkfifo(path)

        def feed() -> None:
            with open(path, "wb") as writer:  # blocks until a reader opens the FIFO
                writer.write(content)

        thread = threading.Thread(target=feed, daemon=True)
        thread.start()
        made.append((path, thread))
        return path

    yield make
    for path, thread in made:
        if thread.is_alive():
            reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            thread.join(timeout=5)
            os.close(reader)
