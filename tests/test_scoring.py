"""``score_file`` and ``tiktok-claims score``: every row scored or rejected, exact ranks, safe CSV.

One model is trained per module on a small synthetic frame; every backlog file is
generated here (synthetic rows plus hand-made bad ones). Expected probabilities come
from the fitted scikit-learn pipeline, expected ranks from pandas' ranking: neither
shares code with the scorer.
"""

from __future__ import annotations

import csv
import gzip
import json
import os

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
from tiktok_claims.data.load import validate_frame
from tiktok_claims.data.rules import EMPTY_ROW, REQUOTED, check_values
from tiktok_claims.data.schema import SPEC_BY_NAME
from tiktok_claims.data.synthetic import make_synthetic, write_synthetic
from tiktok_claims.errors import DataError, ModelFileError
from tiktok_claims.escaping import neutralize, neutralize_cell
from tiktok_claims.scoring.contract import NO_FINITE_SCORE, scored_columns
from tiktok_claims.scoring.local import score_file

HEADER = ",".join(config.COLUMNS)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def analysis():
    return analyze(make_synthetic(4000, seed=1), bootstrap=100, cv_folds=2, workers=1)


@pytest.fixture(scope="module")
def model_path(analysis, tmp_path_factory):
    return save_model(analysis, tmp_path_factory.mktemp("model") / "model.json")["model.json"]


@pytest.fixture(scope="module")
def inputs(analysis):
    """The columns the model reads: identifiers, then its predictors."""
    return [config.ID_COLUMN, config.VIDEO_ID, *analysis.features.continuous, *analysis.features.categorical]


def complete_rows(n: int, seed: int) -> pd.DataFrame:
    """``n`` complete synthetic rows, numbered 1..n in ``#``, every cell as text."""
    frame = make_synthetic(2 * n, seed=seed).dropna().head(n).reset_index(drop=True)
    frame[config.ID_COLUMN] = np.arange(1, n + 1)
    return frame.astype(str)


def csv_text(frame: pd.DataFrame, lines: dict[int, str] | None = None, extra: dict[int, str] | None = None) -> str:
    """CSV of ``frame`` (header = line 1, row i on line i + 2), with whole lines replaced
    (``lines``) or inserted before a row's line (``extra``)."""
    out = [HEADER]
    for index, row in enumerate(frame[list(config.COLUMNS)].itertuples(index=False)):
        if extra and index in extra:
            out.append(extra[index])
        out.append((lines or {}).get(index, ",".join(row)))
    return "\n".join(out) + "\n"


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read_out(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={config.ID_COLUMN: "Int64", config.VIDEO_ID: "Int64"})


def read_rejects(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={config.ID_COLUMN: str, config.VIDEO_ID: str, "reason": str}, keep_default_na=False)


def raw_cells(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def expected_probabilities(analysis, frame: pd.DataFrame) -> np.ndarray:
    typed = frame.copy()
    for name in analysis.features.continuous:
        typed[name] = typed[name].astype(float)
    return analysis.classifier.pipeline.predict_proba(typed[list(analysis.features.columns)])[:, 1]


def expected_ranks(probability: pd.Series) -> np.ndarray:
    """1 = highest probability; equal probabilities keep input order."""
    return (-probability).rank(method="first").astype(int).to_numpy()


# ---------------------------------------------------------------- accounting and reasons


def test_bad_rows_scattered_through_a_file_are_each_rejected_with_their_reason_and_blank_lines_are_not_rows(model_path, inputs, tmp_path):
    frame = complete_rows(300, seed=2)
    views, ban, duration, comments, shares = config.VIEWS, config.BAN, config.DURATION, config.COMMENTS, config.SHARES
    assert {views, ban, duration, comments, shares} <= set(inputs)
    bad_cells = {
        (7, views): ("-5", f"{views}: negative"),
        (31, ban): ("suspended", f"{ban}: unknown category"),
        (64, duration): ("abc", f"{duration}: not a number"),
        (90, comments): ("", f"missing {comments}"),
        (121, shares): ("#N/A", f"missing {shares}"),
        (150, views): ("1.5", f"{views}: not a whole number"),
        (151, views): ("inf", f"{views}: infinite"),
        (152, config.VIDEO_ID): ("1e17", f"{config.VIDEO_ID}: beyond 9,007,199,254,740,992"),
        (200, config.ID_COLUMN): ("x7", f"{config.ID_COLUMN}: not a number"),
    }
    for (row, column), (value, _) in bad_cells.items():
        frame.loc[row, column] = value
    frame.loc[250, comments], frame.loc[250, shares] = "", "-1"
    frame.loc[260, [c for c in inputs]] = ""
    record = ",".join(frame.loc[10, list(config.COLUMNS)])
    lines = {10: f'"{record}"', 40: "1,claim,2", 299: ""}
    path = write(tmp_path, "backlog.csv", csv_text(frame, lines=lines))

    result = score_file(model_path, path, tmp_path / "scored.csv", chunk_rows=64)

    expected = {row: reason for (row, _), (_, reason) in bad_cells.items()}
    expected |= {
        250: f"missing {comments}; {shares}: negative",
        260: EMPTY_ROW,
        10: REQUOTED,
        40: "3 field(s); the header has 12",
    }  # line 301 (row 299) is blank: not a row, so neither scored nor rejected
    rejects = read_rejects(tmp_path / "scored_rejects.csv")
    assert list(rejects.columns) == ["line", config.ID_COLUMN, config.VIDEO_ID, "reason"]
    assert dict(zip(rejects["line"], rejects["reason"])) == {row + 2: reason for row, reason in expected.items()}
    assert rejects["line"].is_monotonic_increasing
    scored = read_out(tmp_path / "scored.csv")
    assert sorted(scored[config.ID_COLUMN]) == [n + 1 for n in range(299) if n not in expected]
    assert (result.rows_read, result.rows_scored, result.rows_rejected) == (299, 299 - len(expected), len(expected))
    assert sum(result.rejected.values()) == len(rejects)


def test_the_summary_states_the_accounting_per_reason_and_the_speed(model_path, tmp_path):
    frame = complete_rows(40, seed=3)
    frame.loc[[3, 9], config.BAN] = "suspended"
    path = write(tmp_path, "backlog.csv", csv_text(frame))

    summary = score_file(model_path, path, tmp_path / "scored.csv").summary()

    assert "40 rows read = 38 scored + 2 rejected" in summary
    assert f"(2 × {config.BAN}: unknown category)" in summary
    assert "rows/s" in summary
    assert "\n" not in summary


def test_a_value_in_a_column_the_model_does_not_read_never_rejects_a_row(model_path, inputs, tmp_path):
    unused = [c for c in config.COLUMNS if c not in inputs and c != config.TRANSCRIPT]
    frame = complete_rows(20, seed=4)
    for column in unused:
        frame.loc[5, column] = "not a number"
    frame.loc[6, config.TRANSCRIPT] = ""

    result = score_file(model_path, write(tmp_path, "b.csv", csv_text(frame)), tmp_path / "scored.csv")

    assert (result.rows_scored, result.rows_rejected) == (20, 0)


@pytest.mark.parametrize("boundary", [49, 50])
def test_a_bad_row_exactly_on_a_chunk_boundary(model_path, analysis, tmp_path, boundary):
    """Rows ``boundary`` and ``boundary + 1`` (0-based) straddle the chunks of 50 rows; a broken
    line sits between them, so the second chunk starts after it."""
    frame = complete_rows(120, seed=5)
    frame.loc[boundary, config.VIEWS] = "-1"
    frame.loc[boundary + 1, config.BAN] = "?"
    text = csv_text(frame, extra={boundary + 1: "7,claim"})
    path = write(tmp_path, "b.csv", text)

    result = score_file(model_path, path, tmp_path / "small.csv", chunk_rows=50)
    whole = score_file(model_path, path, tmp_path / "whole.csv", chunk_rows=10_000)

    rejects = read_rejects(tmp_path / "small_rejects.csv")
    assert list(rejects["line"]) == [boundary + 2, boundary + 3, boundary + 4]
    assert list(rejects["reason"]) == [
        f"{config.VIEWS}: negative", "2 field(s); the header has 12", f"{config.BAN}: unknown category"
    ]
    assert (result.rows_read, result.rows_scored, result.rows_rejected) == (121, 118, 3)
    assert (tmp_path / "small.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert (tmp_path / "small_rejects.csv").read_bytes() == (tmp_path / "whole_rejects.csv").read_bytes()
    assert whole.rows_read == result.rows_read


def test_lines_after_the_last_good_row_and_blank_lines_are_accounted_for(model_path, tmp_path):
    frame = complete_rows(5, seed=6)
    path = write(tmp_path, "b.csv", csv_text(frame) + "\n   \n1,2,3\n")

    result = score_file(model_path, path, tmp_path / "scored.csv")

    rejects = read_rejects(tmp_path / "scored_rejects.csv")
    assert list(rejects["line"]) == [8, 9]  # line 7 is blank: not a row; line 8 holds spaces: a row
    assert list(rejects["reason"]) == [EMPTY_ROW, "3 field(s); the header has 12"]
    assert (result.rows_read, result.rows_scored, result.rows_rejected) == (7, 5, 2)


def test_rejects_echo_the_identifiers_as_given(model_path, tmp_path):
    frame = complete_rows(4, seed=7)
    frame.loc[1, config.VIDEO_ID] = "0012x"
    frame.loc[2, config.ID_COLUMN] = "NA"
    path = write(tmp_path, "b.csv", csv_text(frame))

    score_file(model_path, path, tmp_path / "scored.csv")

    rows = raw_cells(tmp_path / "scored_rejects.csv")[1:]
    assert [row[:3] for row in rows] == [["3", "2", "0012x"], ["4", "NA", frame.loc[2, config.VIDEO_ID]]]
    assert [row[3] for row in rows] == [f"{config.VIDEO_ID}: not a number", f"missing {config.ID_COLUMN}"]


# ---------------------------------------------------------------- output safety


def test_formula_like_cells_are_neutralized_in_every_output(model_path, tmp_path):
    frame = complete_rows(6, seed=8)
    hostile = ['=HYPERLINK("http://x","y")', "@x", "-2+3", "\tcmd"]
    for row, value in enumerate(hostile):
        frame.loc[row, config.VIDEO_ID] = value
    frame.loc[4, config.ID_COLUMN] = "=1+1"
    frame.loc[5, config.VIDEO_ID] = "+17"  # a number: scored, written as the number 17
    text = csv_text(frame).replace(hostile[0], '"' + hostile[0].replace('"', '""') + '"')
    path = write(tmp_path, "b.csv", text)

    result = score_file(model_path, path, tmp_path / "scored.csv")

    assert (result.rows_scored, result.rows_rejected) == (1, 5)
    rejected = raw_cells(tmp_path / "scored_rejects.csv")[1:]
    assert [row[2] for row in rejected[:4]] == ["'" + value for value in hostile]
    assert rejected[4][1] == "'=1+1"
    scored = raw_cells(tmp_path / "scored.csv")
    assert scored[1][1] == "17"
    for cells in (scored, rejected):
        for row in cells:
            assert not any(cell.startswith(FORMULA_STARTS) for cell in row), row


def test_the_vectorized_guard_follows_the_csvsafe_rule():
    texts = ["=1+2", "+1", "-1", "@x", "\tcmd", "\rcmd", "a=b", " =1", "", "'=q", "verified", None]
    dictionary = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0], pa.int8()), pa.array(["=a", "b"]))

    assert neutralize(pa.array(texts)).to_pylist() == [neutralize_cell(t) for t in texts]
    assert neutralize(dictionary).to_pylist() == ["'=a", "b", "'=a"]


# ---------------------------------------------------------------- the rules of load.py


def _load_verdict(made_up_record, column: str, value: str) -> str:
    """What ``load.py`` does with ``value`` in ``column``: use the row, set it aside, or refuse."""
    frame = pd.DataFrame([made_up_record(1), {**made_up_record(2), column: value}])
    try:
        dataset = validate_frame(frame, source="t", sha256="0" * 64)
    except DataError:
        return "problem"
    return "used" if dataset.rows_used == 2 else "missing"


def _check_verdict(column: str, value: str) -> str:
    check = check_values(pa.array([value]), SPEC_BY_NAME[column])
    if check.missing[0]:
        return "missing"
    return "problem" if any(mask[0] for _, mask in check.problems) else "used"


@pytest.mark.parametrize(
    "column, value",
    [
        (config.VIEWS, v)
        for v in ["5", "5.0", " 7 ", "+3", "1e3", "-1", "1.5", "abc", "inf", "-inf", "", "#N/A", "NA", "nan", "NAN"]
        + ["1e20", "0x10"]
    ]
    + [(config.DURATION, v) for v in ["0", "-2", "12.5"]]
    + [(config.VIDEO_ID, v) for v in ["-7", "7.5", "1e17"]]
    + [(config.BAN, v) for v in ["banned", "Banned", "", "null", "active "]],
)
def test_scoring_applies_the_same_value_rules_as_loading(made_up_record, column, value):
    assert _check_verdict(column, value) == _load_verdict(made_up_record, column, value)


# ---------------------------------------------------------------- formats and numbers


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """One synthetic backlog (with its incomplete rows) as CSV, .csv.gz and Parquet."""
    directory = tmp_path_factory.mktemp("generated")
    return {
        suffix: write_synthetic(directory / f"backlog{suffix}", rows=3000, seed=9) for suffix in (".csv", ".csv.gz", ".parquet")
    }


def test_csv_gzip_and_parquet_inputs_give_identical_outputs(model_path, generated, tmp_path):
    results = {
        suffix: score_file(model_path, path, tmp_path / f"{suffix[1:]}.csv", chunk_rows=700) for suffix, path in generated.items()
    }

    scored = {suffix: (tmp_path / f"{suffix[1:]}.csv").read_bytes() for suffix in generated}
    assert scored[".csv"] == scored[".csv.gz"] == scored[".parquet"]
    csv_rejects = read_rejects(tmp_path / "csv_rejects.csv")
    parquet_rejects = read_rejects(tmp_path / "parquet_rejects.csv")
    assert len(csv_rejects) > 0 and results[".csv"].rows_rejected == len(csv_rejects)
    assert list(csv_rejects["line"]) == list(parquet_rejects["row"] + 1)
    pd.testing.assert_frame_equal(csv_rejects.drop(columns="line"), parquet_rejects.drop(columns="row"))
    assert {r.rows_read for r in results.values()} == {3000}


def test_parquet_rows_with_bad_values_are_rejected_by_row_number(model_path, tmp_path):
    frame = make_synthetic(50, seed=10).dropna().reset_index(drop=True)
    frame.loc[3, config.VIEWS] = -4
    frame.loc[8, config.BAN] = "Banned"
    path = tmp_path / "b.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)

    result = score_file(model_path, path, tmp_path / "scored.csv")

    rejects = read_rejects(tmp_path / "scored_rejects.csv")
    assert list(rejects["row"]) == [4, 9]
    assert list(rejects["reason"]) == [f"{config.VIEWS}: negative", f"{config.BAN}: unknown category"]
    assert list(rejects[config.VIDEO_ID]) == [str(frame.loc[3, config.VIDEO_ID]), str(frame.loc[8, config.VIDEO_ID])]
    assert result.rows_read == len(frame)


def test_probabilities_and_labels_equal_the_fitted_pipeline(analysis, model_path, tmp_path):
    frame = complete_rows(500, seed=11)
    path = write(tmp_path, "b.csv", csv_text(frame))

    score_file(model_path, path, tmp_path / "scored.csv", chunk_rows=128)

    scored = read_out(tmp_path / "scored.csv")
    # A class-weighted model's output ranks: its column says "score", not "probability".
    assert list(scored.columns) == list(scored_columns(load_model(model_path))) and scored.columns[2] == "score"
    assert list(scored[config.ID_COLUMN]) == list(range(1, 501))
    assert list(scored[config.VIDEO_ID].astype(str)) == list(frame[config.VIDEO_ID])
    expected = expected_probabilities(analysis, frame)
    np.testing.assert_allclose(scored["score"], expected, rtol=0, atol=1e-12)
    labels = np.where(expected >= analysis.evaluation.threshold, "verified", "not verified")
    assert list(scored["predicted_label"]) == list(labels)


@pytest.fixture(scope="module")
def tied(tmp_path_factory):
    """3,000 rows whose probabilities repeat: rows 0..99 appear again, scattered, twice."""
    frame = complete_rows(2800, seed=12)
    copies = frame.iloc[:100]
    frame = pd.concat([frame, copies, copies], ignore_index=True).sample(frac=1.0, random_state=3).reset_index(drop=True)
    frame[config.ID_COLUMN] = [str(n) for n in range(1, len(frame) + 1)]
    return write(tmp_path_factory.mktemp("tied"), "tied.csv", csv_text(frame)), frame


@pytest.mark.parametrize("chunk_rows", [1500, 97, 100_000])
def test_priority_rank_is_exact_over_the_whole_file(analysis, model_path, tied, tmp_path, chunk_rows):
    path, frame = tied

    score_file(model_path, path, tmp_path / "scored.csv", chunk_rows=chunk_rows)

    scored = read_out(tmp_path / "scored.csv")
    assert list(scored[config.ID_COLUMN]) == list(range(1, len(frame) + 1))
    expected = expected_ranks(pd.Series(expected_probabilities(analysis, frame)))
    assert scored["score"].duplicated().sum() >= 200
    assert list(scored["priority_rank"]) == list(expected)


@pytest.mark.parametrize("chunk_rows", [1500, 97])
def test_sorted_output_is_the_same_rows_in_priority_order(model_path, tied, tmp_path, chunk_rows):
    path, _ = tied

    unsorted = score_file(model_path, path, tmp_path / "input-order.csv", chunk_rows=chunk_rows)
    ranked = score_file(model_path, path, tmp_path / "sorted.csv", sort=True, chunk_rows=chunk_rows)

    by_rank = read_out(tmp_path / "input-order.csv").sort_values("priority_rank", ignore_index=True)
    in_file = read_out(tmp_path / "sorted.csv")
    assert list(in_file["priority_rank"]) == list(range(1, len(in_file) + 1))
    pd.testing.assert_frame_equal(in_file, by_rank)
    assert "in priority order" in ranked.summary() and "in input order" in unsorted.summary()


def test_gzip_output_and_an_empty_backlog(model_path, tmp_path):
    path = write(tmp_path, "empty.csv", HEADER + "\n")

    result = score_file(model_path, path, tmp_path / "scored.csv.gz")

    assert (result.rows_read, result.rows_scored, result.rows_rejected) == (0, 0, 0)
    with gzip.open(tmp_path / "scored.csv.gz", "rt", encoding="utf-8") as handle:
        assert handle.read() == ",".join(scored_columns(load_model(model_path))) + "\n"
    assert (tmp_path / "scored_rejects.csv").read_text(encoding="utf-8") == "line,#,video_id,reason\n"


# ---------------------------------------------------------------- refusals


def test_a_file_without_a_column_the_model_needs_is_refused(model_path, tmp_path):
    frame = complete_rows(3, seed=13).drop(columns=config.BAN)
    path = tmp_path / "b.csv"
    frame.to_csv(path, index=False)

    with pytest.raises(DataError, match=config.BAN):
        score_file(model_path, path, tmp_path / "scored.csv")
    assert not (tmp_path / "scored.csv").exists()


def test_a_parquet_column_of_another_type_is_refused_and_leaves_no_output(model_path, tmp_path):
    frame = make_synthetic(20, seed=17).dropna()
    frame[config.DURATION] = pd.Timestamp("2024-01-01")
    path = tmp_path / "b.parquet"
    frame.to_parquet(path)

    with pytest.raises(DataError, match=f"column '{config.DURATION}' holds timestamp"):
        score_file(model_path, path, tmp_path / "scored.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.parquet"]


def test_the_known_header_spellings_are_accepted(model_path, tmp_path):
    frame = complete_rows(5, seed=18)
    text = csv_text(frame).replace(HEADER, "id" + HEADER[1:], 1)

    result = score_file(model_path, write(tmp_path, "b.csv", text), tmp_path / "scored.csv")

    assert result.rows_scored == 5
    assert list(read_out(tmp_path / "scored.csv")[config.ID_COLUMN]) == [1, 2, 3, 4, 5]


def test_outputs_never_overwrite_the_inputs(model_path, tmp_path):
    path = write(tmp_path, "b.csv", csv_text(complete_rows(3, seed=14)))

    with pytest.raises(DataError, match="overwrite"):
        score_file(model_path, path, path)
    with pytest.raises(DataError, match="overwrite"):
        score_file(model_path, path, tmp_path / "scored.csv", rejects=model_path)
    assert path.read_text(encoding="utf-8").startswith(HEADER)


def test_an_input_named_like_a_temporary_output_and_the_users_partial_files_survive(model_path, tmp_path):
    # Before: outputs were written to "<out>.partial" first, so this command destroyed its input.
    frame = complete_rows(30, seed=19)
    frame.loc[4, config.VIEWS] = "-3"
    victim = write(tmp_path, "victim.csv.partial", csv_text(frame))
    original = victim.read_bytes()
    mine = {tmp_path / "victim_rejects.csv.partial": b"my own notes", tmp_path / ".tiktok-claims-score-x": b"mine too"}
    for path, data in mine.items():
        path.write_bytes(data)

    result = invoke("score", "--model", str(model_path), "--data", str(victim), "--out", str(tmp_path / "victim.csv"), "--quiet")

    assert result.exit_code == 0, result.output
    assert victim.read_bytes() == original
    assert {path: path.read_bytes() for path in mine} == mine
    assert len(read_out(tmp_path / "victim.csv")) == 29 and len(read_rejects(tmp_path / "victim_rejects.csv")) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["victim.csv", "victim_rejects.csv", victim.name, *(p.name for p in mine)])


def test_a_run_that_fails_its_accounting_leaves_every_file_as_it_was(model_path, tmp_path, monkeypatch):
    def failing(*counts):
        raise RuntimeError("row accounting failed: this is a bug, and no output was written.")

    path = write(tmp_path, "b.csv", csv_text(complete_rows(20, seed=20)))
    previous = {tmp_path / "scored.csv": b"yesterday's scores\n", tmp_path / "scored_rejects.csv": b"line,#,video_id,reason\n2,7,77,yesterday's reason\n"}
    for target, data in previous.items():
        target.write_bytes(data)
    monkeypatch.setattr("tiktok_claims.scoring.local.check_accounting", failing)

    with pytest.raises(RuntimeError, match="no output was written"):
        score_file(model_path, path, tmp_path / "scored.csv", chunk_rows=7)

    assert {target: target.read_bytes() for target in previous} == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.csv", "scored.csv", "scored_rejects.csv"]


def test_a_tampered_model_is_refused_before_reading_the_data(model_path, tmp_path):
    document = json.loads(model_path.read_text(encoding="utf-8"))
    document["payload"]["intercept"] += 1.0
    tampered = tmp_path / "model.json"
    tampered.write_text(json.dumps(document), encoding="utf-8")

    with pytest.raises(ModelFileError, match="checksum"):
        score_file(tampered, tmp_path / "absent.csv", tmp_path / "scored.csv")


# ---------------------------------------------------------------- the command


def invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not escaped, f"uncaught {result.exception!r}; output: {result.output}"
    return result


def test_cli_score_exits_0_and_prints_the_accounting(model_path, tmp_path):
    frame = complete_rows(30, seed=15)
    frame.loc[4, config.VIEWS] = "-3"
    path = write(tmp_path, "b.csv", csv_text(frame))

    result = invoke("score", "--model", str(model_path), "--data", str(path), "--out", str(tmp_path / "s.csv"), "--sort")

    assert result.exit_code == 0, result.output
    assert "30 rows read = 29 scored + 1 rejected" in result.stdout
    assert "rows/s" in result.stderr  # the progress bar
    assert len(read_out(tmp_path / "s.csv")) == 29


def test_cli_score_refuses_a_tampered_model_with_exit_1(model_path, tmp_path):
    document = json.loads(model_path.read_text(encoding="utf-8"))
    document["payload"]["threshold"]["value"] = 0.01
    tampered = tmp_path / "model.json"
    tampered.write_text(json.dumps(document), encoding="utf-8")
    path = write(tmp_path, "b.csv", csv_text(complete_rows(3, seed=16)))

    result = invoke("score", "--model", str(tampered), "--data", str(path), "--out", str(tmp_path / "s.csv"), "--quiet")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "checksum" in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "s.csv").exists()


def test_cli_score_refuses_a_missing_data_file_with_exit_1(model_path, tmp_path):
    result = invoke("score", "--model", str(model_path), "--data", str(tmp_path / "no.csv"), "--out", str(tmp_path / "s.csv"))

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "no such file" in result.stderr


# ---------------------------------------------------------------- paths refused before any work


def _refused_before_work(result, *words: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.output
    for word in words:
        assert word in result.stderr, result.stderr


def test_cli_score_refuses_an_existing_directory_as_an_output_before_writing_anything(model_path, tmp_path):
    path = write(tmp_path, "b.csv", csv_text(complete_rows(5, seed=21)))
    (tmp_path / "scored").mkdir()
    (tmp_path / "rejects").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())

    as_out = invoke("score", "--model", str(model_path), "--data", str(path), "--out", str(tmp_path / "scored"), "--quiet")
    as_rejects = invoke(
        "score", "--model", str(model_path), "--data", str(path), "--out", str(tmp_path / "s.csv"),
        "--rejects", str(tmp_path / "rejects"), "--quiet",
    )

    _refused_before_work(as_out, "scored: the scored output names an existing directory")
    _refused_before_work(as_rejects, "rejects: the rejects output names an existing directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert list((tmp_path / "scored").iterdir()) == [] and list((tmp_path / "rejects").iterdir()) == []


@pytest.mark.parametrize("under", ["a_file/s.csv", "a_file/deeper/s.csv"])
def test_cli_score_refuses_an_output_under_a_file(model_path, tmp_path, under):
    path = write(tmp_path, "b.csv", csv_text(complete_rows(5, seed=22)))
    write(tmp_path, "a_file", "not a folder")

    result = invoke("score", "--model", str(model_path), "--data", str(path), "--out", str(tmp_path / under), "--quiet")

    _refused_before_work(result, "a_file is a file, not a folder")
    assert (tmp_path / "a_file").read_text(encoding="utf-8") == "not a folder"


def test_cli_score_refuses_special_files_as_data_or_output(model_path, fifo, tmp_path):
    path = write(tmp_path, "b.csv", csv_text(complete_rows(5, seed=23)))

    pipe_data = invoke("score", "--model", str(model_path), "--data", str(fifo("in.csv", b"")), "--out", str(tmp_path / "s.csv"), "--quiet")
    pipe_out = invoke("score", "--model", str(model_path), "--data", str(path), "--out", str(fifo("out.csv", b"")), "--quiet")
    pipe_model = invoke("score", "--model", str(fifo("model.json")), "--data", str(path), "--out", str(tmp_path / "s.csv"), "--quiet")

    _refused_before_work(pipe_data, "in.csv: a FIFO (named pipe), not a regular file")
    _refused_before_work(pipe_out, "out.csv: the scored output names a special file")
    _refused_before_work(pipe_model, "model.json: a FIFO (named pipe), not a regular file; expected a model artifact")
    assert not (tmp_path / "s.csv").exists()


def test_a_folder_that_cannot_be_written_is_refused_cleanly(model_path, tmp_path, monkeypatch):
    path = write(tmp_path, "b.csv", csv_text(complete_rows(5, seed=24)))

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tiktok_claims.folders.tempfile.mkdtemp", read_only)
    result = invoke("score", "--model", str(model_path), "--data", str(path), "--out", str(tmp_path / "s.csv"), "--quiet")

    _refused_before_work(result, "s.csv: cannot be written", "Permission denied")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="the superuser writes into read-only folders")
def test_a_read_only_folder_is_refused_before_reading_the_data(model_path, tmp_path):
    path = write(tmp_path, "b.csv", csv_text(complete_rows(5, seed=25)))
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = invoke("score", "--model", str(model_path), "--data", str(path), "--out", str(folder / "s.csv"), "--quiet")
    finally:
        folder.chmod(0o755)

    _refused_before_work(result, "read-only")


# ---------------------------------------------------------------- scores that are not numbers


def test_rows_an_edited_model_gives_no_finite_score_are_rejected_never_ranked(model_path, tmp_path, write_artifact):
    """Two dummy coefficients of 1e308 (checksum recomputed, as a careless editor would): their sum overflows
    exactly for the rows that have both levels."""
    document = json.loads(model_path.read_text(encoding="utf-8"))
    features = document["payload"]["features"]
    huge = [f"{config.CLAIM}_opinion", f"{config.BAN}_banned"]
    assert set(huge) <= set(features)
    for name in huge:
        document["payload"]["coef"][features.index(name)] = 1e308
    edited = write_artifact(tmp_path / "edited.json", document, fix_checksum=True)
    frame = complete_rows(200, seed=26)
    frame.loc[3, config.VIEWS] = "-1"
    both = (frame[config.CLAIM] == "opinion") & (frame[config.BAN] == "banned")
    both[3] = False
    assert 0 < both.sum() < len(frame) - 1
    path = write(tmp_path, "b.csv", csv_text(frame))

    result = score_file(edited, path, tmp_path / "scored.csv", chunk_rows=64)

    scored, rejects = read_out(tmp_path / "scored.csv"), read_rejects(tmp_path / "scored_rejects.csv")
    no_score = rejects[rejects["reason"] == NO_FINITE_SCORE]
    assert sorted(no_score["line"]) == sorted(frame.index[both] + 2)
    assert rejects.loc[rejects["line"] == 5, "reason"].tolist() == [f"{config.VIEWS}: negative"]
    assert np.isfinite(scored[scored_columns(load_model(edited))[2]]).all()
    assert sorted(scored["priority_rank"]) == list(range(1, len(scored) + 1))
    assert (result.rows_read, result.rows_scored, result.rows_rejected) == (200, 200 - both.sum() - 1, both.sum() + 1)


def test_predict_proba_refuses_rows_without_a_finite_score(model_path, tmp_path, write_artifact):
    document = json.loads(model_path.read_text(encoding="utf-8"))
    document["payload"]["coef"][document["payload"]["features"].index(f"{config.CLAIM}_opinion")] = float.fromhex("0x1.fffffffffffffp+1023")
    document["payload"]["intercept"] = float.fromhex("0x1.fffffffffffffp+1023")
    model = load_model(write_artifact(tmp_path / "edited.json", document, fix_checksum=True))
    frame = complete_rows(20, seed=27)

    with pytest.raises(DataError, match="no finite score"):
        model.predict_proba(frame)


def test_score_refuses_a_header_naming_a_model_column_twice(model_path, tmp_path):
    text = csv_text(complete_rows(5, seed=28))
    doubled = "\n".join(f"{line},{line.split(',')[7]}" for line in text.rstrip("\n").split("\n")) + "\n"
    path = write(tmp_path, "b.csv", doubled)

    result = invoke("score", "--model", str(model_path), "--data", str(path), "--out", str(tmp_path / "s.csv"), "--quiet")

    _refused_before_work(result, f"'{config.VIEWS}' in columns 8, 13", "more than once")
    assert not (tmp_path / "s.csv").exists()


def test_a_parquet_identifier_beyond_int64_is_rejected_naming_its_column(model_path, tmp_path):
    frame = complete_rows(10, seed=29)
    columns = {name: pa.array(frame[name]) for name in config.COLUMNS}
    columns[config.ID_COLUMN] = pa.array([*range(1, 4), 2**63 + 5, *range(5, 11)], pa.uint64())
    path = tmp_path / "b.parquet"
    pq.write_table(pa.table(columns), path)

    result = score_file(model_path, path, tmp_path / "s.csv")

    rejects = read_rejects(tmp_path / "s_rejects.csv")
    assert rejects.to_dict("records") == [
        {"row": 4, config.ID_COLUMN: str(2**63 + 5), config.VIDEO_ID: frame.loc[3, config.VIDEO_ID],
         "reason": f"{config.ID_COLUMN}: beyond {2**53:,}"}
    ]
    assert (result.rows_read, result.rows_scored) == (10, 9)


# ---------------------------------------------------------------- binary data, other delimiters, long records


def test_cli_score_refuses_binary_input_without_printing_a_traceback(model_path, tmp_path):
    noise = bytes(b for b in np.random.default_rng(30).integers(1, 256, 6000, dtype=np.uint8).tobytes())
    path = tmp_path / "b.csv"
    path.write_bytes(noise)

    result = invoke("score", "--model", str(model_path), "--data", str(path), "--out", str(tmp_path / "s.csv"), "--quiet")

    _refused_before_work(result, "this is not a CSV text file", "not UTF-8")
    assert "Exception ignored" not in result.output


@pytest.mark.parametrize("bad", [b"\x00", b"\xe9"], ids=["NUL", "Latin-1 e-acute"])
def test_binary_data_deep_in_a_backlog_is_refused_and_nothing_is_written(model_path, tmp_path, bad):
    text = csv_text(complete_rows(2000, seed=31)).encode()
    at = text.index(b"\n", 300_000) + 3
    path = tmp_path / "b.csv"
    path.write_bytes(text[:at] + bad + text[at:])

    with pytest.raises(DataError, match=rf"this is not a CSV text file \(.*byte {at:,}"):
        score_file(model_path, path, tmp_path / "s.csv", chunk_rows=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.csv"]


def test_score_refuses_a_semicolon_delimited_file_naming_the_delimiter(model_path, tmp_path):
    path = write(tmp_path, "b.csv", csv_text(complete_rows(5, seed=32)).replace(",", ";"))

    result = invoke("score", "--model", str(model_path), "--data", str(path), "--out", str(tmp_path / "s.csv"), "--quiet")

    _refused_before_work(result, "separated by ';' (semicolon)", "looks semicolon-delimited")


def test_a_record_longer_than_a_mebibyte_is_scored_with_the_rest(model_path, tmp_path):
    frame = complete_rows(50, seed=33)
    frame.loc[20, config.TRANSCRIPT] = '"' + "a long transcript, " * 120_000 + '"'
    path = write(tmp_path, "b.csv", csv_text(frame))

    result = score_file(model_path, path, tmp_path / "s.csv", chunk_rows=7)

    assert (result.rows_read, result.rows_scored) == (50, 50)
    assert list(read_out(tmp_path / "s.csv")[config.ID_COLUMN]) == list(range(1, 51))
