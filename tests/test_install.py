"""The install a user gets: the runtime lock resolves on Linux, macOS and Windows, the locks
are what ``make lock`` writes from pyproject.toml, and without the ``[pdf]`` extra (or
without the system's Pango) ``run`` and ``report --from`` write every other output and say
in one line how to add the PDF.

The lock checks ask uv (the one ``make`` installs beside this Python) to install the lock,
hash-checked, as a dry run for another platform: from uv's cache when it holds the
metadata, else from PyPI. Without uv or the network they skip, except under CI (CI=true),
where they fail.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from tiktok_claims.artifact.store import ARTIFACT_FILES
from tiktok_claims.cli import app
from tiktok_claims.data.synthetic import write_synthetic
from tiktok_claims.folders import LOCK, MANIFEST
from tiktok_claims.reporting.kinds import TABLE_FILES, document_files, documents_for
from tiktok_claims.reporting.render import pdf_unavailable

REPO = Path(__file__).resolve().parents[1]
RUNTIME_LOCK = REPO / "requirements-runtime.lock"
DEV_LOCK = REPO / "requirements-dev.lock"
PDF = "executive_summary.pdf"
FAST = ("--cv-folds", "2", "--cv-repeats", "1", "--bootstrap", "100", "--workers", "1", "--quiet")

# ---------------------------------------------------------------- the locks

PLATFORMS = ("x86_64-apple-darwin", "aarch64-apple-darwin", "x86_64-pc-windows-msvc", "x86_64-manylinux_2_28")
PYTHONS = ("3.11", "3.13")
# What uv says when it cannot reach the index (as opposed to an index that refuses the lock).
OFFLINE = ("error sending request", "dns error", "tcp connect error", "Network is unreachable")


def _unavailable(reason: str):
    """Fail under CI (the locks must be checked there); elsewhere skip, saying why."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must check the locks")
    pytest.skip(reason=f"cannot check the locks outside CI: {reason}")


def _uv(*args: str) -> subprocess.CompletedProcess:
    """uv with ``args``: from its cache first (no network), then from the index."""
    beside = Path(sys.executable).with_name("uv.exe" if os.name == "nt" else "uv")
    uv = str(beside) if beside.is_file() else shutil.which("uv")
    if uv is None:
        _unavailable("uv is not installed (make installs it beside the environment's python)")
    result = subprocess.run([uv, *args, "--offline"], capture_output=True, text=True, cwd=REPO)
    if result.returncode != 0:
        result = subprocess.run([uv, *args], capture_output=True, text=True, cwd=REPO)
        if result.returncode != 0 and any(sign in result.stderr for sign in OFFLINE):
            _unavailable(f"PyPI is out of reach: {result.stderr.strip().splitlines()[-1]}")
    return result


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_runtime_lock_installs_hash_checked_from_wheels_on_every_platform(platform, python, tmp_path):
    result = _uv(
        "pip", "install", "--dry-run", "--require-hashes", "--only-binary", ":all:", "-r", str(RUNTIME_LOCK),
        "--python", sys.executable, "--python-platform", platform, "--python-version", python,
        "--target", str(tmp_path / "target"),
    )

    assert result.returncode == 0, result.stderr
    assert re.search(r"^ \+ weasyprint==", result.stderr + result.stdout, re.MULTILINE)


def _pins(lock: Path) -> set[str]:
    return {line.split("==")[0] for line in lock.read_text(encoding="utf-8").splitlines() if re.match(r"[a-z0-9]", line)}


def test_the_runtime_lock_holds_the_pdf_extra_and_no_spark_notebook_or_dev_tools():
    runtime, dev = _pins(RUNTIME_LOCK), _pins(DEV_LOCK)

    assert {"weasyprint", "numpy", "statsmodels", "typer"} <= runtime
    assert not runtime & {"pyspark", "py4j", "ipykernel", "nbclient", "jupyter-core", "pytest", "playwright", "seaborn"}
    assert runtime < dev  # make test runs everything make run does
    # Packages one platform needs, marked for it (their absence broke macOS and Windows installs).
    assert re.search(r"^colorama==\S+ ; sys_platform == 'win32'", RUNTIME_LOCK.read_text(encoding="utf-8"), re.MULTILINE)
    assert re.search(r"^appnope==\S+ ; sys_platform == 'darwin'", DEV_LOCK.read_text(encoding="utf-8"), re.MULTILINE)


def _lock_command(lock: Path) -> list[str]:
    """The ``uv pip compile`` command a lock file's header says wrote it."""
    header = lock.read_text(encoding="utf-8").splitlines()[1]
    return header.removeprefix("#").split()


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK], ids=lambda path: path.name)
def test_make_lock_writes_each_lock_with_the_command_its_header_names(lock):
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    variables = dict(re.findall(r"^([A-Z_]+) := (.*)$", makefile, re.MULTILINE))
    recipe = makefile.split("\nlock:", 1)[1].split("\n\n", 1)[0]
    commands = [
        re.sub(r"\$\((\w+)\)", lambda m: variables.get(m[1], m[0]), line.strip().removeprefix("$(BIN)/"))
        for line in recipe.splitlines()[1:]
    ]

    assert " ".join(_lock_command(lock)) in commands


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK], ids=lambda path: path.name)
def test_each_lock_is_up_to_date_with_pyproject(lock, tmp_path):
    """Re-resolving keeps every pin that still fits: a lock that changes was not re-made after pyproject.toml changed."""
    command = _lock_command(lock)
    copy = tmp_path / lock.name
    shutil.copyfile(lock, copy)
    output = command.index("-o") + 1
    command[output] = str(copy)

    result = _uv(*command[1:], "--quiet")

    assert result.returncode == 0, result.stderr
    body = lambda path: path.read_text(encoding="utf-8").split("\n", 2)[2]  # noqa: E731 (after the header)
    assert body(copy) == body(lock), f"{lock.name} is stale: run make lock"


# ---------------------------------------------------------------- without the PDF


def _weasyprint_modules() -> list[str]:
    return [name for name in sys.modules if name == "weasyprint" or name.startswith("weasyprint.")]


@pytest.fixture(params=["weasyprint not installed", "pango missing"])
def without_pdf(request, monkeypatch):
    """This process as if installed without [pdf], or with it but without the system's Pango.

    For Pango, WeasyPrint itself is imported anew and fails as it does on such a system:
    loading the library raises OSError (after WeasyPrint prints its advice to stdout).
    """
    for name in _weasyprint_modules():
        monkeypatch.delitem(sys.modules, name)
    if request.param == "weasyprint not installed":
        monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint: ImportError
    else:
        if importlib.util.find_spec("weasyprint") is None:
            _unavailable("WeasyPrint is not installed here: its failure to load Pango cannot be reproduced")
        cffi = importlib.import_module("cffi")
        load = cffi.FFI.dlopen

        def dlopen(self, name, flags=0):
            if name is not None and "pango" in str(name):
                raise OSError(f"cannot load library '{name}': {name}: cannot open shared object file")
            return load(self, name, flags)

        monkeypatch.setattr(cffi.FFI, "dlopen", dlopen)
    yield request.param
    for name in _weasyprint_modules():  # modules imported under the simulation; the originals come back
        del sys.modules[name]


def invoke(*args: str):
    """The CLI in-process; no exception may escape (a user would see a traceback)."""
    result = CliRunner().invoke(app, list(args))
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not escaped, f"uncaught {result.exception!r}; output: {result.output}"
    return result


def files_in(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name not in (LOCK, MANIFEST)}


def manifest(folder: Path) -> set[str]:
    return set(json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["files"])


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("install") / "videos.csv"
    write_synthetic(path, rows=3_000, seed=5)
    return path


@pytest.fixture(scope="module")
def full_run(data, tmp_path_factory) -> SimpleNamespace:
    """A run where WeasyPrint and Pango load: the PDF among its files."""
    if pdf_unavailable() is not None:
        _unavailable(f"this environment cannot print the PDF to compare with: {pdf_unavailable()}")
    out = tmp_path_factory.mktemp("full") / "out"
    result = invoke("run", str(data), "--out", str(out), *FAST)
    assert result.exit_code == 0, result.output
    return SimpleNamespace(out=out, files=files_in(out))


def _assert_one_note(stderr: str, folder: Path, case: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"Note: {PDF} not written: "), lines[0]
    fix = "pip install 'tiktok-claims[pdf]'" if case == "weasyprint not installed" else "Pango library"
    assert fix in lines[0]
    assert lines[0].endswith(f"then tiktok-claims report --from {folder} adds it.")
    assert "Traceback" not in stderr


def test_the_full_run_lists_the_pdf_among_its_documents(full_run):
    documents = set(document_files(documents_for("binary")))

    assert PDF in documents
    assert documents | set(TABLE_FILES) | set(ARTIFACT_FILES) <= full_run.files == manifest(full_run.out)


def test_a_run_without_the_pdf_writes_every_other_output_and_says_how_to_add_it(without_pdf, data, full_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(full_run.out, out)  # over a previous run that had the PDF

    result = invoke("run", str(data), "--out", str(out), *FAST)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{out}\n"  # nothing else: WeasyPrint's own advice is held back
    _assert_one_note(result.stderr, out, without_pdf)
    assert files_in(out) == full_run.files - {PDF} == manifest(out)
    for name in full_run.files - {PDF}:
        assert (out / name).stat().st_size > 0, name
    assert json.loads((out / "metrics.json").read_text(encoding="utf-8"))["figures"]


def test_report_from_without_the_pdf_rerenders_the_rest_and_leaves_no_stale_pdf(without_pdf, full_run, tmp_path):
    out = shutil.copytree(full_run.out, tmp_path / "run")
    (out / "report.md").write_text("stale", encoding="utf-8")

    result = invoke("report", "--from", str(out))

    assert result.exit_code == 0, result.output
    _assert_one_note(result.stderr, out, without_pdf)
    rerendered = set(document_files(documents_for("binary"))) - {PDF} | {"figures/verdict.png"}  # the summary's chart
    assert set(result.stdout.splitlines()) == {str(out / name) for name in rerendered}
    assert (out / "report.md").read_text(encoding="utf-8") != "stale"
    assert files_in(out) == full_run.files - {PDF} == manifest(out)


def test_the_pdf_is_printed_again_once_weasyprint_loads(full_run, tmp_path):
    out = shutil.copytree(full_run.out, tmp_path / "run")
    (out / PDF).unlink()

    result = invoke("report", "--from", str(out))

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert (out / PDF).read_bytes().startswith(b"%PDF")
