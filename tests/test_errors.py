"""Domain errors (``errors.py``): what they are, and that the command line turns every one
of them into ``Error: ...`` on stderr with exit code 1, never a traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import tiktok_claims.data.checking
from tiktok_claims import errors
from tiktok_claims.cli import app

DOMAIN_ERRORS = sorted(errors.TiktokClaimsError.__subclasses__(), key=lambda kind: kind.__name__)


def test_the_domain_errors_and_their_builtin_kinds():
    assert {kind.__name__ for kind in DOMAIN_ERRORS} == {"AnalysisError", "DataError", "ModelFileError", "OptionsError", "OutputError"}
    assert issubclass(errors.DataError, ValueError)
    assert issubclass(errors.ModelFileError, ValueError)
    assert issubclass(errors.OptionsError, ValueError)
    assert issubclass(errors.AnalysisError, RuntimeError)
    assert issubclass(errors.OutputError, OSError)
    assert issubclass(errors.TiktokClaimsError, Exception) and not issubclass(errors.TiktokClaimsError, ValueError)


def test_an_options_error_names_its_option_and_is_caught_as_a_value_error():
    with pytest.raises(ValueError) as caught:
        raise errors.OptionsError("balance must be one of ...; got 'x'.", "balance")

    assert caught.value.option == "balance" and str(caught.value) == "balance must be one of ...; got 'x'."
    assert errors.OptionsError("no option named").option is None


@pytest.mark.parametrize("kind", DOMAIN_ERRORS, ids=lambda kind: kind.__name__)
def test_the_command_line_prints_any_domain_error_and_exits_1(kind, monkeypatch, tmp_path):
    def fail(path):
        raise kind(f"{path}: what went wrong, and what to do")

    monkeypatch.setattr(tiktok_claims.data.checking, "check_file", fail)  # what validate reads the file with
    path = tmp_path / "claims.csv"

    result = CliRunner().invoke(app, ["validate", "--data", str(path)])

    assert result.exit_code == 1
    assert result.stderr == f"Error: {path}: what went wrong, and what to do\n"
    assert result.stdout == "" and "Traceback" not in result.output
