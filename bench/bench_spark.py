"""Fit and score in-process vs on Spark local mode, on synthetic Parquet backlogs.

For each size (``--rows``, default 1M and 10M) the generator writes a Parquet file under
bench/_work/ (deleted afterwards); then four child processes run, each reaped with
``os.wait4`` (wall time spawn-to-reap, peak RSS = the child's ``ru_maxrss``; for Spark
this is the Python driver only plus the JVM it waits for, since the JVM is its child):

* fit, in-process: ``tiktok_claims.modeling.fit`` on all rows (class weights);
* fit, Spark: ``tiktok_claims.spark_engine.fit_spark`` (local[*]);
* score, in-process: ``tiktok-claims score``;
* score, Spark: ``tiktok-claims score --engine spark``.

The model scored with is trained once by ``tiktok-claims run`` on the built-in synthetic
data. Results go to the section "## spark: in-process vs Spark local mode (synthetic)"
of bench/results.md; other sections are left as they are.

Usage: .venv/bin/python bench/bench_spark.py [--rows 1000000 10000000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench_run import REPO_ROOT, VENV_BIN, WORK_DIR, Measurement, measure

from tiktok_claims.data.synthetic import write_synthetic

SECTION_HEADER = "## spark: in-process vs Spark local mode (synthetic)"
RESULTS_FILE = REPO_ROOT / "bench" / "results.md"
SEED = 11
FIT = """
import sys
import pyarrow.parquet as pq
from tiktok_claims import config
from tiktok_claims.modeling import encode_target
from tiktok_claims.features import select_features
from tiktok_claims.modeling import fit
from tiktok_claims.spark_engine import fit_spark
frame = pq.read_table(sys.argv[2]).to_pandas().dropna()
frame = frame.astype({c: object for c in config.CATEGORIES})
target, positive = config.DEFAULT_TARGET, config.POSITIVE_CLASS[config.DEFAULT_TARGET]
spec = select_features(frame, target)
if sys.argv[1] == "local":
    fit(frame, encode_target(frame[target], positive), spec, "class-weights", config.DEFAULT_SEED)
else:
    fit_spark(frame, frame.index, target, positive, spec, master="local[*]")
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    return parser.parse_args(argv)


def cell(m: Measurement) -> str:
    if m.exit_code != 0:
        return "failed"
    return f"{m.wall_s:,.1f} s / {m.maxrss_kib / 1024:,.0f} MB"


def replace_section(existing: str, section: str) -> str:
    """Put ``section`` in place of the old one (its header up to the next ``## ``), or append it."""
    lines = existing.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == SECTION_HEADER)
    except StopIteration:
        return existing.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    parts = ["\n".join(lines[:start]).rstrip("\n"), section.rstrip("\n"), "\n".join(lines[end:]).rstrip("\n")]
    return "\n\n".join(part for part in parts if part) + "\n"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    cli, python = VENV_BIN / "tiktok-claims", VENV_BIN / "python"
    env = dict(os.environ, MPLBACKEND="Agg")
    WORK_DIR.mkdir(exist_ok=True)
    rows_out = []
    with tempfile.TemporaryDirectory(prefix="spark-", dir=WORK_DIR) as tmp:
        work = Path(tmp)
        train = measure([str(cli), "run", "--out", str(work / "model"), "--quiet"], env, work)
        if train.exit_code != 0:
            print("Error: 'tiktok-claims run' failed:\n" + train.stderr_tail, file=sys.stderr)
            return 1
        model = work / "model" / "model.json"
        for rows in sorted(args.rows):
            data = work / f"backlog-{rows}.parquet"
            started = time.perf_counter()
            write_synthetic(data, rows=rows, seed=SEED)
            print(f"Wrote {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
            runs = {
                "fit_local": [str(python), "-c", FIT, "local", str(data)],
                "fit_spark": [str(python), "-c", FIT, "spark", str(data)],
                "score_local": [str(cli), "score", "--model", str(model), "--data", str(data),
                                "--out", str(work / "local.csv"), "--quiet"],
                "score_spark": [str(cli), "score", "--model", str(model), "--data", str(data),
                                "--out", str(work / "spark.csv"), "--engine", "spark", "--quiet"],
            }
            result = {}
            for name, argv_ in runs.items():
                result[name] = measure(argv_, env, work)
                print(f"{rows:,} {name}: {cell(result[name])}", flush=True)
                if result[name].exit_code != 0:
                    print(result[name].stderr_tail, file=sys.stderr)
            rows_out.append((rows, result))
            data.unlink()

    table = [
        "| rows | fit in-process | fit Spark | score in-process | score Spark |",
        "|---:|---:|---:|---:|---:|",
        *(
            f"| {rows:,} | {cell(r['fit_local'])} | {cell(r['fit_spark'])} | {cell(r['score_local'])} | {cell(r['score_spark'])} |"
            for rows, r in rows_out
        ),
    ]
    faster = [(rows, name) for rows, r in rows_out for name in ("fit", "score")
              if r[f"{name}_spark"].exit_code == 0 and r[f"{name}_spark"].wall_s < r[f"{name}_local"].wall_s]
    crossover = (
        "Crossover: Spark local mode is faster for " + ", ".join(f"{name} at {rows:,} rows" for rows, name in faster)
        if faster
        else f"Crossover: none up to {max(args.rows):,} rows; in-process is faster for fit and score at every size"
    )
    section = "\n".join(
        [
            SECTION_HEADER,
            "",
            f"Synthetic Parquet backlogs (seed {SEED}), {os.cpu_count()} cores; wall time / peak RSS of each child "
            "(`os.wait4`; the Spark rows include the JVM start-up, ~10 s). Fit = the class-weighted classifier and the "
            "inference model on all rows; score = `tiktok-claims score [--engine spark]` with a model from `run`.",
            "",
            *table,
            "",
            crossover + ".",
        ]
    )
    RESULTS_FILE.write_text(replace_section(RESULTS_FILE.read_text() if RESULTS_FILE.exists() else "# Benchmarks\n", section))
    print(section)
    return 0 if all(m.exit_code == 0 for _, r in rows_out for m in r.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
