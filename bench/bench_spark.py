"""Fit and score in-process vs on Spark local mode, on synthetic Parquet backlogs.

For each size (``--rows``, default 1M, 3M and 10M) the generator writes a Parquet file
under bench/_work/ (deleted afterwards); then five child processes run, one at a time:

* fit, in-process: ``tiktok_claims.model.logistic.fit_models`` (class weights), as
  ``run`` fits: on one shared design, the separation check (linear programs on at most
  20,000 rows, verified on all) and the classifier on the training part, the separation
  check and the inference model on every row;
* fit, in-process estimators: the same two estimators without the separation check
  (the scikit-learn pipeline and statsmodels ``Logit``): the work Spark's fit does;
* fit, Spark: ``tiktok_claims.spark_engine.fit_spark`` (local[*]);
* score, in-process: ``tiktok-claims score``;
* score, Spark: ``tiktok-claims score --engine spark``.

Each child has ``--time-limit`` seconds; one that runs out is stopped (its process
tree killed) and recorded as such, and that step is not run again at the larger sizes.

Wall time is spawn-to-reap. Peak memory is that of the child's whole process tree:
the largest sum of the resident sets (``VmRSS``) of the child and its descendants,
sampled every ``SAMPLE_SECONDS`` s from /proc, and never less than the child's own
``ru_maxrss`` (``os.wait4``). For Spark the tree holds the Python driver and the JVM
that runs local mode, which ``ru_maxrss`` alone would miss. The JVM's heap is
``--driver-memory`` (passed as ``PYSPARK_SUBMIT_ARGS``). A child that fails (e.g. the
in-process fit running out of memory or time) is a measured result: its cell says how
it ended, and the benchmark carries on.

The model scored with is trained once by ``tiktok-claims run`` on the built-in synthetic
data. Results go to the section "## spark: in-process vs Spark local mode (synthetic)"
of bench/results.md (with the load average, since other jobs may share the machine);
other sections are left as they are.

Usage: .venv/bin/python bench/bench_spark.py [--rows 1000000 3000000 10000000] [--driver-memory 4g]
       [--time-limit 900]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench_run import (
    REPO_ROOT,
    STDERR_TAIL_LINES,
    VENV_BIN,
    WORK_DIR,
    replace_section,
    synthetic_provenance,
)

from tiktok_claims.data.synthetic import write_synthetic

SECTION_HEADER = "## spark: in-process vs Spark local mode (synthetic)"
RESULTS_FILE = REPO_ROOT / "bench" / "results.md"
SEED = 11
SAMPLE_SECONDS = 0.2
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
FIT = """
import sys
import pyarrow.parquet as pq
from tiktok_claims import config
from tiktok_claims.model.split import encode_target, split
from tiktok_claims.model.features import select_features
from tiktok_claims.model.logistic import fit_models
frame = pq.read_table(sys.argv[2]).to_pandas().dropna()
frame = frame.astype({c: object for c in config.CATEGORIES})
target, positive = config.DEFAULT_TARGET, config.POSITIVE_CLASS[config.DEFAULT_TARGET]
spec = select_features(frame, target)
y = encode_target(frame[target], positive)
if sys.argv[1] == "local":
    parts = split(frame, target, config.DEFAULT_SEED)
    fit_models(frame, y, parts.train_positions, spec, "class-weights", config.DEFAULT_SEED)
elif sys.argv[1] == "estimators":
    import statsmodels.api as sm
    from tiktok_claims.model.logistic import build_pipeline
    pipeline = build_pipeline(spec, "class-weights", config.DEFAULT_SEED).fit(frame[spec.columns], y)
    preprocess = pipeline.named_steps["preprocess"]
    design = sm.add_constant(preprocess.transform(frame[spec.columns]), has_constant="add")
    sm.Logit(y.to_numpy(dtype=float), design).fit(method="newton", maxiter=100, disp=False)
else:
    from tiktok_claims.spark.fit import fit_spark
    fit_spark(frame, frame.index, target, positive, spec, master="local[*]")
"""
STEPS = {  # name: column heading
    "fit_local": "fit in-process (as `run`)",
    "fit_estimators": "fit in-process, estimators only",
    "fit_spark": "fit Spark",
    "score_local": "score in-process",
    "score_spark": "score Spark",
}


@dataclass
class Run:
    wall_s: float
    peak_rss_kib: int
    exit_code: int
    stderr_tail: str
    timed_out: bool = False
    skipped: str = ""  # why the step was not run at this size

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.skipped

    def ended(self) -> str:
        """How a failed child ended, in words."""
        if self.timed_out:
            return f"stopped: did not finish within the {self.wall_s:,.0f} s limit"
        if self.exit_code < 0:
            name = signal.Signals(-self.exit_code).name
            why = ", most likely by the kernel's out-of-memory killer" if self.exit_code == -signal.SIGKILL else ""
            return f"killed by {name}{why}"
        last = next((line for line in reversed(self.stderr_tail.splitlines()) if line.strip()), "")
        return f"exit code {self.exit_code}" + (f": {last.strip()}" if last else "")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000])
    parser.add_argument("--driver-memory", default="4g", help="Heap of Spark's JVM (local mode runs in it).")
    parser.add_argument("--time-limit", type=float, default=900.0, help="Seconds each child may run.")
    args = parser.parse_args(argv)
    if min(args.rows) < 1:
        parser.error(f"--rows must be positive; got {min(args.rows)}.")
    return args


def process_tree(root: int) -> dict[int, int]:
    """VmRSS (KiB) of ``root`` and of each of its descendants now, by pid (processes that vanish are skipped)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                stat = handle.read()
            with open(f"/proc/{entry.name}/statm") as handle:
                resident = int(handle.read().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        pid = int(entry.name)
        parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])  # the name in parentheses may hold spaces
        rss[pid] = resident * PAGE_KIB
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return {pid: rss[pid] for pid in tree if pid in rss}


def measure(argv: list[str], env: dict[str, str], scratch: Path, time_limit: float = float("inf")) -> Run:
    """Run one child to completion or its time limit; its wall time, the peak RSS of its process tree, how it ended."""
    stderr_path = scratch / "stderr.txt"
    peak, done, timed_out = [0], threading.Event(), threading.Event()

    def sample(pid: int) -> None:
        started = time.perf_counter()
        while not done.wait(SAMPLE_SECONDS):
            tree = process_tree(pid)
            peak[0] = max(peak[0], sum(tree.values()))
            if time.perf_counter() - started > time_limit:
                timed_out.set()
                for member in tree:  # the child and its descendants, all started by this benchmark
                    try:
                        os.kill(member, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                return

    with open(os.devnull, "wb") as stdout, open(stderr_path, "wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=stdout, stderr=stderr)
        sampler = threading.Thread(target=sample, args=(process.pid,), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
    exit_code = os.waitstatus_to_exitcode(status)
    process.returncode = exit_code  # reaped by wait4; tell Popen so it does not wait again
    tail = ""
    if exit_code != 0:
        tail = "\n".join(stderr_path.read_text(errors="replace").splitlines()[-STDERR_TAIL_LINES:])
    return Run(wall, max(peak[0], usage.ru_maxrss), exit_code, tail, timed_out=timed_out.is_set())


def cell(run: Run) -> str:
    if run.skipped:
        return f"not run ({run.skipped})"
    if run.timed_out:
        return f"not finished in {run.wall_s:,.0f} s (stopped; {run.peak_rss_kib / 1024:,.0f} MB by then)"
    if run.exit_code != 0:
        return f"failed after {run.wall_s:,.1f} s / {run.peak_rss_kib / 1024:,.0f} MB ({run.ended()})"
    return f"{run.wall_s:,.1f} s / {run.peak_rss_kib / 1024:,.0f} MB"


def ratio(spark: Run, local: Run) -> str:
    if not (spark.ok and local.ok):
        return "–"
    return f"{spark.wall_s / local.wall_s:.1f}×"


def crossover(rows_out: list[tuple[int, dict[str, Run]]]) -> str:
    """Where Spark local mode becomes faster than in-process, per step, from the measurements."""
    sentences = []
    for local_step, spark_step, what in (
        ("fit_local", "fit_spark", "the fit as `run` does it (with the separation check, which Spark's fit does "
         "not run)"),
        ("fit_estimators", "fit_spark", "the estimators alone"),
        ("score_local", "score_spark", "scoring"),
    ):
        measured = [(rows, r[local_step], r[spark_step]) for rows, r in rows_out]
        faster = [rows for rows, local, spark in measured if spark.ok and (not local.ok or spark.wall_s < local.wall_s)]
        largest = max(rows for rows, _, _ in measured)
        if faster:
            sentences.append(f"for {what}, Spark local mode is faster (or alone to finish) from {min(faster):,} rows")
        else:
            sentences.append(f"for {what}, none up to {largest:,} rows: in-process is faster at every size measured")
    return "Crossover on this machine: " + "; ".join(sentences) + "."


def render_section(args, rows_out, loads: tuple[float, float, float], train: Run, sizes: dict[int, int]) -> str:
    cpus = len(os.sched_getaffinity(0))
    lines = [
        SECTION_HEADER,
        "",
        *synthetic_provenance(
            "bench/bench_spark.py", SEED, sizes, "about 1.5% of the rows lack values: the fits drop them, the scorers reject them",
        ),
        f"- model scored with: `tiktok-claims run --out WORK/model --quiet` on the built-in synthetic data "
        f"({train.wall_s:.1f} s)",
        "- protocol: one run of each child, one at a time, each with a limit of "
        f"{args.time_limit:,.0f} s; wall time spawn-to-reap; peak RSS = the largest sum of "
        f"VmRSS over the child's process tree (sampled every {SAMPLE_SECONDS:g} s; at least its `ru_maxrss`), so the "
        f"Spark rows include the JVM; Spark local[*] with `--driver-memory {args.driver_memory}`, and its times "
        "include the JVM start-up (about 10 s)",
        "- fit (read from the Parquet file into pandas first, in each child): *as `run`* = "
        "`model.logistic.fit_models` (on one design: the separation check, linear programs on at most 20,000 rows "
        "verified on all, and the class-weighted classifier on the training part; the separation check and the "
        "unweighted inference model on every row); *estimators only* = the scikit-learn pipeline and statsmodels "
        "`Logit` fitted on all rows without the separation check, i.e. the work `fit_spark` does; score = "
        "`tiktok-claims score [--engine spark] --model WORK/model/model.json --data FILE --out WORK/scored.csv`",
        f"- 1-minute load average before / highest during / after: {loads[0]:.2f} / {loads[1]:.2f} / {loads[2]:.2f} "
        "(each child keeps one or two cores busy itself)",
        "",
    ]
    if loads[1] > cpus + 1:
        lines += [
            f"**Warning:** the load average exceeded the {cpus} CPUs plus one: other processes competed for the "
            "CPUs, so wall times include waiting. Rerun on a quiet machine for firm numbers.",
            "",
        ]
    lines += [
        "| rows | " + " | ".join(STEPS.values()) + " | Spark / in-process: fit (estimators), score |",
        "|---:|" + "---:|" * (len(STEPS) + 1),
        *(
            f"| {rows:,} | " + " | ".join(cell(r[step]) for step in STEPS)
            + f" | {ratio(r['fit_spark'], r['fit_estimators'])}, {ratio(r['score_spark'], r['score_local'])} |"
            for rows, r in rows_out
        ),
        "",
        crossover(rows_out),
        "",
    ]
    failures = [
        (rows, name, run) for rows, r in rows_out for name, run in r.items()
        if run.exit_code != 0 and not run.timed_out and not run.skipped
    ]
    if failures:
        lines += ["Failures (last stderr lines):", ""]
        for rows, name, run in failures:
            lines += [f"- {rows:,} {name}: {run.ended()}", "", "```", run.stderr_tail, "```", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    cli, python = VENV_BIN / "tiktok-claims", VENV_BIN / "python"
    env = dict(os.environ, MPLBACKEND="Agg")
    spark_env = dict(env, PYSPARK_SUBMIT_ARGS=f"--driver-memory {args.driver_memory} pyspark-shell")
    WORK_DIR.mkdir(exist_ok=True)
    rows_out: list[tuple[int, dict[str, Run]]] = []
    sizes: dict[int, int] = {}
    out_of_time: dict[str, str] = {}  # step: why it is not run at the larger sizes
    loads = [os.getloadavg()[0]] * 3
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
            sizes[rows] = data.stat().st_size
            seconds = time.perf_counter() - started
            print(f"Wrote {rows:,} rows ({sizes[rows] / 1e6:,.0f} MB) in {seconds:.1f} s", flush=True)
            score = [str(cli), "score", "--model", str(model), "--data", str(data), "--quiet"]
            runs = {
                "fit_local": ([str(python), "-c", FIT, "local", str(data)], env),
                "fit_estimators": ([str(python), "-c", FIT, "estimators", str(data)], env),
                "fit_spark": ([str(python), "-c", FIT, "spark", str(data)], spark_env),
                "score_local": ([*score, "--out", str(work / "local.csv")], env),
                "score_spark": ([*score, "--out", str(work / "spark.csv"), "--engine", "spark"], spark_env),
            }
            result = {}
            for name, (command, child_env) in runs.items():
                if name in out_of_time:
                    result[name] = Run(0.0, 0, 0, "", skipped=out_of_time[name])
                    print(f"{rows:,} {name}: {cell(result[name])}", flush=True)
                    continue
                result[name] = measure(command, child_env, work, args.time_limit)
                if result[name].timed_out:
                    out_of_time[name] = f"did not finish within {args.time_limit:,.0f} s at {rows:,} rows"
                loads[1] = max(loads[1], os.getloadavg()[0])
                print(f"{rows:,} {name}: {cell(result[name])}", flush=True)
                if result[name].exit_code != 0 and not result[name].timed_out:
                    print(result[name].stderr_tail, file=sys.stderr)
            rows_out.append((rows, result))
            data.unlink()
        loads[2] = os.getloadavg()[0]

    section = render_section(args, rows_out, tuple(loads), train, sizes)
    existing = RESULTS_FILE.read_text() if RESULTS_FILE.exists() else ""
    RESULTS_FILE.write_text(replace_section(existing, section, SECTION_HEADER))
    print(section)
    return 0 if all(m.ok or m.timed_out or m.skipped for _, r in rows_out for m in r.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
