"""The files of a run (``outputs.py``): ``Analysis.write`` writes what ``run`` writes, through
the same folder rules (a foreign file refused, the whole set or nothing, the previous run's
files replaced)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tiktok_claims.outputs
from tiktok_claims import config
from tiktok_claims.analysis import analyze
from tiktok_claims.cli import app
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.errors import OutputError
from tiktok_claims.folders import LOCK, MANIFEST

# The options both ways of writing are given; the command line takes the others' defaults.
OPTIONS = {"seed": 3, "cv_folds": 2, "bootstrap": 100, "workers": 1}
FLAGS = ["--seed", "3", "--cv-folds", "2", "--bootstrap", "100", "--workers", "1"]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("outputs-data") / "claims.csv"
    make_synthetic(3000, seed=1).to_csv(path, index=False)
    return path


def _files(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


@pytest.mark.parametrize("target", [config.VERIFIED, config.BAN])
def test_write_produces_the_files_of_run(target, data_file, tmp_path):
    result = CliRunner().invoke(app, ["run", str(data_file), "--target", target, "--out", str(tmp_path / "run"), "--quiet", *FLAGS])
    assert result.exit_code == 0, result.output
    analysis = analyze(data_file, target=target, **OPTIONS)

    written = analysis.write(tmp_path / "write")

    assert _files(tmp_path / "write") == _files(tmp_path / "run")
    assert set(written) == _files(tmp_path / "write") - {LOCK, MANIFEST}
    assert all(path == tmp_path / "write" / name and path.is_file() for name, path in written.items())
    manifest = json.loads((tmp_path / "write" / MANIFEST).read_text(encoding="utf-8"))
    assert manifest == json.loads((tmp_path / "run" / MANIFEST).read_text(encoding="utf-8"))
    for name in ("coefficients.csv", "set_aside_rows.csv"):
        assert (tmp_path / "write" / name).read_bytes() == (tmp_path / "run" / name).read_bytes()
    run_metrics, write_metrics = (json.loads((tmp_path / out / "metrics.json").read_text()) for out in ("run", "write"))
    assert write_metrics["coefficients"] == run_metrics["coefficients"]
    assert write_metrics["test"] == run_metrics["test"]


@pytest.fixture(scope="module")
def binary(claim_model):
    return claim_model.analysis


def test_write_refuses_a_folder_holding_a_file_no_run_wrote(binary, tmp_path):
    (tmp_path / "report.html").write_text("a user's own report", encoding="utf-8")

    with pytest.raises(OutputError, match="report.html"):
        binary.write(tmp_path)

    assert _files(tmp_path) == {"report.html"}


def test_an_error_while_writing_leaves_the_folder_as_it_was(binary, tmp_path, monkeypatch):
    binary.write(tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in _files(tmp_path)}

    def fail(*args):
        raise OutputError("the disk filled up")

    monkeypatch.setattr(tiktok_claims.outputs, "save_artifact", fail)
    with pytest.raises(OutputError, match="disk filled up"):
        binary.write(tmp_path)

    assert {name: (tmp_path / name).read_bytes() for name in _files(tmp_path)} == before


def test_an_error_in_a_new_folder_leaves_no_folder(binary, tmp_path, monkeypatch):
    def fail(*args):
        raise OutputError("the disk filled up")

    monkeypatch.setattr(tiktok_claims.outputs, "save_artifact", fail)
    with pytest.raises(OutputError):
        binary.write(tmp_path / "new" / "out")

    assert not (tmp_path / "new").exists()


def test_writing_again_replaces_the_previous_runs_files(binary, tmp_path):
    ordinal = analyze(make_synthetic(2000, seed=12), target=config.BAN, workers=1)
    first = binary.write(tmp_path)

    second = ordinal.write(tmp_path)

    assert _files(tmp_path) - {LOCK, MANIFEST} == set(second)
    assert set(first) - set(second), "the binary run writes files the ordinal one does not"
    assert json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))["target"] == config.BAN


def test_run_refuses_a_users_file_in_the_figures_folder_before_the_work(data_file, tmp_path):
    """The figures' names are known only after the work: the whole figures/ folder must be a previous run's."""
    out = tmp_path / "run"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "notes.txt").write_text("mine", encoding="utf-8")

    result = CliRunner().invoke(app, ["run", str(data_file), "--out", str(out), "--quiet", *FLAGS])

    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "holds figures/notes.txt, which no tiktok-claims run wrote" in result.output
    assert _files(out) == {"figures/notes.txt"}


def test_a_manifest_naming_a_users_file_never_removes_it(binary, tmp_path):
    binary.write(tmp_path)
    (tmp_path / "important.txt").write_text("keep", encoding="utf-8")
    manifest = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    (tmp_path / MANIFEST).write_text(json.dumps({**manifest, "files": [*manifest["files"], "important.txt"]}), encoding="utf-8")

    with pytest.warns(UserWarning, match=r"lists important.txt, which this command never writes; it is left as found"):
        binary.write(tmp_path)

    assert (tmp_path / "important.txt").read_text(encoding="utf-8") == "keep"
