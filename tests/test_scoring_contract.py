"""The scoring contract without Spark: one reading of CSV records for both engines, one wording, safe outputs.

The Spark engine reads a CSV file as lines in blocks and rebuilds its records with
``scoring.csv_records``; the in-process engine streams the file through pyarrow
(``scoring.reading``). Here the Spark engine's path is simulated (the file cut into
blocks, batches and tasks at random) and must give every row the same line number,
values and reason as the in-process reader, on random hostile text. Line numbers are
also checked against Python's ``csv`` module, which shares no code with either.
"""

from __future__ import annotations

import csv
import io
import random
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from tiktok_claims import config
from tiktok_claims.artifact.model import LoadedModel
from tiktok_claims.cli import app
from tiktok_claims.data.load import validate_frame
from tiktok_claims.data.rules import ALL_COUNTS, EMPTY_ROW, REQUOTED, check_rows
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.errors import DataError
from tiktok_claims.folders import OWNER
from tiktok_claims.scoring.contract import canonical, default_rejects, resolve_columns
from tiktok_claims.scoring.csv_records import (
    BlockSummarizer,
    BlockWalker,
    join_fragments,
    parse_records,
    plan_blocks,
)
from tiktok_claims.scoring.reading import open_source
from tiktok_claims.scoring.writing import CsvEncoder, OutputFiles, rejects_schema

HEADER = list(config.COLUMNS)
CATEGORICAL = (config.CLAIM, config.VERIFIED, config.BAN)


def hand_model(counts=(config.VIEWS, config.SHARES)) -> LoadedModel:
    """A model artifact's content written by hand: identifiers, a duration, ``counts`` and the categories."""
    continuous = [config.DURATION, *counts]
    inputs = [{"name": config.ID_COLUMN, "kind": "identifier"}, {"name": config.VIDEO_ID, "kind": "identifier"}]
    inputs += [{"name": name, "kind": "duration" if name == config.DURATION else "count", "mean": 10.0, "scale": 5.0}
               for name in continuous]
    inputs += [{"name": name, "kind": "category", "categories": list(config.CATEGORIES[name])} for name in CATEGORICAL]
    levels = sum(len(config.CATEGORIES[name]) - 1 for name in CATEGORICAL)
    payload = {
        "target": config.VERIFIED,
        "positive_class": "verified",
        "negative_class": "not verified",
        "threshold": {"value": 0.5},
        "inputs": inputs,
        "coef": [0.1] * (len(continuous) + levels),
        "intercept": -0.2,
    }
    return LoadedModel(payload, payload_sha256="0" * 64, source="hand-made")


def record(number: int) -> dict[str, str]:
    """One valid made-up record."""
    return {
        config.ID_COLUMN: str(number),
        config.CLAIM: "claim",
        config.VIDEO_ID: str(7_000_000_000 + number),
        config.DURATION: str(5 + number % 50),
        config.TRANSCRIPT: f"made-up transcript {number}",
        config.VERIFIED: "not verified",
        config.BAN: "active",
        config.VIEWS: str(100 * number),
        config.LIKES: str(10 * number),
        config.SHARES: str(number),
        config.DOWNLOADS: str(number // 2),
        config.COMMENTS: str(number // 3),
    }


# ---------------------------------------------------------------- one line at a time


# ---------------------------------------------------------------- both readings agree


def in_process_rows(path, model) -> dict[int, tuple]:
    """Every row the in-process reader finds: ``line -> ("row", values) or ("broken", reason)``."""
    source = open_source(path, model, chunk_rows=7)
    found = {}
    for table, positions in source.chunks:
        for position, values in zip(positions.tolist(), zip(*table.to_pydict().values())):
            found[position] = ("row", values)
    found.update({record: ("broken", reason) for record, reason in source.broken})
    lines = source.line_map()  # record numbers -> lines, once the file is read
    if lines is None:
        return found
    return {int(lines.of([record])[0]): value for record, value in found.items()}


def spark_path_rows(text: bytes, model, rng: random.Random) -> dict[int, tuple]:
    """Every row as the Spark engine finds it, its lines cut into blocks, batches and tasks at random."""
    lines = text.split(b"\n")
    if text.endswith(b"\n"):
        lines.pop()
    cuts = sorted(rng.sample(range(1, len(lines)), k=min(len(lines) - 1, rng.randint(0, 6)))) if len(lines) > 1 else []
    bounds = [0, *cuts, len(lines)]
    blocks = [(1000 * index, lines[start:end]) for index, (start, end) in enumerate(zip(bounds, bounds[1:]))]

    def batches(block_lines):
        start = 0
        while start < len(block_lines):
            size = rng.randint(1, 4)
            yield pa.array(block_lines[start : start + size], pa.binary())
            start += size

    summaries = []
    for block, block_lines in blocks:
        summarizer = BlockSummarizer(block)
        for batch in batches(block_lines):
            summarizer.feed(batch)
        summaries.append(summarizer.summary())
    plan = plan_blocks(summaries)
    records, fragments = [], defaultdict(list)
    task_starts = sorted({0, *rng.sample(range(len(blocks)), k=rng.randint(0, len(blocks) - 1))})
    for start, end in zip(task_starts, [*task_starts[1:], len(blocks)]):
        walker = BlockWalker(plan)
        outcomes = [walker.feed(block, batch) for block, block_lines in blocks[start:end] for batch in batches(block_lines)]
        for done, found in [*outcomes, walker.finish()]:
            records += done
            for fragment in found:
                fragments[fragment.key].append(fragment)
    for key, parts in fragments.items():
        parts.sort(key=lambda fragment: (fragment.block, fragment.line))
        texts = [part.text for part in parts]
        positions = [position for part in parts for position in part.positions]
        records.append(join_fragments(key, positions, texts, plan, text.endswith(b"\n")))
    columns = resolve_columns(Path("hostile.csv"), HEADER, model)
    found = {}
    for part in records:
        table, positions, broken = parse_records(part, HEADER, list(columns.values()))
        for position, values in zip(positions.tolist(), zip(*canonical(table, columns).to_pydict().values())):
            assert position not in found
            found[position] = ("row", values)
        for position, reason in broken:
            assert position not in found
            found[position] = ("broken", reason)
    found.pop(min(found))  # the header
    return found


PIECES = ["7", "12", "claim", "active", "x y", ",", ",", ",", '"', '"', '""', "\n", "\n", "\r\n", "\r", " ", "#N/A", "=1"]


def hostile_text(rng: random.Random) -> bytes:
    """A header, then records that are mostly valid, with hostile pieces inside and between them."""
    lines = [",".join(HEADER)]
    for number in range(1, rng.randint(2, 14)):
        cells = record(number)
        for _ in range(rng.randint(0, 3)):
            column = rng.choice(HEADER)
            piece = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 4)))
            if rng.random() < 0.5:
                piece = '"' + piece.replace('"', '""') + '"'
            cells[column] = piece
        lines.append(",".join(cells[column] for column in HEADER))
        if rng.random() < 0.2:
            lines.append("".join(rng.choice(PIECES) for _ in range(rng.randint(0, 6))))
    text = "\n".join(lines) + ("\n" if rng.random() < 0.8 else "")
    byte_order_mark = "\ufeff" if rng.random() < 0.2 else ""  # pyarrow skips it
    return (byte_order_mark + text).encode("utf-8")


def test_the_spark_records_are_the_in_process_rows_for_any_split_of_hostile_text(tmp_path):
    model = hand_model()
    rng = random.Random(20261203)
    multi_line = quotes_left_open = 0
    for case in range(200):
        text = hostile_text(rng)
        path = tmp_path / f"case{case}.csv"
        path.write_bytes(text)
        expected = in_process_rows(path, model)
        assert spark_path_rows(text, model, rng) == expected, text
        multi_line += any(kind == "row" and any("\n" in (v or "") for v in found) for kind, found in expected.values())
        quotes_left_open += text.count(b'"') % 2
    assert multi_line > 10 and quotes_left_open > 10  # the hostile cases did occur


def editor_lines(text: bytes) -> dict[int, str]:
    """Python's csv module, independently: the line where each record starts -> its first field.

    ``line_num`` counts the lines read (``\\n``, ``\\r\\n`` and ``\\r`` end a line); an
    empty list is a blank line, which is not a record.
    """
    reader = csv.reader(io.StringIO(text.decode("utf-8-sig"), newline=""))
    found, before = {}, 0
    for fields in reader:
        if fields:
            found[before + 1] = fields[0]
        before = reader.line_num
    return found


def test_line_numbers_name_the_lines_where_records_start_and_blank_lines_are_not_rows(tmp_path):
    rows = [record(number) for number in range(1, 40)]
    for number in (3, 4, 17, 38):
        rows[number][config.TRANSCRIPT] = f"a transcript\nover {number}\r\nlines, \"quoted\""
    rows[20][config.VIEWS] = "-1"
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for index, row in enumerate(rows):
        writer.writerow([row[column] for column in HEADER])
        if index in (0, 9, 10):
            buffer.write("\n" if index else "\r\n")  # blank lines, one with a Windows line end
    text = buffer.getvalue().encode("utf-8")
    path = tmp_path / "multi-line.csv"
    path.write_bytes(text)
    expected_ids = editor_lines(text)
    expected_ids.pop(1)  # the header

    model = hand_model()
    found = in_process_rows(path, model)
    assert len(found) == len(rows)  # blank lines are not rows
    assert {line: values[0] for line, (_, values) in found.items()} == expected_ids
    assert text.count(b"\n") > len(rows) + 4  # lines outnumber records
    assert spark_path_rows(text, model, random.Random(5)) == found


def test_every_line_one_record_needs_no_second_pass(tmp_path):
    rows = [",".join(record(number)[column] for column in HEADER) for number in range(1, 30)]
    path = tmp_path / "plain.csv"
    path.write_text(",".join(HEADER) + "\r\n" + "\r\n".join(rows) + "\r\n", encoding="utf-8")
    source = open_source(path, hand_model(), chunk_rows=7)
    positions = np.concatenate([positions for _, positions in source.chunks])
    assert source.line_map() is None
    assert positions.tolist() == list(editor_lines(path.read_bytes()))[1:]


# ---------------------------------------------------------------- one wording


def test_the_scorer_words_missing_values_as_the_loader_does():
    model = hand_model(counts=config.COUNT_COLUMNS)
    rows = [record(number) for number in range(1, 6)]
    for column in (config.CLAIM, *config.COUNT_COLUMNS):
        rows[1][column] = ""
    rows[2][config.VIEWS] = "#N/A"
    rows[3][config.ID_COLUMN] = ""
    for column in config.COUNT_COLUMNS:
        rows[4][column] = "NA"
    loaded = validate_frame(pd.DataFrame(rows).replace("", None), source="made-up", sha256="0" * 64)

    table = pa.table({name: pa.array([row[name] or None for row in rows]) for name in HEADER})
    checked = check_rows(table, model.inputs)

    assert list(checked.reasons) == list(loaded.set_aside["reason"])
    assert checked.reasons[0] == f"missing {config.CLAIM}, {ALL_COUNTS}"


def test_a_row_without_any_value_and_a_re_quoted_record_have_their_own_reasons():
    model = hand_model()
    whole_record = ",".join(record(1).values())
    # Rows: no value at all; a whole record in '#' and nothing else; the same text in '#' beside other values.
    values = {spec.name: [None, None, record(2)[spec.name]] for spec in model.inputs}
    values[config.ID_COLUMN] = [None, whole_record, whole_record]
    checked = check_rows(pa.table({name: pa.array(column, pa.string()) for name, column in values.items()}), model.inputs)

    assert list(checked.reasons) == [EMPTY_ROW, REQUOTED, f"{config.ID_COLUMN}: not a number"]


# ---------------------------------------------------------------- safe outputs


def written(outputs: OutputFiles, target, text: str) -> None:
    file = outputs.open(target, CsvEncoder(rejects_schema("line")))
    file.write(text.encode())


def test_outputs_replace_their_targets_only_on_commit_and_touch_nothing_else(tmp_path):
    out, rejects = tmp_path / "scored.csv", tmp_path / "sub" / "scored_rejects.csv"
    out.write_text("the user's previous output\n")
    bystanders = {tmp_path / "scored.csv.partial": "mine", tmp_path / ".tiktok-claims-x": "mine too"}
    for path, content in bystanders.items():
        path.write_text(content)

    with pytest.raises(RuntimeError), OutputFiles(out, rejects) as outputs:
        written(outputs, out, "1,,,half\n")
        raise RuntimeError("the accounting failed")
    assert out.read_text() == "the user's previous output\n"
    assert not rejects.exists()

    with OutputFiles(out, rejects) as outputs:
        written(outputs, out, "1,,,scored\n")
        written(outputs, rejects, "2,,,rejected\n")
        outputs.commit()
    assert out.read_text() == "line,#,video_id,reason\n1,,,scored\n"
    assert rejects.read_text() == "line,#,video_id,reason\n2,,,rejected\n"
    assert {path: path.read_text() for path in bystanders} == bystanders
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["scored.csv", "sub", *(p.name for p in bystanders)])
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["scored_rejects.csv"]


def score(model, out, *options: str):
    """``tiktok-claims score`` of 30 synthetic rows into ``out``."""
    data = out.parent / "backlog.csv"
    data.parent.mkdir(parents=True, exist_ok=True)
    make_synthetic(30, seed=5).to_csv(data, index=False)
    return CliRunner().invoke(app, ["score", str(data), "--model", str(model), "--out", str(out), "--quiet", *options])


def test_the_derived_rejects_name_never_replaces_a_file_the_user_did_not_name(claim_model, tmp_path):
    model, out, mine = claim_model.written["model.json"], tmp_path / "sc" / "out.csv", tmp_path / "sc" / "out_rejects.csv"
    mine.parent.mkdir()
    mine.write_text("my own notes\n")

    result = score(model, out)

    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert f"Error: {mine}: exists, and is not a rejects file of tiktok-claims" in result.stderr
    assert "--rejects PATH" in result.stderr
    assert mine.read_text() == "my own notes\n" and not out.exists()

    named = score(model, out, "--rejects", str(mine))  # named: replaced, as --out is
    assert named.exit_code == 0, named.output
    assert mine.read_text().startswith("line,#,video_id,reason\n")


def test_the_derived_rejects_file_of_an_earlier_scoring_run_is_replaced(claim_model, tmp_path):
    out = tmp_path / "out.csv"
    for _ in range(2):
        result = score(claim_model.written["model.json"], out)
        assert result.exit_code == 0, result.output
    assert default_rejects(out) == tmp_path / "out_rejects.csv"
    (tmp_path / "out_rejects.csv").unlink()
    (tmp_path / "out_rejects.csv").symlink_to(out)
    with pytest.raises(DataError, match="not a rejects file"):
        default_rejects(out)


def killed_while_scoring(out) -> Path:
    """The private folder a scoring run into ``out`` left when it was killed outright (no cleanup ran)."""
    before = set(out.parent.iterdir())
    killed = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from pathlib import Path
            from tiktok_claims.scoring.writing import OutputFiles
            with OutputFiles(Path({str(out)!r})) as outputs:
                (outputs.scratch / "runs.bin").write_bytes(bytes(1 << 20))
                print("working", flush=True)
                sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert killed.stdout.readline().strip() == "working"
    finally:
        killed.kill()
        killed.communicate()
    (left,) = set(out.parent.iterdir()) - before
    return left


def test_the_next_run_removes_the_private_folders_of_killed_runs_and_nothing_else(claim_model, tmp_path):
    out = tmp_path / "out.csv"
    bystanders = [tmp_path / ".tiktok-claims-mine", tmp_path / ".tiktok-claims-empty-marker"]
    for folder in bystanders:
        folder.mkdir()
    (bystanders[0] / "notes.txt").write_text("mine")
    (bystanders[1] / OWNER).write_text("")  # no owner's word: a run just starting, or not ours

    with OutputFiles(tmp_path / "other.csv") as running:  # a live run's folder: its lock is held
        left = killed_while_scoring(out)
        result = score(claim_model.written["model.json"], out)
        assert result.exit_code == 0, result.output
        assert f"Note: removed 1 temporary folder(s) that killed scoring runs left in {tmp_path} ({left.name})." in result.output
        assert not left.exists()
        assert all(folder.exists() for folder in bystanders) and (bystanders[0] / "notes.txt").read_text() == "mine"
        assert running.scratch.is_dir()
        assert "Note:" not in score(claim_model.written["model.json"], out).output


def test_the_shared_encoder_writes_numbers_as_numbers_and_neutralizes_text():
    encoder = CsvEncoder(rejects_schema("row"))
    table = pa.table(
        [pa.array([3, 5]), pa.array(["=1", "7"]), pa.array([None, "-x"]), pa.array(["a, b", "c"])],
        schema=encoder.schema,
    )
    assert encoder.encode(table).to_pybytes() == b"3,\"'=1\",,\"a, b\"\n5,\"7\",\"'-x\",\"c\"\n"
