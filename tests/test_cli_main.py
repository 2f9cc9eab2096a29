"""``python -m tiktok_claims`` (``__main__.py``): the command line where the script is not on PATH.

Run as a user would, in a subprocess that imports this checkout's package.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tiktok_claims
from tiktok_claims import cli
from tiktok_claims.__main__ import main

SOURCE = Path(tiktok_claims.__file__).resolve().parents[1]


def python_m(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SOURCE), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        [sys.executable, "-m", "tiktok_claims", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_python_m_runs_the_command_line():
    assert main is cli.main


def test_python_m_tiktok_claims_help_lists_every_command():
    result = python_m("--help")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: tiktok-claims [OPTIONS] COMMAND")
    for name in ("validate", "run", "check", "report", "sample", "score"):
        assert name in result.stdout
    assert result.stderr == ""


def test_python_m_tiktok_claims_version_and_a_usage_error():
    version, usage = python_m("--version"), python_m("validate")

    assert (version.returncode, version.stdout) == (0, f"tiktok-claims {tiktok_claims.__version__}\n")
    assert usage.returncode == 2
    assert "missing the data file" in usage.stderr and usage.stdout == ""
