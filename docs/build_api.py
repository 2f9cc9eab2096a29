"""Build the API reference, ``docs/api/``, from the docstrings of the public API with pdoc.

    python docs/build_api.py          # needs pdoc, a development tool: pip install pdoc

The reference documents the package's public names (``tiktok_claims.__all__``) on one page,
from their numpydoc docstrings, with the base class of the results objects (what ``summary``
and ``write`` are defined on) on a page of its own; the other internal modules are left out. Run it again
after changing a public docstring and commit ``docs/api/`` with the change.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
OUT = DOCS / "api"
SOURCE = DOCS.parent / "src"


def main() -> int:
    if importlib.util.find_spec("pdoc") is None:
        print("docs/build_api.py: pdoc is not installed; install it (pip install pdoc) and run this again.", file=sys.stderr)
        return 1
    import pdoc
    import pdoc.render

    sys.path.insert(0, str(SOURCE))  # the checkout's package, installed or not
    import tiktok_claims

    # The package imports its public names on first use (to keep the command line fast);
    # pdoc reads a module's namespace, so every public name is imported first.
    for name in tiktok_claims.__all__:
        setattr(tiktok_claims, name, getattr(tiktok_claims, name))
    pdoc.render.configure(docformat="numpy", show_source=False, search=True, footer_text="tiktok-claims API reference")
    shutil.rmtree(OUT, ignore_errors=True)
    # The package's page, and the base class whose methods (summary, write) every results object inherits.
    pdoc.pdoc("tiktok_claims", "!tiktok_claims\\.", "tiktok_claims.analysis.results", output_directory=OUT)
    print(f"API reference: {OUT / 'tiktok_claims.html'} (pdoc {pdoc.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
