"""Time and peak memory of the in-process fit against rows, on synthetic Parquet data.

For each size (``--rows``, default 1M, 3M and 10M) the generator writes a Parquet file
under bench/_work/ (deleted afterwards), then one child process:

1. reads the model's columns into pandas, drops incomplete rows and makes the categories
   Python strings, as the loader gives them; splits (stratified, seeded) and selects the
   features on the training part, as ``run`` does;
2. resets its peak resident set (``/proc/self/clear_refs``), so that the peak measured
   is the fit's, with the data already in memory;
3. fits as ``run`` fits (:func:`tiktok_claims.model.logistic.fit_models`, class weights):
   the separation check and the classifier on the training part, the separation check
   and the inference model (statsmodels results, standard errors) on every row, on one
   shared design; and prints its own timings as JSON.

The child is reaped with ``os.wait4``: its ``ru_maxrss`` is the peak resident set since
the reset (the fit, the data it reads included). The fit's seconds are timed inside the
child around that one call; the child's wall time (spawn to reap) adds start-up, reading,
the split and the feature selection. Targets (issue 15): the fit on 10M rows within 25 s
and 2 GiB, on 1M rows within 3 s.

Results go to the section "## fit: in-process fit against rows (synthetic)" of
bench/results.md (with the load average: other jobs may share the machine); other
sections are left as they are.

Usage: .venv/bin/python bench/bench_fit.py [--rows 1000000 3000000 10000000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench_run import (
    REPO_ROOT,
    RESULTS_FILE,
    VENV_BIN,
    WORK_DIR,
    Measurement,
    measure,
    replace_section,
    synthetic_provenance,
)

from tiktok_claims.data.synthetic import write_synthetic

SECTION_HEADER = "## fit: in-process fit against rows (synthetic)"
SEED = 11
TARGETS = {1_000_000: (3.0, None), 10_000_000: (25.0, 2048.0)}  # rows: (seconds, peak MiB or None)
FIT = """
import json, os, resource, sys, time
import pyarrow as pa
import pyarrow.parquet as pq
from tiktok_claims import config
from tiktok_claims.model.features import select_features
from tiktok_claims.model.logistic import fit_models
from tiktok_claims.model.split import encode_target, split


def resident_mib():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


started = time.perf_counter()
target, positive = config.DEFAULT_TARGET, config.POSITIVE_CLASS[config.DEFAULT_TARGET]
frame = pq.read_table(sys.argv[1], columns=[*config.CONTINUOUS_COLUMNS, *config.CATEGORIES]).to_pandas().dropna()
frame = frame.astype({column: object for column in config.CATEGORIES})
pa.default_memory_pool().release_unused()
parts = split(frame, target, config.DEFAULT_SEED)
spec = select_features(frame.iloc[parts.train_positions], target)
y = encode_target(frame[target], positive)
prepared = time.perf_counter() - started
data = resident_mib()
try:
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    reset = True
except OSError:
    reset = False
fitting, cpu = time.perf_counter(), time.process_time()
classifier, inference = fit_models(frame, y, parts.train_positions, spec, "class-weights", config.DEFAULT_SEED)
fit, cpu = time.perf_counter() - fitting, time.process_time() - cpu
print(json.dumps({
    "rows": len(frame), "train_rows": len(parts.train_positions), "prepare_s": prepared, "fit_s": fit, "fit_cpu_s": cpu,
    "data_mib": data, "peak_reset": reset, "columns": len(inference.result.params),
    "iterations": [classifier.iterations, inference.iterations],
    "separation": [classifier.separation.kind, inference.separation.kind],
}))
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000])
    args = parser.parse_args(argv)
    if min(args.rows) < 1_000:
        parser.error(f"--rows must be at least 1,000; got {min(args.rows)}.")
    return args


def python_and_env() -> tuple[str, dict[str, str]]:
    """The environment's Python, importing this checkout's package (``src`` first on the path)."""
    python = VENV_BIN / "python"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "src"))
    return str(python) if python.exists() else sys.executable, env


def verdict(rows: int, fit_s: float, peak_mib: float, own_mib: float) -> str:
    """Each target for this size, met or not, in words."""
    if rows not in TARGETS:
        return "–"
    seconds, mib = TARGETS[rows]
    words = [f"time {'yes' if fit_s <= seconds else 'NO'} (≤ {seconds:g} s)"]
    if mib is not None:
        words.append(
            f"peak {'yes' if peak_mib <= mib else 'NO'} (≤ {mib:,.0f} MiB; the fit's own "
            f"{'yes' if own_mib <= mib else 'NO'})"
        )
    return "; ".join(words)


def per_row_costs(results: list[tuple[int, Measurement, dict]]) -> str:
    """Fixed and per-row cost of the fit from the smallest and largest sizes measured."""
    done = [(rows, report) for rows, run, report in results if run.exit_code == 0]
    if len(done) < 2:
        return ""
    (small, first), (large, last) = done[0], done[-1]
    slope = (last["fit_s"] - first["fit_s"]) / (large - small)
    fixed = first["fit_s"] - slope * small
    memory = (last["fit_mib"] - first["fit_mib"]) / (large - small)
    return (
        f"From {small:,} to {large:,} rows the fit costs about {slope * 1e6:.2f} µs per row "
        f"({slope * 1e6:.1f} s per million rows) on top of about {max(fixed, 0):.1f} s that does not grow with "
        f"the rows (the separation check's linear programs on a 20,000-row subsample, twice), and its own memory "
        f"(peak less the data) grows by about {memory * 1e6:,.0f} MiB per million rows (the float64 design is "
        f"{last['columns'] * 8e6 / 2**20:,.0f} MiB of it)."
    )


def render(args, results, loads: list[float], sizes: dict[int, int]) -> str:
    cpus = len(os.sched_getaffinity(0))
    shares = [report["train_rows"] / report["rows"] for _, run, report in results if run.exit_code == 0]
    train_share = f"{shares[0]:.0%} of the rows" if shares else "the split's share of the rows"
    lines = [
        SECTION_HEADER,
        "",
        *synthetic_provenance(
            "bench/bench_fit.py", SEED, sizes, "the child reads the model's columns and drops the incomplete rows (about 1.5%)",
        ),
        "- fit = `model.logistic.fit_models(frame, y, split.train_positions, spec, \"class-weights\", seed)`, "
        "as `run` fits: one float64 design; separation check (linear programs on at most 20,000 rows, verified on "
        f"all) and class-weighted classifier on the training part ({train_share}); separation check and inference model "
        "(statsmodels `LogitResults`, standard errors) on every row; Newton's method on sufficient statistics "
        "(`model/irls.py`)",
        "- protocol: one child process per size, reaped with `os.wait4`; *fit* = seconds inside the child around "
        "that call (*fit CPU*: its CPU seconds, what the fit costs without waiting for a CPU); *peak* = the child's `ru_maxrss` after it reset its peak (`/proc/self/clear_refs`) just before "
        "the fit, so it is the fit's peak with the data in memory; *data* = the resident set before the fit (the "
        "frame, split and outcome); *child wall* adds start-up, reading, the split and the feature selection",
        f"- 1-minute load average before / highest after a child / after: {loads[0]:.2f} / {loads[1]:.2f} / "
        f"{loads[2]:.2f}",
        "",
    ]
    if loads[1] > cpus + 1:
        lines += [
            f"**Warning:** the load average exceeded the {cpus} CPUs plus one: other processes competed for the "
            "CPUs, so the times include waiting. Rerun on a quiet machine for firm numbers.",
            "",
        ]
    lines += [
        "| rows | fit (s) | fit CPU (s) | s per million rows | peak during the fit (MiB) | data before the fit (MiB) | "
        "fit's own (MiB) | child wall (s) | Newton steps (classifier, inference) | target met |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for rows, run, report in results:
        if run.exit_code != 0:
            lines.append(f"| {rows:,} | failed (exit code {run.exit_code}) | | | | | | {run.wall_s:.1f} | | NO |")
            continue
        peak = run.maxrss_kib / 1024
        lines.append(
            f"| {report['rows']:,} | {report['fit_s']:.1f} | {report['fit_cpu_s']:.1f} | "
            f"{report['fit_s'] / report['rows'] * 1e6:.2f} | "
            f"{peak:,.0f} | {report['data_mib']:,.0f} | {report['fit_mib']:,.0f} | {run.wall_s:.1f} | "
            f"{report['iterations'][0]}, {report['iterations'][1]} | {verdict(rows, report['fit_s'], peak, report['fit_mib'])} |"
        )
    lines += [
        "",
        per_row_costs(results),
        "",
        "Before (the fit by scikit-learn's pipeline and statsmodels' `Logit`, section \"spark\" above, measured "
        "2026-12-02 over the whole child with every column read): 14.8 s / 907 MB at 1M rows and 106.7 s / "
        "5,787 MB at 10M.",
        "",
    ]
    failures = [(rows, run) for rows, run, _ in results if run.exit_code != 0]
    for rows, run in failures:
        lines += [f"- {rows:,} rows failed:", "", "```", run.stderr_tail, "```", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    python, env = python_and_env()
    WORK_DIR.mkdir(exist_ok=True)
    loads = [os.getloadavg()[0]] * 3
    results: list[tuple[int, Measurement, dict]] = []
    sizes: dict[int, int] = {}
    with tempfile.TemporaryDirectory(prefix="fit-", dir=WORK_DIR) as tmp:
        work = Path(tmp)
        for rows in sorted(args.rows):
            data = work / f"rows-{rows}.parquet"
            started = time.perf_counter()
            write_synthetic(data, rows=rows, seed=SEED)
            sizes[rows] = data.stat().st_size
            print(f"Wrote {rows:,} rows ({sizes[rows] / 1e6:,.0f} MB) in {time.perf_counter() - started:.1f} s", flush=True)
            run = measure([python, "-c", FIT, str(data)], env, work)
            loads[1] = max(loads[1], os.getloadavg()[0])
            report: dict = {}
            if run.exit_code == 0:
                report = json.loads((work / "stdout.txt").read_text().strip().splitlines()[-1])
                report["fit_mib"] = run.maxrss_kib / 1024 - report["data_mib"]
                print(
                    f"{rows:,} rows: fit {report['fit_s']:.1f} s (CPU {report['fit_cpu_s']:.1f} s), peak {run.maxrss_kib / 1024:,.0f} MiB "
                    f"(data {report['data_mib']:,.0f} MiB), child {run.wall_s:.1f} s, load {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
            else:
                print(f"{rows:,} rows: FAILED (exit code {run.exit_code})\n{run.stderr_tail}", file=sys.stderr)
            results.append((rows, run, report))
            data.unlink()
    loads[2] = os.getloadavg()[0]
    section = render(args, results, loads, sizes)
    existing = RESULTS_FILE.read_text() if RESULTS_FILE.exists() else ""
    RESULTS_FILE.write_text(replace_section(existing, section, SECTION_HEADER))
    print(section)
    return 0 if all(run.exit_code == 0 for _, run, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
