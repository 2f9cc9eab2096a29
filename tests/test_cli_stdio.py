"""``-`` for standard input and output: ``stdio.py``, ``score --data -`` and ``score --out -``
(in process and piped through a subprocess), and the usage error everywhere else.

Every scoring through a standard stream is compared byte for byte with the same scoring
of a named file, so the streams can change nothing but where the bytes come from and go.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import tiktok_claims
from tiktok_claims import cli
from tiktok_claims.cli import app
from tiktok_claims.data.synthetic import write_synthetic
from tiktok_claims.stdio import (
    STDIN_NAME,
    copy_file,
    is_standard,
    json_text,
    private_folder,
    renamed,
    stdin_copy,
)

SOURCE = Path(tiktok_claims.__file__).resolve().parents[1]
LEFT_BEHIND = ("-", "-_rejects.csv", "-.csv")


def invoke(*args: str, input: bytes | None = None):
    """Run the CLI in-process; fail if an exception escaped (a user would see a traceback)."""
    result = CliRunner().invoke(app, list(args), input=input)
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not escaped, f"uncaught {result.exception!r}; output: {result.output}"
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def model_path(claim_model) -> Path:
    return claim_model.written["model.json"]


@pytest.fixture(scope="module")
def backlog(tmp_path_factory) -> Path:
    """2,000 synthetic rows, some with missing values (so there are rejects)."""
    return write_synthetic(tmp_path_factory.mktemp("backlog") / "backlog.csv", rows=2_000, seed=7)


@pytest.fixture(scope="module")
def expected(model_path, backlog, tmp_path_factory) -> dict[str, bytes]:
    """The scored and rejects files of the backlog scored by name."""
    folder = tmp_path_factory.mktemp("expected")
    result = invoke("score", str(backlog), "--model", str(model_path), "--out", str(folder / "s.csv"), "--quiet")
    assert result.exit_code == 0, result.output
    rejects = (folder / "s_rejects.csv").read_bytes()
    assert rejects.count(b"\n") > 1, "the backlog should have rejects"
    return {"scored": (folder / "s.csv").read_bytes(), "rejects": rejects}


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """The temporary folder of this process (``tempfile``), to see what is left in it."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def cwd(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


# ---------------------------------------------------------------- stdio.py


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"#,claim_status\n1,claim\n", "stdin.csv"),
        (gzip.compress(b"#,claim_status\n1,claim\n"), "stdin.csv.gz"),
        (b"PAR1" + bytes(range(256)) * 8 + b"PAR1", "stdin.parquet"),
        (b"", "stdin.csv"),
        (b"P", "stdin.csv"),
    ],
)
def test_stdin_copy_holds_the_stream_under_a_name_of_its_format_and_is_removed(private_tmp, content, name):
    with stdin_copy(io.BytesIO(content)) as path:
        assert path.name == name
        assert path.read_bytes() == content
        assert path.parent.parent == private_tmp
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

    assert list(private_tmp.iterdir()) == []


def test_stdin_copy_and_private_folder_are_removed_when_the_work_fails(private_tmp):
    with pytest.raises(RuntimeError), stdin_copy(io.BytesIO(b"a,b\n")):
        raise RuntimeError("the work failed")
    with pytest.raises(RuntimeError), private_folder("stdout") as folder:
        (folder / "scored.csv").write_text("x")
        raise RuntimeError("the work failed")

    assert list(private_tmp.iterdir()) == []


def test_copy_file_sends_the_bytes_on(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"x" * 3_000_000)
    sink = io.BytesIO()

    copy_file(path, sink)

    assert sink.getvalue() == path.read_bytes()


def test_json_text_writes_nan_and_infinity_as_null_and_numpy_numbers_as_numbers():
    document = {"a": float("nan"), "b": [np.float64("-inf"), np.int64(3), (1.5, None)], 4: {"c": np.float32(0.5)}, "d": "x"}

    text = json_text(document)

    assert json.loads(text) == {"a": None, "b": [None, 3, [1.5, None]], "4": {"c": 0.5}, "d": "x"}
    assert "NaN" not in text and "Infinity" not in text


def test_dash_is_standard_and_private_paths_are_renamed():
    assert is_standard("-") and is_standard(Path("-"))
    assert not is_standard(None) and not is_standard("/tmp/-") and not is_standard("x.csv")
    assert renamed("/tmp/.x/stdin.csv: line 4: bad", {"/tmp/.x/stdin.csv": STDIN_NAME}) == "<stdin>: line 4: bad"


# ---------------------------------------------------------------- score --data -


@pytest.mark.parametrize("kind", ["csv", "csv.gz", "parquet"])
def test_score_reads_data_from_stdin_as_it_reads_the_file(model_path, backlog, tmp_path, private_tmp, kind):
    named = tmp_path / f"backlog.{kind}"
    if kind == "parquet":
        pd.read_csv(backlog, dtype=str, keep_default_na=False).to_parquet(named)
    else:
        named.write_bytes(gzip.compress(backlog.read_bytes()) if kind == "csv.gz" else backlog.read_bytes())
    by_name = invoke("score", str(named), "--model", str(model_path), "--out", str(tmp_path / "by_name.csv"), "--quiet")

    piped = invoke(
        "score", "--data", "-", "--model", str(model_path), "--out", str(tmp_path / "piped.csv"), "--quiet",
        input=named.read_bytes(),
    )

    assert by_name.exit_code == 0 and piped.exit_code == 0, piped.output
    for name in ("{}.csv", "{}_rejects.csv"):
        assert (tmp_path / name.format("piped")).read_bytes() == (tmp_path / name.format("by_name")).read_bytes()
    assert piped.stdout.startswith(f"{STDIN_NAME}: 2,000 rows read = ")
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param(b"", "the file is empty", id="empty"),
        pytest.param(b"\x00\x01binary\x00" * 50, "not a CSV", id="binary"),
        pytest.param(b"#,video_id\n1,2\n", "missing column(s)", id="missing-columns"),
        pytest.param(gzip.compress(b"#,video_id\n1,2\n")[:-6], "cannot be read", id="cut-gzip"),
        pytest.param(b"PAR1 but no Parquet", "cannot be read as Parquet", id="not-parquet"),
    ],
)
def test_bad_input_on_stdin_is_refused_naming_stdin_and_leaves_nothing(model_path, tmp_path, private_tmp, cwd, content, fragment):
    result = invoke("score", "-", "--model", str(model_path), "--out", "-", "--rejects", str(tmp_path / "r.csv"), input=content)

    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {STDIN_NAME}: ") and fragment in result.stderr
    assert ".tiktok-claims-" not in result.stderr and str(private_tmp) not in result.stderr
    assert list(private_tmp.iterdir()) == [] and list(cwd.iterdir()) == []
    assert not (tmp_path / "r.csv").exists()


# ---------------------------------------------------------------- score --out -


def test_score_out_dash_prints_the_scored_csv_and_nothing_else_on_stdout(model_path, backlog, expected, tmp_path, private_tmp, cwd):
    result = invoke("score", str(backlog), "--model", str(model_path), "--out", "-", "--rejects", "rejects.csv")

    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == expected["scored"]
    assert (cwd / "rejects.csv").read_bytes() == expected["rejects"]
    assert "2,000 rows read = " in result.stderr and "Scored rows (in input order" in result.stderr
    assert "): <stdout>. Rejected rows with their reasons: rejects.csv." in result.stderr
    assert sorted(p.name for p in cwd.iterdir()) == ["rejects.csv"]
    assert list(private_tmp.iterdir()) == []


def test_score_out_dash_sorted_from_stdin(model_path, backlog, tmp_path, private_tmp, cwd):
    by_name = invoke("score", str(backlog), "--model", str(model_path), "--out", str(tmp_path / "s.csv"), "--sort", "--quiet")

    piped = invoke("score", "-", "--model", str(model_path), "--out", "-", "--rejects", "r.csv", "--sort", "--quiet", input=backlog.read_bytes())

    assert by_name.exit_code == 0 and piped.exit_code == 0, piped.output
    assert piped.stdout_bytes == (tmp_path / "s.csv").read_bytes()
    assert (cwd / "r.csv").read_bytes() == (tmp_path / "s_rejects.csv").read_bytes()
    assert piped.stderr.startswith(f"{STDIN_NAME}: 2,000 rows read")


def test_score_out_dash_without_rejects_is_a_usage_error_and_creates_nothing(model_path, backlog, private_tmp, cwd):
    result = invoke("score", str(backlog), "--model", str(model_path), "--out", "-")

    assert result.exit_code == 2, result.output
    assert "--rejects is required with --out -" in result.stderr
    assert result.stdout == ""
    assert list(cwd.iterdir()) == [] and list(private_tmp.iterdir()) == []


# ---------------------------------------------------------------- '-' elsewhere


@pytest.mark.parametrize(
    ("args", "option"),
    [
        pytest.param(["validate", "-"], "DATA / --data", id="validate-DATA"),
        pytest.param(["validate", "--data", "-", "--json"], "DATA / --data", id="validate--data"),
        pytest.param(["run", "-", "--quiet"], "DATA / --data", id="run-DATA"),
        pytest.param(["run", "--out", "-", "--quiet"], "--out", id="run--out"),
        pytest.param(["check", "--data", "-", "--quiet"], "DATA / --data", id="check--data"),
        pytest.param(["sample", "--out", "-", "--rows", "10"], "--out", id="sample--out"),
        pytest.param(["report", "--from", "-"], "--from", id="report--from"),
        pytest.param(["score", "b.csv", "--model", "-", "--out", "s.csv"], "--model", id="score--model"),
        pytest.param(["score", "b.csv", "--model", "m.json", "--out", "s.csv", "--rejects", "-"], "--rejects", id="score--rejects"),
        pytest.param(["score", "b.csv", "--model", "m.json", "--out", "-", "--rejects", "-"], "--rejects", id="score-both-stdout"),
        pytest.param(["score", "-", "--model", "m.json", "--out", "s.csv", "--engine", "spark"], "DATA / --data", id="spark-stdin"),
        pytest.param(["score", "b.csv", "--model", "m.json", "--out", "-", "--rejects", "r.csv", "--engine", "spark"], "--out", id="spark-stdout"),
    ],
)
def test_dash_where_nothing_streams_is_a_usage_error_and_touches_nothing(args, option, cwd):
    result = invoke(*args, input=b"#,claim_status\n")

    assert result.exit_code == 2, result.output
    assert f"Invalid value for {option}: '-' (standard " in result.stderr
    assert result.stdout == ""
    assert list(cwd.iterdir()) == []


# ---------------------------------------------------------------- piped through a real process


def test_score_data_dash_out_dash_piped_through_a_subprocess(model_path, backlog, expected, tmp_path):
    work, scratch = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    scratch.mkdir()
    env = {
        **os.environ,
        "TMPDIR": str(scratch),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SOURCE), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "tiktok_claims", "score", "--data", "-", "--out", "-", "--model", str(model_path), "--rejects", "rejects.csv"]

    with backlog.open("rb") as stdin:
        done = subprocess.run(command, stdin=stdin, capture_output=True, cwd=work, env=env, timeout=300, check=False)

    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == expected["scored"]
    assert (work / "rejects.csv").read_bytes() == expected["rejects"]
    assert done.stderr.decode().count(f"{STDIN_NAME}: 2,000 rows read") == 1
    assert sorted(p.name for p in work.iterdir()) == ["rejects.csv"]
    assert not any((work / name).exists() for name in LEFT_BEHIND)
    assert list(scratch.iterdir()) == []


def test_a_bad_model_is_refused_before_stdin_is_read(tmp_path, monkeypatch):
    def read_stdin(stream):
        raise AssertionError("standard input was read before the model was checked")

    monkeypatch.setattr(cli, "stdin_copy", read_stdin)
    result = invoke("score", "-", "--model", str(tmp_path / "none.json"), "--out", str(tmp_path / "s.csv"), input=b"#\n1\n")

    assert result.exit_code == 1, result.output
    assert "none.json: no such file" in result.stderr
