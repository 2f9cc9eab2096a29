"""Peak memory and time of ``tiktok-claims validate`` on a 2M-row synthetic CSV (streamed, bounded memory).

Steps, under ``bench/_work/`` (git-ignored; deleted at the end): write ``--rows`` synthetic
rows with the package's generator (:func:`tiktok_claims.data.synthetic.write_synthetic`,
seed 7) as ``.csv``, add blank lines to a copy (every 1,000th line; they are not rows),
then run ``tiktok-claims validate FILE`` on each as a child process, reaped with
``os.wait4`` (peak RSS = the child's ``ru_maxrss``). The command's own accounting line
must say ``rows read`` = the rows generated.

Target (issue 14): peak RSS ≤ 600 MiB at 2M rows. Results are printed and written to the
section "## validate: bounded memory (synthetic)" of ``bench/results.md``.

Usage: .venv/bin/python bench/bench_validate.py [--rows 2000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import tempfile
from pathlib import Path

from tiktok_claims.data.synthetic import write_synthetic

from bench_run import RESULTS_FILE, REPO_ROOT, VENV_BIN, WORK_DIR, code_version, cpu_model, measure, replace_section

SECTION_HEADER = "## validate: bounded memory (synthetic)"
TARGET_RSS_MIB = 600
ACCOUNTING = re.compile(r"OK: ([\d,]+) rows read")


def with_blank_lines(source: Path, target: Path, every: int = 1000) -> int:
    blank = 0
    with source.open("rb") as read, target.open("wb") as write:
        for number, line in enumerate(read, start=1):
            write.write(line)
            if number % every == 0:
                write.write(b"\n")
                blank += 1
    return blank


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="validate-", dir=WORK_DIR))
    try:
        plain = scratch / "backlog.csv"
        write_synthetic(plain, args.rows, seed=7)
        blank_file = scratch / "backlog-blank-lines.csv"
        blank = with_blank_lines(plain, blank_file)
        rows = []
        env = {**os.environ, "COLUMNS": "200"}
        for label, path in (("CSV", plain), (f"CSV + {blank:,} blank lines", blank_file)):
            result = measure([str(VENV_BIN / "tiktok-claims"), "validate", "--data", str(path)], env, scratch)
            output = (scratch / "stdout.txt").read_text()
            found = ACCOUNTING.search(output)
            read = int(found.group(1).replace(",", "")) if found else -1
            peak = result.maxrss_kib / 1024
            ok = result.exit_code == 0 and read == args.rows and peak <= TARGET_RSS_MIB
            rows.append((label, path.stat().st_size / 1e6, result.wall_s, peak, read, ok))
            print(f"{label:32s} {result.wall_s:6.1f} s {peak:7.0f} MiB rows read {read:,} {'ok' if ok else 'FAIL'}")
        loads = os.getloadavg()
        lines = [
            SECTION_HEADER,
            "",
            f"Measured {dt.date.today()} with `.venv/bin/python bench/bench_validate.py --rows {args.rows}` "
            f"({code_version()}; {cpu_model()}, {os.cpu_count()} cores; load average at the end "
            f"{loads[0]:.2f} / {loads[1]:.2f} / {loads[2]:.2f}). `validate` streams the file one CSV block at a time "
            "(`data/checking.py`); blank lines are not rows. Target: peak RSS ≤ "
            f"{TARGET_RSS_MIB} MiB at 2M rows, and rows read = rows generated.",
            "",
            "| file | size (MB) | wall (s) | peak RSS (MiB) | rows read | target met |",
            "|---|---:|---:|---:|---:|---|",
        ]
        lines += [f"| {label} | {size:,.0f} | {wall:.1f} | {peak:.0f} | {read:,} | {'yes' if ok else 'NO'} |" for label, size, wall, peak, read, ok in rows]
        existing = RESULTS_FILE.read_text() if RESULTS_FILE.exists() else ""
        RESULTS_FILE.write_text(replace_section(existing, "\n".join(lines) + "\n", SECTION_HEADER))
        print(f"Written to {RESULTS_FILE.relative_to(REPO_ROOT)}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
