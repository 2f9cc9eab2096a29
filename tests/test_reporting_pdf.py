"""The summary's PDF (``reporting/pdf.py``): why it cannot be printed, in one line with the
fix, and the note a run or a re-rendering prints when it wrote the summary without it."""

from __future__ import annotations

import builtins
import sys
from pathlib import Path

import pytest

from tiktok_claims.reporting import pdf
from tiktok_claims.reporting.pdf import missing_pdf_note, pdf_unavailable


def test_this_environment_prints_pdfs():
    assert pdf_unavailable() is None, "the test environment has the [pdf] extra and Pango"


@pytest.mark.parametrize(
    ("error", "says"), [(ImportError, "WeasyPrint is not installed"), (OSError, "cannot load the system's Pango library")]
)
def test_a_missing_weasyprint_or_pango_is_named_with_its_fix(monkeypatch, error, says):
    real_import = builtins.__import__

    def failing(name, *args, **kwargs):
        if name == "weasyprint":
            raise error("not here")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "weasyprint", raising=False)
    monkeypatch.setattr(builtins, "__import__", failing)

    reason = pdf_unavailable()

    assert reason.startswith("executive_summary.pdf not written: ") and says in reason
    assert (pdf.PDF_EXTRA in reason) == (error is ImportError)
    assert pdf.PANGO_INSTALL.get(sys.platform, pdf.PANGO_INSTALL_ELSEWHERE) in reason


def test_the_note_on_a_summary_without_its_pdf_names_the_command_that_adds_it(monkeypatch):
    folder = Path("runs/it's here")
    without = {"executive_summary.html": folder / "executive_summary.html"}
    with_pdf = {**without, "executive_summary.pdf": folder / "executive_summary.pdf"}
    monkeypatch.setattr(pdf, "pdf_unavailable", lambda: "executive_summary.pdf not written: no Pango")

    note = missing_pdf_note(without, folder)

    assert note == "Note: executive_summary.pdf not written: no Pango; then tiktok-claims report --from 'runs/it'\"'\"'s here' adds it."
    assert missing_pdf_note(with_pdf, folder) is None and missing_pdf_note({}, folder) is None
