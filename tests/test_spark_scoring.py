"""``score_file_spark``: byte for byte the in-process ``score_file``'s scored rows, rejects and accounting.

Two models are trained per module on a small synthetic frame (one with the counts
entered as log(1 + x)), and one Spark session (local[2]) serves every test. It reads
files in 64 KB blocks and hands Python 97 rows at a time, so that records cross block
and batch boundaries. The backlogs are built here and hostile on purpose: quoted
transcripts over several lines (``\\n`` and ``\\r\\n``), stray quotes, a bare ``\\r``, a
``\\r\\n`` line end, rows re-quoted whole by a spreadsheet, formula-like cells (``=``,
``+``, ``-``, ``@``, tab, carriage return), blank lines, rows with too few or too many
fields, missing values, unknown categories, negative and fractional counts, and a quote
left open at the end of the file; as CSV, .csv.gz and Parquet (text, and typed columns
including uint64).

Each backlog is scored by both engines and the files compared byte for byte. The
outputs are also checked against what was built into the file (the line and reason of
every bad row, counted while writing it) and against the fitted scikit-learn pipeline's
probabilities, neither of which shares code with the scorers.
"""

from __future__ import annotations

import csv
import gzip
import re
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tiktok_claims import config
from tiktok_claims.analysis import analyze
from tiktok_claims.artifact.store import load_model, save_model
from tiktok_claims.cli import app
from tiktok_claims.data.rules import EMPTY_ROW, REQUOTED
from tiktok_claims.data.synthetic import make_synthetic, write_synthetic
from tiktok_claims.escaping import FORMULA_PREFIXES
from tiktok_claims.scoring.local import score_file

# PySpark's own pandas version check warns under pandas 3; no pandas frame reaches Spark here.
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

MASTER = "local[2]"
BLOCK_BYTES = 64 * 1024
ROWS = 2400
COLUMNS = list(config.COLUMNS)
HEADER = ",".join(COLUMNS)
FIELDS = f"the header has {len(COLUMNS)}"
# Rows given the predictors of TIE_SOURCE: equal probabilities, ranked in input order.
TIE_SOURCE, TIED_ROWS = 141, (200, 300, 400)
MULTI_LINE = 'first line\nsecond, line\n\n"quoted" end'
WINDOWS_MULTI_LINE = "windows\r\nline end inside"
LONG_MULTI_LINE = "\n".join(f"line {number} of a long transcript" for number in range(25))


@pytest.fixture(scope="module")
def spark_scorer():
    if shutil.which("java") is None:
        pytest.fail("no Java runtime: `make test` installs one (Debian package openjdk-17-jre-headless)")
    from tiktok_claims.scoring.spark import score_file_spark
    from tiktok_claims.spark.session import spark_session

    spark = spark_session(MASTER)
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(BLOCK_BYTES))
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "97")
    yield score_file_spark
    spark.stop()


@pytest.fixture(scope="module")
def analyses():
    frame = make_synthetic(4000, seed=1)
    return {
        "plain": analyze(frame, cv_folds=2, bootstrap=100, workers=1),
        "log1p": analyze(frame, transform="log1p", cv_folds=2, bootstrap=100, workers=1),
    }


@pytest.fixture(scope="module")
def models(analyses, tmp_path_factory):
    return {
        name: save_model(analysis, tmp_path_factory.mktemp(f"model-{name}") / "model.json")["model.json"]
        for name, analysis in analyses.items()
    }


# ---------------------------------------------------------------- the hostile backlog


def quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def cell(value: str) -> str:
    return quoted(value) if any(character in value for character in ',"\n\r') else value


LINE_BREAK = re.compile("\r\n|\n|\r")


class Hostile:
    """The hostile CSV backlog: its text, the frame it was built from, and what must become of each row.

    Attributes
    ----------
    frame : DataFrame
        ``ROWS`` synthetic complete rows (every cell text), with the injected values.
    text : str
        The CSV file.
    reasons : dict of int to str
        The line and reason of every row that must be rejected, counted while writing.
    scored : list of int
        The frame rows that must be scored, in file order.
    value_problems : dict of int to set of str
        The columns holding a bad value, for each row with one (a model that does not
        read any of them scores the row).
    crossing : int
        Records with a line break inside a quoted value that straddle a 64 KB block boundary.
    """

    def __init__(self, seed: int = 21):
        frame = make_synthetic(2 * ROWS, seed=seed).dropna().head(ROWS).reset_index(drop=True)
        frame[config.ID_COLUMN] = np.arange(1, ROWS + 1)
        frame = frame.astype(str)
        frame[config.TRANSCRIPT] = frame[config.TRANSCRIPT].str.replace(",", ";")
        bad: dict[int, str] = {}
        raw: dict[tuple[int, str], str] = {}  # cells written as they are, unquoted
        for row in range(ROWS):
            if row % 17 == 3:
                frame.loc[row, config.TRANSCRIPT] = MULTI_LINE
            elif row % 29 == 5:
                frame.loc[row, config.TRANSCRIPT] = WINDOWS_MULTI_LINE
        raw[12, config.TRANSCRIPT] = 'he said "hi there'  # a quote inside a field is text
        raw[13, config.TRANSCRIPT] = '"closed"then text'
        values = {
            (10, config.VIEWS): ("-5", f"{config.VIEWS}: negative"),
            (20, config.BAN): ("suspended", f"{config.BAN}: unknown category"),
            (30, config.DURATION): ("abc", f"{config.DURATION}: not a number"),
            (40, config.COMMENTS): ("2.5", f"{config.COMMENTS}: not a whole number"),
            (50, config.SHARES): ("=1+1", f"{config.SHARES}: not a number"),
            (60, config.ID_COLUMN): ("#N/A", f"missing {config.ID_COLUMN}"),
            (70, config.VIDEO_ID): ('=HYPERLINK("http://x","y")', f"{config.VIDEO_ID}: not a number"),
            (71, config.VIDEO_ID): ("@x", f"{config.VIDEO_ID}: not a number"),
            (72, config.VIDEO_ID): ("\tcmd", f"{config.VIDEO_ID}: not a number"),
            (73, config.VIDEO_ID): ("\rcmd", f"{config.VIDEO_ID}: not a number"),
            (74, config.ID_COLUMN): ("-2+3", f"{config.ID_COLUMN}: not a number"),
            (75, config.ID_COLUMN): ("+17", None),  # a number: scored, written as 17
            (76, config.VIDEO_ID): ("-7", None),
            (77, config.VIDEO_ID): ("+cmd", f"{config.VIDEO_ID}: not a number"),
            (110, config.SHARES): ("#N/A", None),
            (110, config.COMMENTS): ("NA", f"missing {config.SHARES}, {config.COMMENTS}"),
            (120, config.VIEWS): ("1e3", None),
            (121, config.VIEWS): ("inf", f"{config.VIEWS}: infinite"),
            (122, config.VIDEO_ID): ("1e17", f"{config.VIDEO_ID}: beyond 9,007,199,254,740,992"),
            (123, config.VIEWS): (" 12 ", None),
        }
        self.value_problems: dict[int, set[str]] = {}
        for (row, column), (value, reason) in values.items():
            frame.loc[row, column] = value
            if reason:
                bad[row] = reason
                self.value_problems.setdefault(row, set()).add(column)
        for target in TIED_ROWS:
            for column in COLUMNS[1:]:
                if column != config.VIDEO_ID:
                    frame.loc[target, column] = frame.loc[TIE_SOURCE, column]

        def record(row: int) -> str:
            return ",".join(raw.get((row, column), cell(frame.loc[row, column])) for column in COLUMNS)

        def plain(row: int) -> str:
            return ",".join(frame.loc[row, column] for column in COLUMNS)

        lines = [HEADER]
        self.reasons, self.scored, self.crossing, self.lines = {}, [], 0, {}
        next_line, offset = 2, len(HEADER) + 1  # the header is line 1

        def add(text: str, reason: str | None = None, row: int | None = None) -> int:
            """Append a record (or a blank line: no row); the line where it starts, as an editor numbers lines."""
            nonlocal next_line, offset
            line = next_line
            next_line += len(LINE_BREAK.findall(text + "\n"))
            if row is not None:
                self.lines[row] = line
            if reason:
                self.reasons[line] = reason
            elif row is not None:
                self.scored.append(row)
            end = offset + len(text.encode("utf-8")) + 1
            self.crossing += "\n" in text and offset // BLOCK_BYTES != (end - 1) // BLOCK_BYTES
            lines.append(text)
            offset = end
            return line

        for row in range(ROWS):
            if row == 100:
                add("")  # a blank line is not a row
                add("   ", EMPTY_ROW)
                add("," * (len(COLUMNS) - 1), EMPTY_ROW)
            if row == 80:
                add("1,claim,2", f"3 field(s); {FIELDS}")
            elif row == 81:
                add(record(row) + ",extra", f"13 field(s); {FIELDS}")
            elif row == 90:
                add(quoted(plain(row)), REQUOTED)
            elif row == 91:
                add(quoted(plain(row)) + "," * (len(COLUMNS) - 1), REQUOTED)
            elif row == 130:
                add(record(row) + "\r", bad.get(row), row)  # a \r\n line end
            elif row == 131:  # a bare \r ends a row: two broken rows, the second a line later
                cells = [frame.loc[row, column] for column in COLUMNS]
                cells[COLUMNS.index(config.TRANSCRIPT)] = "before\rafter"
                line = add(",".join(cells))
                self.reasons[line], self.reasons[line + 1] = f"5 field(s); {FIELDS}", f"8 field(s); {FIELDS}"
            else:
                if offset % BLOCK_BYTES > BLOCK_BYTES - 400 and (row, config.TRANSCRIPT) not in raw:
                    frame.loc[row, config.TRANSCRIPT] = LONG_MULTI_LINE  # over the next block boundary
                add(record(row), bad.get(row), row)
        add('99999,claim,123,30,"never closed\nstill inside', f"5 field(s); {FIELDS}")
        self.frame = frame
        self.text = "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def hostile():
    return Hostile()


@pytest.fixture(scope="module")
def backlogs(hostile, tmp_path_factory):
    folder = tmp_path_factory.mktemp("backlogs")
    paths = {"csv": folder / "hostile.csv", "csv.gz": folder / "hostile.csv.gz"}
    paths["csv"].write_bytes(hostile.text.encode("utf-8"))
    paths["csv.gz"].write_bytes(gzip.compress(hostile.text.encode("utf-8")))
    as_text = pacsv.read_csv(
        paths["csv"],
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=lambda row: "skip"),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(COLUMNS, pa.string()), strings_can_be_null=True),
    )
    paths["parquet-text"] = folder / "hostile-text.parquet"
    pq.write_table(as_text, paths["parquet-text"], row_group_size=500)
    typed = pq.read_table(write_synthetic(folder / "clean.parquet", rows=3000, seed=8))
    changes = {
        config.VIEWS: (pa.int64(), {5: -3, 6: None}),
        config.BAN: (pa.string(), {7: "unknown"}),
        config.DURATION: (pa.float64(), {8: float("nan"), 9: float("inf")}),
        config.ID_COLUMN: (pa.float64(), {10: 1.5}),
    }
    for column, (kind, new) in changes.items():
        values = typed.column(column).cast(kind).to_pylist()
        for row, value in new.items():
            values[row] = value
        typed = typed.set_column(typed.schema.get_field_index(column), column, pa.array(values, kind))
    video_ids = typed.column(config.VIDEO_ID).cast(pa.uint64())
    typed = typed.set_column(typed.schema.get_field_index(config.VIDEO_ID), config.VIDEO_ID, video_ids)
    paths["parquet-typed"] = folder / "typed.parquet"
    pq.write_table(typed, paths["parquet-typed"], row_group_size=1000)
    return paths


CASES = [
    ("csv", False, "plain", ".csv"),
    ("csv", True, "plain", ".csv"),
    ("csv.gz", False, "plain", ".csv.gz"),
    ("parquet-text", False, "plain", ".csv"),
    ("parquet-typed", False, "plain", ".csv"),
    ("parquet-typed", True, "plain", ".csv"),
    ("csv", False, "log1p", ".csv"),
]


@pytest.fixture(scope="module")
def scored(spark_scorer, models, backlogs, tmp_path_factory):
    """Each case scored in-process and on Spark: {case: (local result, Spark result)}."""
    results = {}
    for case in CASES:
        backlog, sort, model, suffix = case
        folder = tmp_path_factory.mktemp(f"scored-{backlog}-{model}")
        local = score_file(models[model], backlogs[backlog], folder / f"local{suffix}", sort=sort, chunk_rows=500)
        spark = spark_scorer(models[model], backlogs[backlog], folder / f"spark{suffix}", sort=sort, master=MASTER)
        results[case] = local, spark
    return results


def content(path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("case", CASES, ids=["-".join(map(str, case[:3])) for case in CASES])
def test_the_scored_and_rejects_files_are_byte_identical(scored, case):
    local, spark = scored[case]

    assert content(spark.out) == content(local.out)
    assert content(spark.rejects) == content(local.rejects)
    assert len(read(local.rejects)) > 0 and len(read(local.out)) > 0


@pytest.mark.parametrize("case", CASES, ids=["-".join(map(str, case[:3])) for case in CASES])
def test_the_accounting_is_identical(scored, case):
    local, spark = scored[case]

    for field in ("rows_read", "rows_scored", "rejected", "predicted_positive", "positive_class", "threshold", "sorted"):
        assert getattr(spark, field) == getattr(local, field), field
    assert list(spark.rejected) == list(local.rejected)  # the same order in the summary
    assert spark.rows_read == spark.rows_scored + spark.rows_rejected


def test_every_bad_row_is_rejected_at_its_line_with_its_reason(scored, hostile):
    _, spark = scored["csv", False, "plain", ".csv"]
    rejects = read(spark.rejects)

    assert dict(zip(rejects["line"].astype(int), rejects["reason"])) == hostile.reasons
    assert spark.rows_read == len(hostile.reasons) + len(hostile.scored)
    assert hostile.crossing >= 3  # records with line breaks did straddle Spark's blocks


def test_scored_rows_carry_the_fitted_pipelines_probabilities_in_file_order(scored, hostile, analyses, models):
    for model in ("plain", "log1p"):
        _, spark = scored["csv", False, model, ".csv"]
        analysis = analyses[model]
        reads = {spec.name for spec in load_model(models[model]).inputs}
        unread = [row for row, columns in hostile.value_problems.items() if not columns & reads]
        rows = hostile.frame.loc[sorted([*hostile.scored, *unread])].copy()
        for name in analysis.features.continuous:
            rows[name] = rows[name].astype(float)
        expected = analysis.classifier.pipeline.predict_proba(rows[list(analysis.features.columns)])[:, 1]
        got = pd.read_csv(spark.out)

        assert list(got[config.VIDEO_ID]) == [int(value) for value in rows[config.VIDEO_ID]]
        np.testing.assert_allclose(got["score"], expected, rtol=0, atol=1e-12)


def test_ties_keep_input_order_in_the_priority_ranks(scored, hostile):
    _, spark = scored["csv", True, "plain", ".csv"]
    got = pd.read_csv(spark.out)
    tied = got[got[config.ID_COLUMN].isin([TIE_SOURCE + 1, *(row + 1 for row in TIED_ROWS)])]

    assert list(got["priority_rank"]) == list(range(1, len(got) + 1))
    assert tied["score"].nunique() == 1
    assert list(tied[config.ID_COLUMN]) == [TIE_SOURCE + 1, *(row + 1 for row in TIED_ROWS)]
    assert got["score"].is_monotonic_decreasing


def test_formula_like_cells_are_neutralized_in_both_files(scored, hostile):
    _, spark = scored["csv", False, "plain", ".csv"]
    with open(spark.rejects, newline="", encoding="utf-8") as handle:
        rejects = list(csv.reader(handle))[1:]
    with open(spark.out, newline="", encoding="utf-8") as handle:
        scored_cells = list(csv.reader(handle))[1:]
    echoed = {int(row[0]): row[2] for row in rejects}
    line = hostile.lines  # the line of each frame row

    assert echoed[line[70]] == "'" + '=HYPERLINK("http://x","y")'
    assert [echoed[line[71]], echoed[line[72]], echoed[line[73]]] == ["'@x", "'\tcmd", "'\rcmd"]
    assert {int(row[0]): row[1] for row in rejects}[line[74]] == "'-2+3"
    assert echoed[line[77]] == "'+cmd"
    assert ["17", hostile.frame.loc[75, config.VIDEO_ID]] in [row[:2] for row in scored_cells]  # "+17" is a number
    assert ["77", "-7"] in [row[:2] for row in scored_cells]
    text_cells = [cell for row in rejects for cell in row[1:]] + [row[3] for row in scored_cells]
    assert not [cell for cell in text_cells if cell.startswith(FORMULA_PREFIXES)]


def test_a_log1p_model_is_the_one_scored(models):
    inputs = load_model(models["log1p"]).payload["inputs"]
    assert any(column.get("transform") == "log1p" for column in inputs)


def test_real_data_is_scored_identically(spark_scorer, models, real_data_path, tmp_path):
    local = score_file(models["plain"], real_data_path, tmp_path / "local.csv", sort=True)
    spark = spark_scorer(models["plain"], real_data_path, tmp_path / "spark.csv", sort=True, master=MASTER)

    assert content(spark.out) == content(local.out)
    assert content(spark.rejects) == content(local.rejects)
    assert spark.rows_read == local.rows_read == 19_382


# ---------------------------------------------------------------- files and the command


def test_an_input_named_like_a_temporary_file_and_the_users_files_survive(spark_scorer, models, backlogs, tmp_path):
    victim = tmp_path / "victim.csv.partial"
    victim.write_bytes(backlogs["csv"].read_bytes())
    bystanders = {tmp_path / "victim_rejects.csv.partial": b"mine", tmp_path / ".tiktok-claims-notes": b"mine too"}
    for path, data in bystanders.items():
        path.write_bytes(data)
    local = score_file(models["plain"], backlogs["csv"], tmp_path / "local.csv")

    spark = spark_scorer(models["plain"], victim, tmp_path / "victim.csv", master=MASTER)

    assert victim.read_bytes() == backlogs["csv"].read_bytes()
    assert {path: path.read_bytes() for path in bystanders} == bystanders
    assert content(spark.out) == content(local.out) and content(spark.rejects) == content(local.rejects)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["victim.csv", "victim_rejects.csv", "local.csv", "local_rejects.csv", victim.name, *(p.name for p in bystanders)]
    )


def test_cli_score_engine_spark_sorts_with_a_master_and_scratch_url(spark_scorer, models, backlogs, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    local = score_file(models["plain"], backlogs["parquet-typed"], tmp_path / "local.csv", sort=True)

    result = CliRunner().invoke(
        app,
        ["score", "--model", str(models["plain"]), "--data", str(backlogs["parquet-typed"]), "--out",
         str(tmp_path / "out" / "s.csv"), "--engine", "spark", "--sort", "--spark-master", MASTER,
         "--spark-tmp", f"file://{scratch}", "--quiet"],
    )

    assert result.exit_code == 0, result.output
    assert "3,000 rows read" in result.output and "in priority order" in result.output
    assert content(tmp_path / "out" / "s.csv") == content(local.out)
    assert content(tmp_path / "out" / "s_rejects.csv") == content(local.rejects)
    assert list(scratch.iterdir()) == []  # Spark's part files were moved out, its directories removed
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["s.csv", "s_rejects.csv"]


def test_cli_score_refuses_a_missing_scratch_directory_with_exit_1(spark_scorer, models, backlogs, tmp_path):
    result = CliRunner().invoke(
        app,
        ["score", "--model", str(models["plain"]), "--data", str(backlogs["parquet-typed"]), "--out",
         str(tmp_path / "s.csv"), "--engine", "spark", "--spark-master", MASTER, "--spark-tmp", str(tmp_path / "absent")],
    )

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ") and f"{tmp_path / 'absent'}: no such directory" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_cli_score_refuses_part_files_the_driver_cannot_see(spark_scorer, models, backlogs, tmp_path, monkeypatch):
    # What a cluster does when the scratch directory is on each node's own disk: the
    # executors' part files never appear where the driver looks.
    from tiktok_claims.scoring import spark as spark_scoring

    previous = tmp_path / "s.csv"
    previous.write_text("an earlier run's output\n")
    monkeypatch.setattr(spark_scoring, "list_files", lambda spark, url, pattern: [])
    result = CliRunner().invoke(
        app,
        ["score", "--model", str(models["plain"]), "--data", str(backlogs["parquet-typed"]), "--out", str(previous),
         "--engine", "spark", "--spark-master", MASTER],
    )

    assert result.exit_code == 1, result.output
    assert "cannot see it" in result.stderr and "--spark-tmp" in result.stderr
    assert previous.read_text() == "an earlier run's output\n"  # left as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]  # no new output, no temporary file, no scratch


def test_cli_score_refuses_a_column_of_another_type_before_starting_work(spark_scorer, models, tmp_path):
    frame = make_synthetic(20, seed=17).dropna()
    frame[config.DURATION] = pd.Timestamp("2024-01-01")
    path = tmp_path / "b.parquet"
    frame.to_parquet(path)

    result = CliRunner().invoke(
        app, ["score", "--model", str(models["plain"]), "--data", str(path), "--out", str(tmp_path / "s.csv"),
              "--engine", "spark", "--spark-master", MASTER],
    )

    assert result.exit_code == 1, result.output
    assert f"column '{config.DURATION}' holds timestamp" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.parquet"]


def test_cli_score_refuses_spark_tmp_without_the_spark_engine(models, backlogs, tmp_path):
    result = CliRunner().invoke(
        app,
        ["score", "--model", str(models["plain"]), "--data", str(backlogs["parquet-typed"]), "--out",
         str(tmp_path / "s.csv"), "--spark-tmp", str(tmp_path)],
    )

    assert result.exit_code == 2
    assert "--spark-tmp" in result.stderr and "only with --engine spark" in result.stderr


@pytest.mark.parametrize(
    "header_block",
    [None, 4096],
    ids=["seen by the driver", "seen by an executor"],
)
def test_cli_score_refuses_a_nul_byte_deep_in_the_file_like_the_in_process_engine(
    spark_scorer, models, tmp_path, monkeypatch, header_block
):
    if header_block is not None:  # the driver reads only the header's block: the executors meet the NUL byte
        monkeypatch.setattr("tiktok_claims.scoring.contract.CSV_BLOCK_BYTES", header_block)
    text = write_synthetic(tmp_path / "clean.csv", rows=3000, seed=18).read_bytes()
    at = text.index(b"\n", 3 * BLOCK_BYTES) + 3
    path = tmp_path / "b.csv"
    path.write_bytes(text[:at] + b"\x00" + text[at:])
    (tmp_path / "clean.csv").unlink()

    result = CliRunner().invoke(
        app, ["score", "--model", str(models["plain"]), "--data", str(path), "--out", str(tmp_path / "s.csv"),
              "--engine", "spark", "--spark-master", MASTER],
    )

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ") and "this is not a CSV text file (it contains binary data: a NUL byte" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.csv"]
