"""The ``tiktok-claims validate`` command and the help of every command, run in-process."""

from __future__ import annotations

import json

import pytest
import typer.main
from typer.testing import CliRunner

import tiktok_claims
from tiktok_claims import config
from tiktok_claims.analysis import options as options_module
from tiktok_claims.cli import app
from tiktok_claims.data.synthetic import write_synthetic

COMMANDS = typer.main.get_command(app).commands


def invoke(*args: str):
    """Run the CLI in-process; fail if an exception escaped (a user would see a traceback)."""
    result = CliRunner().invoke(app, list(args))
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not escaped, f"uncaught {result.exception!r}; output: {result.output}"
    assert "Traceback" not in result.output
    return result


def assert_refused(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ")
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in result.stderr


# ---------------------------------------------------------------- accepted files


def test_valid_file_prints_the_accounting_and_exits_0(claims, tmp_path):
    result = invoke("validate", "--data", str(claims.write(tmp_path, claims.csv())))

    assert result.exit_code == 0, result.output
    assert f"OK: {claims.n_rows} rows read = {claims.n_rows} used + 0 set aside." in result.stdout
    assert result.stderr == ""


def test_set_aside_rows_are_reported_with_their_reason(claims, tmp_path):
    cells = {(3, config.VIEWS): "#N/A", (5, config.VIEWS): ""}
    result = invoke("validate", "--data", str(claims.write(tmp_path, claims.csv(cells=cells))))

    assert result.exit_code == 0, result.output
    assert f"set aside: missing {config.VIEWS}" in result.stdout
    assert f"OK: {claims.n_rows} rows read = {claims.n_rows - 2} used + 2 set aside." in result.stdout
    assert "note: read 1 cell(s) holding '#N/A' as missing values" in result.stdout


def test_real_data_validates_with_its_accounting(real_data_path):
    result = invoke("validate", "--data", str(real_data_path))

    assert result.exit_code == 0, result.output
    assert "OK: 19,382 rows read = 19,084 used + 298 set aside." in result.stdout
    assert config.CLAIM in result.stdout


# ---------------------------------------------------------------- refused files


@pytest.mark.parametrize(
    ("content_of", "fragments"),
    [
        pytest.param(
            lambda claims: claims.csv(cells={(4, config.VIEWS): "abc"}), (f"'{config.VIEWS}'", "line 4", "expected"),
            id="non-numeric",
        ),
        pytest.param(
            lambda claims: claims.csv(cells={(4, config.LIKES): "-3"}), (f"'{config.LIKES}'", "line 4", "negative"),
            id="negative-count",
        ),
        pytest.param(
            lambda claims: claims.csv(cells={(4, config.SHARES): "3.5"}), (f"'{config.SHARES}'", "line 4", "whole"),
            id="fractional-count",
        ),
        pytest.param(
            lambda claims: claims.csv(cells={(4, config.DURATION): "0"}), (f"'{config.DURATION}'", "line 4", "positive"),
            id="zero-duration",
        ),
        pytest.param(
            lambda claims: claims.csv(cells={(4, config.VERIFIED): "Verified"}),
            (f"'{config.VERIFIED}'", "line 4", "'not verified', 'verified'"),
            id="unknown-category",
        ),
        pytest.param(
            lambda claims: claims.csv().replace(f",{config.COMMENTS}", ",comments", 1),
            (f"missing column(s) '{config.COMMENTS}'", "expected the columns"),
            id="missing-column",
        ),
        pytest.param(
            lambda claims: claims.csv(n_rows=12, cells={(line, config.DOWNLOADS): "-1" for line in range(2, 14)}),
            (f"'{config.DOWNLOADS}'", "line 2", "line 6", f"and {12 - config.MAX_REPORTED_LINES} more"),
            id="many-bad-rows",
        ),
        pytest.param(lambda claims: b"", ("empty",), id="empty-file"),
        pytest.param(lambda claims: claims.header + "\n", ("no data rows",), id="header-only"),
        pytest.param(lambda claims: claims.png_bytes, ("not a CSV",), id="png-bytes"),
        pytest.param(
            lambda claims: json.dumps([{"#": 1, "claim_status": "claim"}], indent=2) + "\n",
            ("JSON", "expected a comma-separated file"),
            id="json",
        ),
        pytest.param(lambda claims: claims.cut_last_line(claims.csv(), keep=12), ("truncated", "line 6"), id="truncated"),
        pytest.param(lambda claims: claims.csv(lines={4: claims.requoted(3)}), ("line 4", "whole record"), id="requoted-record"),
    ],
)
def test_bad_file_is_refused_with_exit_1_and_a_clear_error(tmp_path, claims, content_of, fragments):
    path = claims.write(tmp_path, content_of(claims))

    result = invoke("validate", "--data", str(path))

    assert_refused(result, path.name, *fragments)


def test_missing_file_is_refused(tmp_path):
    path = tmp_path / "no-such-file.csv"

    assert_refused(invoke("validate", "--data", str(path)), path.name, "no such file")


def test_missing_data_option_is_a_usage_error():
    result = invoke("validate")

    assert result.exit_code == 2
    assert "--data" in result.output


def test_infinite_count_is_refused_without_traceback(claims, tmp_path):
    path = claims.write(tmp_path, claims.csv(cells={(4, config.VIEWS): "inf"}))

    assert_refused(invoke("validate", "--data", str(path)), path.name, f"'{config.VIEWS}'", "line 4")


def test_csv_gz_that_is_not_gzip_is_refused_without_traceback(claims, tmp_path):
    path = claims.write(tmp_path, claims.csv(), "claims.csv.gz")

    assert_refused(invoke("validate", "--data", str(path)), path.name)


# ---------------------------------------------------------------- help


def test_top_level_help_lists_every_command():
    result = invoke("--help")

    assert result.exit_code == 0
    assert "validate" in COMMANDS
    for name in COMMANDS:
        assert name in result.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_help_exits_0_and_shows_its_help_text(name):
    help_text = (COMMANDS[name].help or "").strip()
    assert help_text, f"command {name!r} has no help text"

    result = invoke(name, "--help")

    assert result.exit_code == 0
    assert " ".join(help_text.split()) in " ".join(result.stdout.split())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_has_help_text(name):
    undocumented = [p.name for p in COMMANDS[name].params if not (getattr(p, "help", None) or "").strip()]

    assert undocumented == []


@pytest.mark.parametrize("command", ["validate", "check"])
def test_paths_with_console_markup_are_printed_as_written(tmp_path, command):
    folder = tmp_path / "we[" / "]ird" / "[bold red]x["  # the path reads .../we[/]ird/[bold red]x[/].csv
    folder.mkdir(parents=True)
    data = write_synthetic(folder / "].csv", rows=400, seed=2)
    result = CliRunner().invoke(app, [command, "--data", str(data)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0, result.output
    def squeezed(text: str) -> str:  # tables wrap a long title over lines
        return "".join(text.split())

    assert squeezed(str(data)) in squeezed(result.output)  # shown as written, not read as markup


# ---------------------------------------------------------------- conventions: DATA, --json, -h, --version, choices

# The options with a fixed set of values, and the values the library accepts.
CHOICES = {
    "balance": config.BALANCE_OPTIONS,
    "threshold_rule": config.THRESHOLD_RULES,
    "transform": config.TRANSFORMS,
    "engine": options_module.ENGINES,
}


def test_validate_takes_the_data_file_as_DATA_like_with_the_data_option(claims, tmp_path):
    path = str(claims.write(tmp_path, claims.csv(cells={(3, config.VIEWS): ""})))

    positional, option = invoke("validate", path), invoke("validate", "--data", path)

    assert positional.exit_code == 0, positional.output
    assert positional.stdout == option.stdout
    assert f"OK: {claims.n_rows} rows read = {claims.n_rows - 1} used + 1 set aside." in positional.stdout


@pytest.mark.parametrize("command", ["validate", "run", "check", "score"])
def test_data_given_both_as_DATA_and_with_data_is_a_usage_error_naming_both(command, tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    extra = ["--model", str(tmp_path / "model.json"), "--out", str(tmp_path / "s.csv")] if command == "score" else []

    result = invoke(command, str(first), "--data", str(second), *extra)

    assert result.exit_code == 2, result.output
    assert "DATA" in result.stderr and "--data" in result.stderr
    assert str(first) in result.stderr and str(second) in result.stderr
    assert not (tmp_path / "s.csv").exists()


def test_validate_and_score_without_data_are_usage_errors(tmp_path):
    score = invoke("score", "--model", str(tmp_path / "model.json"), "--out", str(tmp_path / "s.csv"))

    for result in (invoke("validate"), score):
        assert result.exit_code == 2, result.output
        assert "missing the data file: give it as DATA or with --data" in result.stderr


def test_validate_json_is_the_accounting_and_notes_and_nothing_else(claims, tmp_path):
    cells = {(3, config.VIEWS): "#N/A", (5, config.VIEWS): ""}
    path = claims.write(tmp_path, claims.csv(cells=cells))

    result = invoke("validate", str(path), "--json")

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    document = json.loads(result.stdout)
    assert document["source"] == str(path)
    assert (document["rows_read"], document["rows_used"], document["rows_set_aside"]) == (claims.n_rows, claims.n_rows - 2, 2)
    assert document["set_aside_by_reason"] == {f"missing {config.VIEWS}": 2}
    assert "read 1 cell(s) holding '#N/A' as missing values" in document["notes"]
    assert len(document["sha256"]) == 64


def test_validate_json_of_a_bad_file_is_an_error_on_stderr_with_exit_1(claims, tmp_path):
    path = claims.write(tmp_path, claims.csv(cells={(4, config.VIEWS): "abc"}))

    assert_refused(invoke("validate", "--json", str(path)), path.name, "line 4")


def test_version_prints_the_package_version_and_exits_0():
    for flag in ("--version", "-V"):
        result = invoke(flag)

        assert result.exit_code == 0, result.output
        assert result.stdout == f"tiktok-claims {tiktok_claims.__version__}\n"


@pytest.mark.parametrize("name", [None, *sorted(COMMANDS)])
def test_h_is_help_on_the_app_and_every_command(name):
    command = [name] if name else []

    short, long = invoke(*command, "-h"), invoke(*command, "--help")

    assert short.exit_code == long.exit_code == 0
    assert short.stdout == long.stdout
    assert "-h, --help" in short.stdout


def test_the_fixed_value_options_accept_what_the_library_accepts():
    choices = {
        param.name: tuple(param.type_descriptor.choices)
        for command in COMMANDS.values()
        for param in command.params
        if param.type_descriptor.is_choice
    }

    assert choices == CHOICES


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_help_lists_the_choices_of_its_options(name):
    squeezed = "".join(invoke(name, "--help").stdout.split())
    listed = [param for param in COMMANDS[name].params if param.name in CHOICES]

    assert [p.name for p in listed] == [p.name for p in COMMANDS[name].params if p.type_descriptor.is_choice]
    for param in listed:
        assert f"{param.opts[0]}<{'|'.join(CHOICES[param.name])}>" in squeezed
    assert "--balance<str>" not in squeezed and "--engine<str>" not in squeezed and "--transform<str>" not in squeezed


@pytest.mark.parametrize(
    ("args", "option", "message"),
    [
        (["run", "--balance", "oversample"], "--balance", "balance must be one of 'class-weights', 'upsample', 'smote', 'none'; got 'oversample'."),
        (["run", "--threshold-rule", "auc"], "--threshold-rule", "threshold rule must be one of 'f1', 'recall', 'cost'; got 'auc'."),
        (["run", "--transform", "sqrt"], "--transform", "transform must be one of 'none', 'log1p'; got 'sqrt'."),
        (["check", "--transform", "sqrt"], "--transform", "transform must be one of 'none', 'log1p'; got 'sqrt'."),
        (["run", "--engine", "dask"], "--engine", "engine must be one of 'local', 'spark'; got 'dask'."),
        (["score", "x.csv", "--model", "m.json", "--out", "s.csv", "--engine", "dask"], "--engine", "engine must be one of 'local', 'spark'; got 'dask'."),
    ],
)
def test_a_value_outside_the_choices_is_a_usage_error_in_the_librarys_words(args, option, message):
    result = invoke(*args)

    assert result.exit_code == 2, result.output
    assert option in result.stderr and message in result.stderr
