"""The executive summary printed to PDF: WeasyPrint, when it and the system's Pango load.

WeasyPrint is the optional ``[pdf]`` extra; loading it takes about half a second, which
``run`` spends in its printer's process (:mod:`tiktok_claims.reporting.printer`) before
the results exist. This module imports nothing heavy itself.
"""

from __future__ import annotations

import contextlib
import io
import shlex
import sys
from pathlib import Path

PDF_VARIANT = "pdf/ua-1"
"""Tagged PDF (PDF/UA-1): a structure tree for screen readers, the document's language
(from ``<html lang>``) and its title (from ``<title>``), shown as the window title."""

PDF_EXTRA = "pip install 'tiktok-claims[pdf]'"
PANGO_INSTALL = {
    "darwin": "brew install pango",
    "win32": "MSYS2's pacman -S mingw-w64-x86_64-pango, as WeasyPrint's installation guide shows",
}
PANGO_INSTALL_ELSEWHERE = "apt install libpango-1.0-0 libpangoft2-1.0-0, or dnf install pango"


def pdf_unavailable() -> str | None:
    """Why the PDF summary cannot be printed here, with the fix, in one line; ``None`` when it can.

    WeasyPrint is the optional ``[pdf]`` extra; importing it loads the system's Pango
    library, an ``OSError`` when Pango is missing (WeasyPrint's own advice, which it prints
    to standard output then, is held back: the caller prints this line instead).

    Returns
    -------
    str or None
    """
    pango = PANGO_INSTALL.get(sys.platform, PANGO_INSTALL_ELSEWHERE)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import weasyprint  # noqa: F401
    except ImportError:
        return f"executive_summary.pdf not written: WeasyPrint is not installed ({PDF_EXTRA}; it needs Pango: {pango})"
    except OSError:
        return f"executive_summary.pdf not written: WeasyPrint cannot load the system's Pango library ({pango})"
    return None


def missing_pdf_note(written: dict[str, Path], folder: Path) -> str | None:
    """The one-line note for a summary written without its PDF: why, and how to add it; else ``None``.

    Parameters
    ----------
    written : dict of str to Path
        The files a run or a re-rendering wrote, by name.
    folder : Path
        The run's folder, named in the command that adds the PDF later.

    Returns
    -------
    str or None
    """
    if "executive_summary.html" not in written or "executive_summary.pdf" in written:
        return None
    reason = pdf_unavailable() or "executive_summary.pdf not written"
    return f"Note: {reason}; then tiktok-claims report --from {shlex.quote(str(folder))} adds it."


def html_to_pdf(html_path: Path, pdf_path: Path) -> Path:
    """Print an HTML document to a tagged PDF with WeasyPrint (no browser, no network).

    Parameters
    ----------
    html_path : Path
        The page; the files it links are found beside it.
    pdf_path : Path
        Where the PDF is written.

    Returns
    -------
    Path
        ``pdf_path``.
    """
    from weasyprint import HTML

    HTML(filename=str(html_path), base_url=str(html_path.parent)).write_pdf(str(pdf_path), pdf_variant=PDF_VARIANT)
    return pdf_path
