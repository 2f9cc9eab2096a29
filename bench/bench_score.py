"""Time ``tiktok-claims score`` on 1M and 10M synthetic backlog rows, from CSV and from Parquet.

Steps, all under ``bench/_work/`` (git-ignored; deleted at the end):

1. train a model with ``tiktok-claims run --out WORK/model --quiet`` (the built-in
   synthetic data);
2. write each backlog with the package's generator
   (:func:`tiktok_claims.data.synthetic.write_synthetic`, seed 7), as ``.csv`` and
   ``.parquet``;
3. run ``tiktok-claims score --model ... --data FILE --out ... --quiet`` on each file as a
   child process, ``--repeats`` times, reaped with ``os.wait4``: wall time spawn-to-reap,
   CPU = user + sys of the child, peak RSS = the child's ``ru_maxrss``; and once more
   with ``--sort`` on the largest Parquet file (no target);
4. check each run's accounting independently: the data lines of the scored and rejects
   CSV files add up to the rows generated, and the command's summary says the same.

Targets (this 2-core machine, 10M rows): Parquet under 10 s, CSV under 20 s, peak memory
under 1 GiB for both. Results are printed and written to the section
"## score: backlog scoring (synthetic)" of ``bench/results.md``; other sections are kept.

Usage: .venv/bin/python bench/bench_score.py [--rows 1000000 10000000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tiktok_claims.data.synthetic import write_synthetic

from bench_run import (
    RESULTS_FILE,
    REPO_ROOT,
    VENV_BIN,
    WORK_DIR,
    Measurement,
    code_version,
    cpu_model,
    measure,
    package_versions,
    replace_section,
)

SECTION_HEADER = "## score: backlog scoring (synthetic)"
DEFAULT_ROWS = (1_000_000, 10_000_000)
FORMATS = (".csv", ".parquet")
SEED = 7
TARGET_ROWS = 10_000_000
TARGET_SECONDS = {".parquet": 10.0, ".csv": 20.0}
TARGET_RSS_MIB = 1024
ACCOUNTING = re.compile(r"([\d,]+) rows read = ([\d,]+) scored \+ ([\d,]+) rejected")


@dataclass
class Case:
    """One file scored ``repeats`` times (and whether the outputs accounted for every row)."""

    rows: int
    suffix: str
    sort: bool
    size_bytes: int
    measurements: list[Measurement] = field(default_factory=list)
    accounting: str = ""
    accounted: bool = True

    @property
    def label(self) -> str:
        return ("Parquet" if self.suffix == ".parquet" else "CSV") + (" --sort" if self.sort else "")

    @property
    def ok(self) -> list[Measurement]:
        return [m for m in self.measurements if m.exit_code == 0]

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(m, attribute) for m in self.ok)

    def peak_rss_mib(self) -> float:
        return max(m.maxrss_kib for m in self.ok) / 1024

    def targets(self) -> list[tuple[str, bool]]:
        """(target, met) pairs; only the 10M-row runs without --sort have targets."""
        if self.rows != TARGET_ROWS or self.sort or not self.ok:
            return []
        seconds = TARGET_SECONDS[self.suffix]
        return [
            (f"< {seconds:g} s", self.median("wall_s") < seconds),
            (f"< {TARGET_RSS_MIB} MiB", self.peak_rss_mib() < TARGET_RSS_MIB),
        ]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS), help="Backlog sizes (default 1M and 10M).")
    parser.add_argument("--repeats", type=int, default=1, help="Timed runs of each file (default 1).")
    args = parser.parse_args(argv)
    if args.repeats < 1 or min(args.rows) < 1:
        parser.error("--repeats and --rows must be at least 1.")
    return args


def data_lines(path: Path) -> int:
    """Lines after the header, counted without parsing (an independent check of the accounting)."""
    lines = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            lines += block.count(b"\n")
    return lines - 1


def score_case(case: Case, data: Path, model: Path, work: Path, repeats: int, env: dict[str, str]) -> None:
    out = work / "scored.csv"
    argv = [str(VENV_BIN / "tiktok-claims"), "score", "--model", str(model), "--data", str(data), "--out", str(out), "--quiet"]
    argv += ["--sort"] if case.sort else []
    for repeat in range(repeats):
        result = measure(argv, env, work)
        case.measurements.append(result)
        status = "ok" if result.exit_code == 0 else f"FAILED (exit {result.exit_code})"
        print(
            f"  {case.rows:>12,} {case.label:<15} {result.wall_s:7.2f} s  cpu {result.cpu_s:6.2f} s  "
            f"{result.maxrss_kib / 1024:7.1f} MiB  {status}",
            flush=True,
        )
        if result.exit_code != 0:
            print("\n".join("    | " + line for line in result.stderr_tail.splitlines()), file=sys.stderr)
            continue
        summary = (work / "stdout.txt").read_text()
        found = ACCOUNTING.search(summary)
        read, scored, rejected = (int(group.replace(",", "")) for group in found.groups()) if found else (-1, -1, -1)
        lines = data_lines(out) + data_lines(work / "scored_rejects.csv")
        case.accounting = f"{read:,} = {scored:,} + {rejected:,}"
        case.accounted &= read == case.rows == scored + rejected == lines
        out.unlink()
        (work / "scored_rejects.csv").unlink()


def results_table(cases: list[Case]) -> list[str]:
    rows = [
        "| rows | input | file size (MB) | median wall (s) | median CPU (s) | rows/s | peak RSS (MiB) | "
        "rows read = scored + rejected | target | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        if not case.ok:
            rows.append(
                f"| {case.rows:,} | {case.label} | {case.size_bytes / 1e6:,.0f} | — | — | — | — | — | | FAILED |"
            )
            continue
        wall = case.median("wall_s")
        targets = case.targets()
        verdicts = [verdict(met) for _, met in targets]
        if not case.accounted:
            verdicts.append("FAIL (accounting)")
        rows.append(
            f"| {case.rows:,} | {case.label} | {case.size_bytes / 1e6:,.0f} | {wall:.2f} | {case.median('cpu_s'):.2f} | "
            f"{case.rows / wall:,.0f} | {case.peak_rss_mib():.0f} | {case.accounting} | "
            f"{', '.join(t for t, _ in targets)} | {', '.join(verdicts)} |"
        )
    return rows


def verdict(passed: bool) -> str:
    return "pass" if passed else "FAIL"


def render_section(cases: list[Case], args: argparse.Namespace, loads: tuple[float, float, float], train: Measurement) -> str:
    command_line = shlex.join([".venv/bin/python", "bench/bench_score.py", *sys.argv[1:]])
    cpus = len(os.sched_getaffinity(0))
    lines = [
        SECTION_HEADER,
        "",
        f"- date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {cpus} CPUs (nproc), {cpu_model()}, {platform.system()} {platform.release()}",
        f"- python: {platform.python_version()} ({sys.executable}); {package_versions()}",
        f"- command: `{command_line}` (from the repo root)",
        f"- code: {code_version()}",
        f"- data: `tiktok_claims.data.synthetic.write_synthetic(path, rows, seed={SEED})` as .csv and .parquet "
        "(about 1.5% of the rows lack their counts and claim status, as in the real data, so they are rejected)",
        f"- model: `tiktok-claims run --out WORK/model --quiet` on the built-in synthetic data ({train.wall_s:.1f} s)",
        f"- protocol: `tiktok-claims score --model WORK/model/model.json --data FILE --out WORK/scored.csv --quiet` "
        f"(default --chunk-rows), {args.repeats} timed run(s) per file; wall time spawn-to-reap; CPU = user + sys "
        "of the child; peak RSS = `ru_maxrss` from `os.wait4` of that child; the data lines of both outputs "
        "are counted to check the accounting independently",
        f"- 1-minute load average before / highest during / after: {loads[0]:.2f} / {loads[1]:.2f} / {loads[2]:.2f} "
        "(the child itself keeps up to three threads busy: the main thread reading and writing, two workers)",
        "",
    ]
    if loads[1] > cpus + 1:
        lines += [
            f"**Warning:** the load average exceeded the {cpus} CPUs plus one: "
            "other processes competed for the CPUs, so wall times include waiting (CPU time is the steadier "
            "figure). Rerun on a quiet machine for the verdicts.",
            "",
        ]
    lines += [
        f"Targets (10,000,000 rows): Parquet < {TARGET_SECONDS['.parquet']:g} s, CSV < {TARGET_SECONDS['.csv']:g} s, "
        f"peak RSS < {TARGET_RSS_MIB} MiB for both. `--sort` is measured for information.",
        "",
        *results_table(cases),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    cli = VENV_BIN / "tiktok-claims"
    if not cli.exists():
        print(f"Error: {cli} not found; build the environment first with `make setup`.", file=sys.stderr)
        return 2
    env = dict(os.environ)
    WORK_DIR.mkdir(exist_ok=True)
    cases: list[Case] = []
    with tempfile.TemporaryDirectory(prefix="score-", dir=WORK_DIR) as tmp:
        work = Path(tmp)
        print("Training the model (tiktok-claims run on the built-in synthetic data)", flush=True)
        train = measure([str(cli), "run", "--out", str(work / "model"), "--quiet"], env, work)
        if train.exit_code != 0:
            print("Error: 'tiktok-claims run' failed:\n" + train.stderr_tail, file=sys.stderr)
            return 1
        model = work / "model" / "model.json"
        loads = [os.getloadavg()[0]] * 3
        for rows in sorted(args.rows):
            for suffix in FORMATS:
                data = work / f"backlog-{rows}{suffix}"
                started = time.perf_counter()
                write_synthetic(data, rows=rows, seed=SEED)
                print(f"Wrote {rows:,} rows to {data.name} ({data.stat().st_size / 1e6:,.0f} MB) "
                      f"in {time.perf_counter() - started:.1f} s", flush=True)
                variants = (False, True) if suffix == ".parquet" and rows == max(args.rows) else (False,)
                for sort in variants:
                    case = Case(rows, suffix, sort, data.stat().st_size)
                    score_case(case, data, model, work, args.repeats, env)
                    loads[1] = max(loads[1], os.getloadavg()[0])
                    cases.append(case)
                data.unlink()
        loads[2] = os.getloadavg()[0]

    section = render_section(cases, args, tuple(loads), train)
    existing = RESULTS_FILE.read_text() if RESULTS_FILE.exists() else ""
    RESULTS_FILE.write_text(replace_section(existing, section, SECTION_HEADER))
    print()
    print(section)
    print(f"Written to {RESULTS_FILE.relative_to(REPO_ROOT)}")
    failed = any(not case.ok or not case.accounted for case in cases)
    missed = [f"{case.rows:,} {case.label}: {target}" for case in cases for target, met in case.targets() if not met]
    print("Targets: " + ("all pass" if not missed else "FAIL: " + "; ".join(missed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
