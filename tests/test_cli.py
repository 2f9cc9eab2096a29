"""The ``tiktok-claims validate`` command and the help of every command, run in-process."""

from __future__ import annotations

import json

import pytest
import typer.main
from typer.testing import CliRunner

from tiktok_claims import config
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
