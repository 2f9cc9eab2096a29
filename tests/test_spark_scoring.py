"""``score_file_spark``: the same scored rows, rejects and accounting as the in-process ``score_file``.

Two models are trained per module on a small synthetic frame (one with the counts
entered as log(1 + x)) and one Spark session (local[2]) serves every test. Each backlog
is scored by both engines and the outputs are compared file to file, in input order and
with ``sort``: the in-process scorer is the reference.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tiktok_claims import config
from tiktok_claims.analysis import analyze
from tiktok_claims.artifact.store import load_model, save_model
from tiktok_claims.cli import app
from tiktok_claims.data.synthetic import make_synthetic, write_synthetic
from tiktok_claims.scoring.local import score_file

# PySpark's own pandas version check warns under pandas 3; no pandas frame reaches Spark here.
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

ROWS = 3000
MASTER = "local[2]"
# (line index among the data lines, column, bad value) injected into the CSV backlog.
BAD_VALUES = (
    (10, config.VIEWS, "-5"),
    (20, config.BAN, "suspended"),
    (30, config.DURATION, "abc"),
    (40, config.LIKES, ""),
    (50, config.SHARES, "=1+1"),
    (60, config.ID_COLUMN, "#N/A"),
    (70, config.COMMENTS, "2.5"),
)
# Lines given the predictors of TIE_SOURCE: equal probabilities, ranked in input order.
TIE_SOURCE, TIED_LINES = 201, (200, 300, 400)


@pytest.fixture(scope="module")
def spark_scorer():
    if shutil.which("java") is None:
        pytest.fail("no Java runtime: `make test` installs one (Debian package openjdk-17-jre-headless)")
    from tiktok_claims.scoring.spark import score_file_spark
    from tiktok_claims.spark.session import spark_session

    spark = spark_session(MASTER)
    yield score_file_spark
    spark.stop()


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    analysis = analyze(make_synthetic(4000, seed=1), cv_folds=2, bootstrap=100, workers=1)
    return save_model(analysis, tmp_path_factory.mktemp("model") / "model.json")["model.json"]


@pytest.fixture(scope="module")
def log1p_model_path(tmp_path_factory):
    analysis = analyze(make_synthetic(4000, seed=1), transform="log1p", cv_folds=2, bootstrap=100, workers=1)
    return save_model(analysis, tmp_path_factory.mktemp("model-log1p") / "model.json")["model.json"]


@pytest.fixture(scope="module")
def backlogs(tmp_path_factory):
    """A CSV with bad values, broken lines and a blank line; a Parquet file with bad values."""
    folder = tmp_path_factory.mktemp("backlogs")
    clean = write_synthetic(folder / "clean.csv", rows=ROWS, seed=7)
    header, *lines = clean.read_text().splitlines()
    position = {name: index for index, name in enumerate(header.split(","))}
    for index, column, value in BAD_VALUES:
        fields = lines[index].split(",")  # the synthetic transcripts hold no commas
        fields[position[column]] = value
        lines[index] = ",".join(fields)
    tie = lines[TIE_SOURCE].split(",")
    for index in TIED_LINES:  # the predictors of the source line, their own identifiers
        fields = lines[index].split(",")
        for column in position.keys() - {config.ID_COLUMN, config.VIDEO_ID}:
            fields[position[column]] = tie[position[column]]
        lines[index] = ",".join(fields)
    lines[80] = ",".join(lines[80].split(",")[:5])  # too few fields
    lines[90] = '"' + lines[90] + '"'  # re-quoted by a spreadsheet
    lines.insert(100, "")
    csv_path = folder / "backlog.csv"
    csv_path.write_text("\n".join([header, *lines]) + "\n")

    table = pq.read_table(write_synthetic(folder / "clean.parquet", rows=ROWS, seed=8))
    views = table.column(config.VIEWS).to_pylist()
    views[5], views[6] = -3, None
    bans = table.column(config.BAN).cast(pa.string()).to_pylist()
    bans[7] = "unknown"
    table = table.set_column(table.schema.get_field_index(config.VIEWS), config.VIEWS, pa.array(views, pa.int64()))
    table = table.set_column(table.schema.get_field_index(config.BAN), config.BAN, pa.array(bans, pa.string()))
    parquet_path = folder / "backlog.parquet"
    pq.write_table(table, parquet_path, row_group_size=1000)
    return {"csv": csv_path, "parquet": parquet_path}


@pytest.fixture(scope="module")
def scored(spark_scorer, model_path, backlogs, tmp_path_factory):
    """Each backlog scored in-process and on Spark: {format: (local result, Spark result)}."""
    results = {}
    for kind, path in backlogs.items():
        folder = tmp_path_factory.mktemp(f"scored-{kind}")
        local = score_file(model_path, path, folder / "local.csv")
        results[kind] = local, spark_scorer(model_path, path, folder / "spark.csv", master=MASTER)
    return results


@pytest.fixture(params=["csv", "parquet"])
def both(request, scored):
    return scored[request.param]


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def assert_same_rows(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same columns and rows in the same order; probabilities within 1e-9, every other cell equal."""
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected) > 0
    for column in (config.ID_COLUMN, config.VIDEO_ID, "predicted_label", "priority_rank"):
        assert got[column].tolist() == expected[column].tolist(), column
    probabilities = got["probability"].astype(float), expected["probability"].astype(float)
    np.testing.assert_allclose(*probabilities, rtol=0, atol=1e-9)


def test_scored_rows_equal_the_in_process_output(both):
    local, spark = both
    assert_same_rows(read(spark.out), read(local.out))


def test_rejects_have_the_same_rows_and_reasons(both):
    local, spark = both
    expected, got = read(local.rejects), read(spark.rejects)
    assert len(expected) > 0
    pd.testing.assert_frame_equal(got, expected)


def test_the_accounting_is_the_same(both):
    local, spark = both
    for field in ("rows_read", "rows_scored", "rejected", "predicted_positive", "positive_class", "threshold"):
        assert getattr(spark, field) == getattr(local, field), field
    assert spark.rows_read == spark.rows_scored + spark.rows_rejected


def test_every_injected_problem_is_rejected_with_its_reason(scored):
    _, spark = scored["csv"]
    rejects = read(spark.rejects)
    reasons = dict(zip(rejects["line"].astype(int), rejects["reason"]))
    first = 2  # the header is line 1
    assert reasons[first + 10] == "video_view_count: negative"
    assert reasons[first + 20] == "author_ban_status: unknown category"
    assert reasons[first + 30] == "video_duration_sec: not a number"
    assert reasons[first + 60] == "missing #"
    assert reasons[first + 80] == "5 field(s); the header has 12"
    assert reasons[first + 100] == "no value in any column the model reads"


def test_sorted_rows_equal_the_in_process_sorted_output_row_for_row(spark_scorer, model_path, backlogs, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    local = score_file(model_path, backlogs["csv"], tmp_path / "local.csv", sort=True)
    spark = spark_scorer(
        model_path, backlogs["csv"], tmp_path / "out" / "spark.csv", sort=True, master=MASTER, scratch=scratch
    )

    assert_same_rows(read(spark.out), read(local.out))
    assert read(spark.out)["probability"].duplicated().sum() >= len(TIED_LINES)  # ties were ordered too
    assert read(spark.out)["priority_rank"].tolist() == [str(rank) for rank in range(1, spark.rows_scored + 1)]
    pd.testing.assert_frame_equal(read(spark.rejects), read(local.rejects))
    assert spark.sorted and "in priority order" in spark.summary()
    assert list(scratch.iterdir()) == []  # Spark's part files were moved out, its directories removed
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["spark.csv", "spark_rejects.csv"]


def test_a_log1p_model_scores_as_in_process(spark_scorer, log1p_model_path, backlogs, tmp_path):
    inputs = load_model(log1p_model_path).payload["inputs"]
    assert any(column.get("transform") == "log1p" for column in inputs)
    local = score_file(log1p_model_path, backlogs["csv"], tmp_path / "local.csv")
    spark = spark_scorer(log1p_model_path, backlogs["csv"], tmp_path / "spark.csv", master=MASTER)

    assert_same_rows(read(spark.out), read(local.out))
    pd.testing.assert_frame_equal(read(spark.rejects), read(local.rejects))
    for field in ("rows_read", "rows_scored", "rejected", "predicted_positive"):
        assert getattr(spark, field) == getattr(local, field), field


def test_cli_score_engine_spark_sorts_with_a_master_and_scratch_url(spark_scorer, model_path, backlogs, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    local = score_file(model_path, backlogs["parquet"], tmp_path / "local.csv", sort=True)

    result = CliRunner().invoke(
        app,
        ["score", "--model", str(model_path), "--data", str(backlogs["parquet"]), "--out", str(tmp_path / "s.csv"),
         "--engine", "spark", "--sort", "--spark-master", MASTER, "--spark-tmp", f"file://{scratch}", "--quiet"],
    )

    assert result.exit_code == 0, result.output
    assert f"{ROWS:,} rows read" in result.output and "in priority order" in result.output
    assert_same_rows(read(tmp_path / "s.csv"), read(local.out))
    pd.testing.assert_frame_equal(read(tmp_path / "s_rejects.csv"), read(local.rejects))
    assert list(scratch.iterdir()) == []


def test_cli_score_refuses_a_missing_scratch_directory_with_exit_1(spark_scorer, model_path, backlogs, tmp_path):
    result = CliRunner().invoke(
        app,
        ["score", "--model", str(model_path), "--data", str(backlogs["parquet"]), "--out", str(tmp_path / "s.csv"),
         "--engine", "spark", "--spark-master", MASTER, "--spark-tmp", str(tmp_path / "absent")],
    )

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ") and f"{tmp_path / 'absent'}: no such directory" in result.stderr
    assert not (tmp_path / "s.csv").exists()


def test_cli_score_refuses_part_files_the_driver_cannot_see(spark_scorer, model_path, backlogs, tmp_path, monkeypatch):
    # What a cluster does when the scratch directory is on each node's own disk: the
    # executors' part files never appear where the driver looks.
    from tiktok_claims.scoring import spark as spark_scoring

    monkeypatch.setattr(spark_scoring, "list_files", lambda spark, url, pattern: [])
    result = CliRunner().invoke(
        app,
        ["score", "--model", str(model_path), "--data", str(backlogs["parquet"]), "--out", str(tmp_path / "s.csv"),
         "--engine", "spark", "--spark-master", MASTER],
    )

    assert result.exit_code == 1, result.output
    assert "cannot see it" in result.stderr and "--spark-tmp" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no output, no partial file, no scratch left


def test_cli_score_refuses_spark_tmp_without_the_spark_engine(model_path, backlogs, tmp_path):
    result = CliRunner().invoke(
        app,
        ["score", "--model", str(model_path), "--data", str(backlogs["parquet"]), "--out", str(tmp_path / "s.csv"),
         "--spark-tmp", str(tmp_path)],
    )

    assert result.exit_code == 2
    assert "--spark-tmp" in result.stderr and "only with --engine spark" in result.stderr
