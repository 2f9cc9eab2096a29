"""The ``tiktok-claims`` command line: parse arguments, call the library, print.

This is the only module that prints to the console or sets exit codes. Domain errors
become ``Error: ...`` on stderr with exit code 1; usage errors exit with code 2.
Heavy libraries are imported inside the commands so that ``--help`` stays fast.

Conventions: ``-h``/``--help`` and ``--version``/``-V``; the data file as the positional
DATA or ``--data``; options with a fixed set of values list them in their help; ``--json``
prints machine-readable output on stdout (everything else goes to stderr); ``-`` means
standard input or output where streaming makes sense (``score --data -``, ``score --out -``)
and is refused as a usage error elsewhere.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import signal
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import config
from ._version import __version__
from .errors import TiktokClaimsError
from .stdio import STDIN_NAME, STDOUT_NAME, copy_file, is_standard, json_text, private_folder, renamed, stdin_copy

app = typer.Typer(
    name="tiktok-claims",
    help=(
        "Validated, honest logistic regression of TikTok video characteristics "
        "(which videos come from verified accounts), with reports."
    ),
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# The options with a fixed set of values, as the library accepts them: the help lists them
# (from the Literal) and anything else is a usage error, in the library's words (_one_of).
ENGINES = config.ENGINES
Balance, ThresholdRuleName, Transform, Engine = config.Balance, config.ThresholdRuleName, config.Transform, config.Engine
OUTCOMES = tuple(c for c in config.COLUMNS if c not in (config.ID_COLUMN, config.VIDEO_ID, config.TRANSCRIPT))


def _one_of(name: str, choices: tuple[str, ...]):
    """The parser of an option with a fixed set of values: a value outside them is refused naming them all."""

    def parse(value: str) -> str:
        if value not in choices:
            raise typer.BadParameter(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")
        return value

    return parse


def _data_argument(help_text: str):
    return typer.Argument(metavar="DATA", show_default=False, help=f"{help_text} Or give it with --data.")


DataOption = Annotated[Optional[Path], typer.Option("--data", help="The data file, the same as DATA (give one of the two).")]
TargetHelp = f"Outcome column: {', '.join(OUTCOMES)}. Default: {config.DEFAULT_TARGET}, or the --formula's outcome."
TargetOption = Annotated[Optional[str], typer.Option("--target", show_default=False, help=TargetHelp)]
FormulaOption = Annotated[Optional[str], typer.Option("--formula", help="Model formula, e.g. 'verified_status ~ claim_status * "
    "author_ban_status + np.log1p(video_view_count)': columns, C(category), np.log1p(column), np.log(column), I(column ** 2), "
    "joined by +, : and *. Default: every predictor.")]
TransformOption = Annotated[
    Transform,
    typer.Option(
        "--transform",
        parser=_one_of("transform", config.TRANSFORMS),
        help="none, or log1p: enter the engagement counts as log(1 + count) (the linearity remedy).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout (NaN as null), nothing else.")]
SparkTmpOption = Annotated[
    Optional[str],
    typer.Option(
        "--spark-tmp",
        help="With --engine spark: directory or URL (hdfs://, s3a://) for Spark's temporary files; on a cluster, "
        "storage every executor reaches. Default: the driver's local disk (for score, the --out directory).",
    ),
]
NOTEBOOK_HELP = ("Also write notebook.ipynb (the course notebook executed against this run's data and options, every output and "
                 "chart inline) and notebook.html. Its kernel re-runs the analysis: about twice the run's time. Needs pip install 'tiktok-claims[notebook]'.")
SeedOption = Annotated[int, typer.Option("--seed", min=0, help="Random seed for the split, resampling and synthetic data.")]


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"tiktok-claims {__version__}")
        raise typer.Exit()


@app.callback()
def _tiktok_claims(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", is_eager=True, callback=_show_version, help="Print the version and exit."),
    ] = False,
) -> None:
    from .parallel import fewer_collections  # before a command imports the scientific stack

    fewer_collections()


def _data_file(ctx: typer.Context, positional: Path | None, option: Path | None, *, required: bool) -> Path | None:
    """The data file given as DATA or with ``--data``: both is a usage error, and so is neither when ``required``."""
    if positional is not None and option is not None:
        ctx.fail(f"the data file is given twice, as DATA ({positional}) and with --data ({option}); give it once.")
    if positional is None and option is None and required:
        ctx.fail("missing the data file: give it as DATA or with --data.")
    return positional if positional is not None else option


def _refuse_stdio(path: Path | str | None, option: str, why: str) -> None:
    """A usage error for ``-`` (standard input or output) where a command cannot stream."""
    if is_standard(path):
        raise typer.BadParameter(f"'-' {why} (For a file or folder named '-', write its full path.)", param_hint=option)


def _refuse_stdin_data(data: Path | None, command: str) -> None:
    _refuse_stdio(data, "DATA / --data", f"(standard input) is read by 'score' only; '{command}' needs the data file's name.")


def _options(threshold_rule: tuple | None = None, **values):
    """The analysis options (``None``: the default); a value outside its allowed range is a usage error naming its option."""
    from .analysis import with_options
    from .errors import OptionsError
    from .evaluation.metrics import ThresholdRule

    try:
        if threshold_rule is not None:
            values["threshold_rule"] = ThresholdRule(*threshold_rule)
        return with_options(None, **values)
    except OptionsError as exc:
        raise typer.BadParameter(str(exc), param_hint=f"--{(exc.option or '').replace('_', '-')}") from None


def _fail(message: str) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=1)


@app.command()
def validate(
    ctx: typer.Context,
    data_file: Annotated[Optional[Path], _data_argument("CSV, .csv.gz or Parquet file to check.")] = None,
    data: DataOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a claims file against the schema and print the row accounting (in bounded memory)."""
    data = _data_file(ctx, data_file, data, required=True)
    _refuse_stdin_data(data, "validate")
    from .data.checking import check_file

    try:
        checked = check_file(data)
    except TiktokClaimsError as exc:
        _fail(str(exc))
    if as_json:
        _print_json(_accounting_record(checked))
    else:
        _print_accounting(checked)


@app.command()
def run(
    ctx: typer.Context,
    data_file: Annotated[
        Optional[Path], _data_argument("CSV, .csv.gz or Parquet file. Default: the built-in synthetic data.")
    ] = None,
    data: DataOption = None,
    target: TargetOption = None,
    formula: FormulaOption = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for the report, metrics and model.")] = Path("out"),
    seed: SeedOption = config.DEFAULT_SEED,
    balance: Annotated[
        Balance,
        typer.Option(
            "--balance",
            parser=_one_of("balance", config.BALANCE_OPTIONS),
            help="Class imbalance handling: class-weights, upsample, smote (resampling the training part only) or none.",
        ),
    ] = config.DEFAULT_BALANCE,
    threshold_rule: Annotated[
        ThresholdRuleName,
        typer.Option(
            "--threshold-rule",
            parser=_one_of("threshold rule", config.THRESHOLD_RULES),
            help="How the decision threshold is chosen on training scores: f1, recall or cost.",
        ),
    ] = config.DEFAULT_THRESHOLD_RULE,
    target_recall: Annotated[
        float, typer.Option("--target-recall", min=0.01, max=1.0, help="Recall to reach with --threshold-rule recall.")
    ] = config.DEFAULT_TARGET_RECALL,
    cost_fn: Annotated[float, typer.Option("--cost-fn", min=0.0, help="Cost of a missed positive (--threshold-rule cost).")] = 1.0,
    cost_fp: Annotated[float, typer.Option("--cost-fp", min=0.0, help="Cost of a false alarm (--threshold-rule cost).")] = 1.0,
    cv_folds: Annotated[int, typer.Option("--cv-folds", min=2, max=20, help="Cross-validation folds.")] = config.CV_FOLDS,
    cv_repeats: Annotated[int, typer.Option("--cv-repeats", min=1, max=20, help="Cross-validation repeats.")] = config.CV_REPEATS,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=100, max=100_000, help="Bootstrap resamples for test-metric CIs.")
    ] = config.BOOTSTRAP_RESAMPLES,
    calibrate: Annotated[
        bool, typer.Option("--calibrate", help="Recalibrate scores (Platt scaling on out-of-fold training scores).")
    ] = False,
    transform: TransformOption = "none",
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            parser=_one_of("engine", ENGINES),
            help="local, or spark: also fit and evaluate on Apache Spark (pip install .[spark]).",
        ),
    ] = "local",
    spark_master: Annotated[
        str, typer.Option("--spark-master", help="Spark master URL for --engine spark (local[*], spark://HOST:7077, yarn).")
    ] = "local[*]",
    spark_tmp: SparkTmpOption = None,
    workers: Annotated[
        Optional[int], typer.Option("--workers", min=1, max=64, help="Processes for independent stages. Default: one per available core, at most 4.")
    ] = None,
    notebook: Annotated[bool, typer.Option("--notebook", help=NOTEBOOK_HELP)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress output.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Also print the wall time of each stage (as in metrics.json's timings).")
    ] = False,
) -> None:
    """Run the whole analysis and write report.html, report.md, metrics.json and the model.

    A binary --target (verified_status, claim_status) gets the logistic regression with
    cross-validation, threshold, leakage audit and summaries; author_ban_status an
    ordinal logit; a count column a Poisson or negative binomial model; the duration OLS.
    --formula fits the logistic regression a formula names (its outcome the target).
    """
    data = _data_file(ctx, data_file, data, required=False)
    _refuse_stdin_data(data, "run")
    _refuse_stdio(out, "--out", "(standard output) cannot take a run: it writes a folder of files; name a directory.")
    from .reporting.pdf import missing_pdf_note
    from .reporting.printer import printer_process

    try:
        # First the printer, which loads matplotlib and WeasyPrint while this process imports the analysis and reads the data.
        with printer_process(workers) as printer:
            from .analysis import analyze
            from .outputs import run_folder, write_into

            options = _options(
                target=target, seed=seed, balance=balance,
                threshold_rule=(threshold_rule, target_recall, cost_fn, cost_fp), cv_folds=cv_folds,
                cv_repeats=cv_repeats, bootstrap=bootstrap, workers=workers, calibrate=calibrate, transform=transform,
                engine=engine, spark_master=spark_master, spark_tmp=spark_tmp,
                command=shlex.join(["tiktok-claims", *sys.argv[1:]]), formula=formula,
            )
            progress = None if quiet else _progress_printer()
            notes: list[str] = []
            # The folder is checked and locked before the work, written elsewhere, and moved into place whole.
            with run_folder(out) as folder:
                analysis = analyze(data, options, progress=progress, on_explored=printer and printer.explored, on_evaluated=printer and printer.evaluated)
                metrics = analysis.metrics()
                written = write_into(folder, analysis, metrics, progress=progress, notebook=notebook, notes=notes, printer=printer)
    except TiktokClaimsError as exc:  # also an unknown TIKTOK_CLAIMS_START_METHOD, met as the printer starts
        _fail(str(exc))
    for note in filter(None, [missing_pdf_note(written, out), *(f"Note: {text}." for text in notes)]):
        typer.echo(note, err=True)
    if not quiet:
        if analysis.dataset.synthetic:
            typer.echo("Note: these data are SYNTHETIC (built-in generator), not the real dataset.", err=True)
        typer.echo(f"Report: {out / 'report.html'}", err=True)
    if verbose:
        for stage, seconds in metrics["timings"].items():
            typer.echo(f"{seconds:8.2f} s  {stage}", err=True)
    typer.echo(str(out))


@app.command()
def check(
    ctx: typer.Context,
    data_file: Annotated[
        Optional[Path], _data_argument("CSV, .csv.gz or Parquet file. Default: the built-in synthetic data.")
    ] = None,
    data: DataOption = None,
    target: TargetOption = None,
    formula: FormulaOption = None,
    seed: SeedOption = config.DEFAULT_SEED,
    transform: TransformOption = "none",
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress output.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Check the model's assumptions and print the checklist with verdicts."""
    data = _data_file(ctx, data_file, data, required=False)
    _refuse_stdin_data(data, "check")
    from .analysis import check_assumptions

    options = _options(target=target, seed=seed, transform=transform, formula=formula)
    try:
        dataset, approach, spec, checks = check_assumptions(data, options, progress=None if quiet else _progress_printer())
    except TiktokClaimsError as exc:
        _fail(str(exc))
    if as_json:
        _print_json(
            {
                "source": dataset.source, "synthetic": dataset.synthetic, "target": options.target,
                "family": approach.label, **({"formula": formula} if formula else {}), "reason": approach.reason,
                "left_out": dict(spec.dropped), "checks": checks,
            }
        )
    else:
        _print_checklist(f"Assumption checks: {approach.label} of {options.target} ({dataset.source})", approach, spec, checks)
    if dataset.synthetic:
        typer.echo("Note: these data are SYNTHETIC (built-in generator), not the real dataset.", err=True)


def _print_checklist(title: str, approach, spec, checks: list[dict]) -> None:
    from rich.table import Table

    table = Table(title=title)
    for column in ("check", "statistic", "p", "verdict", "consequence"):
        table.add_column(column)
    for record in checks:
        statistic, p_value = record["statistic"], record["p_value"]
        table.add_row(
            record["name"],
            "–" if statistic is None else f"{statistic:.4g}",
            "–" if p_value is None else f"{p_value:.3g}",
            record["verdict"].upper(),
            record["consequence"],
        )
    console = _console()
    console.print(f"{approach.label}: {approach.reason}", highlight=False)
    for name, why in spec.dropped.items():
        console.print(f"left out {name}: {why}", highlight=False)
    console.print(table)


@app.command()
def report(
    from_dir: Annotated[Path, typer.Option("--from", help="Output directory of a previous 'run'.")],
) -> None:
    """Re-render every report and summary from a previous run's saved results (no refit)."""
    _refuse_stdio(from_dir, "--from", "(standard input) cannot hold a run: --from names the folder a 'run' wrote.")
    from .reporting.pdf import missing_pdf_note
    from .reporting.render import rerender

    try:
        written = rerender(from_dir)
    except TiktokClaimsError as exc:
        _fail(str(exc))
    if note := missing_pdf_note(written, from_dir):
        typer.echo(note, err=True)
    for name in written:
        typer.echo(str(from_dir / name))


@app.command()
def sample(
    out: Annotated[Path, typer.Option("--out", help="File to write (.csv, .csv.gz or .parquet).")],
    rows: Annotated[int, typer.Option("--rows", min=1, help="Number of rows.")] = config.SYNTHETIC_DEFAULT_ROWS,
    seed: SeedOption = config.DEFAULT_SEED,
) -> None:
    """Write a synthetic dataset with the real data's schema and structure."""
    _refuse_stdio(out, "--out", "(standard output) cannot be used: the file's name sets its format; name the file.")
    from .data.synthetic import write_synthetic

    try:
        write_synthetic(out, rows=rows, seed=seed)
    except (TiktokClaimsError, OSError) as exc:
        _fail(str(exc))
    typer.echo(f"Wrote {rows:,} synthetic rows to {out}", err=True)


@app.command()
def score(
    ctx: typer.Context,
    model: Annotated[Path, typer.Option("--model", help="Model artifact (model.json) written by 'run'.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="CSV of scored rows: #, video_id, score (or probability, for a calibrated or unweighted model), label, "
            "priority. '-' writes them to standard output once every row is accounted for (then --rejects is required).",
        ),
    ],
    data_file: Annotated[
        Optional[Path],
        _data_argument("CSV, .csv.gz or Parquet file of videos to score; '-' reads it from standard input."),
    ] = None,
    data: DataOption = None,
    rejects: Annotated[
        Optional[Path],
        typer.Option("--rejects", help="CSV of rejected rows with their reasons. Default: next to --out; required with --out -."),
    ] = None,
    sort: Annotated[bool, typer.Option("--sort", help="Write scored rows by priority (highest first).")] = False,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1_000, help="Rows per chunk: bounds memory (about 650 MB at the default).")
    ] = 500_000,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    engine: Annotated[
        Engine,
        typer.Option("--engine", parser=_one_of("engine", ENGINES), help="local, or spark: score on Apache Spark (pip install .[spark])."),
    ] = "local",
    spark_master: Annotated[
        str, typer.Option("--spark-master", help="Spark master URL for --engine spark (local[*], spark://HOST:7077, yarn).")
    ] = "local[*]",
    spark_tmp: SparkTmpOption = None,
) -> None:
    """Score a backlog file in chunks; every row is either scored or rejected with its reason.

    With '-' as DATA the file is read from standard input (CSV, gzip-compressed CSV or
    Parquet), kept in a private temporary file while it is scored; with --out - the scored
    rows are printed on standard output and the accounting on stderr.
    """
    data = _data_file(ctx, data_file, data, required=True)
    _refuse_stdio(model, "--model", "(standard input) cannot hold the model; name its model.json file.")
    _refuse_stdio(
        rejects, "--rejects", "(standard output) is for the scored rows only (--out -); name a file for the rejected rows."
    )
    if spark_tmp is not None and engine != "spark":
        raise typer.BadParameter("applies only with --engine spark.", param_hint="--spark-tmp")
    if engine == "spark":
        spark_needs = "works with --engine local only: Spark reads and writes files by their names."
        _refuse_stdio(data, "DATA / --data", f"(standard input) {spark_needs}")
        _refuse_stdio(out, "--out", f"(standard output) {spark_needs}")
    to_stdout = is_standard(out)
    if to_stdout and rejects is None:
        ctx.fail(
            "--rejects is required with --out -: the scored rows go to standard output, so name a file for the rejected rows."
        )
    shown: dict[str, str] = {}  # the private files standing for standard input and output, and the names shown for them
    with ExitStack() as private:
        try:
            if is_standard(data):
                from .artifact.store import load_model

                load_model(model)  # a model it would refuse is refused before standard input is read, not after
                data = private.enter_context(stdin_copy(typer.get_binary_stream("stdin")))
                shown[str(data)] = STDIN_NAME
            if to_stdout:
                out = private.enter_context(private_folder("stdout")) / "scored.csv"
                shown[str(out)] = STDOUT_NAME
            if engine == "spark":
                from .scoring.spark import score_file_spark

                accounting = score_file_spark(
                    model, data, out, rejects=rejects, sort=sort, master=spark_master, scratch=spark_tmp
                )
            else:
                from .scoring.local import score_file

                with _progress_bar(quiet) as progress:
                    accounting = score_file(
                        model, data, out, rejects=rejects, sort=sort, chunk_rows=chunk_rows, progress=progress
                    )
        except TiktokClaimsError as exc:
            _fail(renamed(str(exc), shown))
        if to_stdout:
            try:
                copy_file(out, typer.get_binary_stream("stdout"))
            except BrokenPipeError:  # the reader stopped early (e.g. '| head'): nothing left to say
                pass
    accounting = dataclasses.replace(
        accounting, source=shown.get(accounting.source, accounting.source), out=Path(shown.get(str(accounting.out), accounting.out))
    )
    typer.echo(accounting.summary(), err=to_stdout)  # on stderr when stdout carries the scored rows


# ---------------------------------------------------------------- console


@contextmanager
def _progress_bar(quiet: bool):
    """A rich progress bar on stderr (stage, share done, rows, rows/s); ``None`` when quiet."""
    if quiet:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description:<8}"), BarColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[rows]:>12,} rows"), TextColumn("{task.fields[rate]:>11,.0f} rows/s"),
        TimeElapsedColumn(), console=Console(stderr=True),
    )
    tasks: dict[str, tuple[int, float]] = {}

    def update(stage: str, fraction: float, rows: int) -> None:
        if not tasks:  # started on first use, so an early error prints nothing but itself
            bar.start()
        if stage not in tasks:
            tasks[stage] = (bar.add_task(stage, total=1.0, rows=0, rate=0.0), time.perf_counter())
        task, started = tasks[stage]
        elapsed = time.perf_counter() - started
        bar.update(task, completed=fraction, rows=rows, rate=rows / elapsed if elapsed > 0 else 0.0)

    try:
        yield update
    finally:
        if tasks:
            bar.stop()


def _console(stderr: bool = False):
    """A rich console that prints text literally: paths and column names come from the user, so
    ``[bold]`` or ``[/]`` in them is shown as written, never read as markup."""
    from rich.console import Console

    return Console(stderr=stderr, markup=False, highlight=False)


def _progress_printer():
    from rich.text import Text

    console = _console(stderr=True)

    def report(stage: str) -> None:
        console.print(Text.assemble(("›", "bold cyan"), " ", stage))

    return report


def _print_json(document) -> None:
    """``document`` as JSON on stdout (NaN as null), and nothing else."""
    typer.echo(json_text(document))


def _accounting_record(dataset) -> dict:
    """What ``validate`` prints, as data: where the rows came from and where each went."""
    return {
        "source": dataset.source,
        "sha256": dataset.sha256,
        "rows_read": dataset.rows_read,
        "rows_used": dataset.rows_used,
        "rows_set_aside": sum(dataset.rows_set_aside.values()),
        "set_aside_by_reason": dataset.rows_set_aside,
        "notes": list(dataset.notes),
    }


def _print_accounting(dataset) -> None:
    from rich.table import Table

    table = Table(title=f"Row accounting: {dataset.source}")
    table.add_column("item")
    table.add_column("rows", justify="right")
    for item, rows in dataset.accounting().itertuples(index=False):
        table.add_row(item, f"{rows:,}")
    console = _console()
    console.print(table)
    for note in dataset.notes:
        console.print(f"note: {note}", highlight=False)
    console.print(
        f"OK: {dataset.rows_read:,} rows read = {dataset.rows_used:,} used + "
        f"{sum(dataset.rows_set_aside.values()):,} set aside.",
        highlight=False,
    )


def _terminate(signum, frame) -> None:
    """SIGTERM ends the command like Ctrl-C does: cleanup runs (no half-written output is left)."""
    raise SystemExit(128 + signum)


def main() -> None:
    """Entry point of the ``tiktok-claims`` script.

    Once the command has finished (files closed, output printed), the process exits
    without the interpreter's teardown of some 3,000 imported modules, which takes most
    of a second and does nothing a finished command needs. Not when Spark ran: its
    gateway stops the JVM from an exit handler.
    """
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app(prog_name="tiktok-claims")
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    if "pyspark" in sys.modules:
        sys.exit(code)
    if not isinstance(code, int):
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (e.g. '| head'): nothing left to say
            pass
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
