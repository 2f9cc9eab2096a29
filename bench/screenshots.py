"""Screenshots of the four HTML documents (and notebook.html, when the run wrote it with
``--notebook``) at a desktop's and a phone's width, so a reviewer can look at them without a browser.

Without ``RUN_DIR`` it runs the whole analysis on the built-in synthetic data
(``tiktok-claims run --out TMP --quiet``, as ``make run`` does) into a temporary folder
and deletes that folder afterwards; with ``RUN_DIR`` it reuses the documents of a previous
``run`` there. Each document is opened in headless Chromium (Debian's ``chromium``, which
``make browser-deps`` installs) at 1280 px and at 390 px, the phone as a phone shows it
(mobile viewport, touch), and saved as ``OUT/<document>-<width>.png``, the whole page by
default. The page's width at each size is printed: at 390 px a page wider than 390 px
scrolls sideways on a phone.

Usage: .venv/bin/python bench/screenshots.py [RUN_DIR] [--out screenshots] [--first-screen]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCUMENTS = ("report.html", "executive_summary.html", "technical_summary.html", "pace_strategy.html", "notebook.html")
WIDTHS = {1280: 900, 390: 844}  # width -> height of the viewport (a 390 px phone is 844 px tall)
PHONE_BELOW = 600
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync", "--no-first-run"]


def run_analysis(out: Path) -> None:
    """``tiktok-claims run`` on the built-in synthetic data, in a child process of this interpreter."""
    command = [sys.executable, "-m", "tiktok_claims.cli", "run", "--out", str(out), "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"tiktok-claims run failed (exit code {result.returncode}):\n{result.stderr[-2000:]}")


def take_screenshots(run: Path, out: Path, full_page: bool = True) -> list[tuple[str, int, int, Path]]:
    """Save each document of ``run`` at each width into ``out``; return (document, width, page width, file)."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is not installed: `make browser-deps` installs it (Debian package 'chromium').")
    documents = [name for name in DOCUMENTS if (run / name).is_file()]
    if not documents:
        sys.exit(f"{run}: none of {', '.join(DOCUMENTS)} is there; give the folder of a 'tiktok-claims run'.")
    out.mkdir(parents=True, exist_ok=True)
    taken = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for width, height in WIDTHS.items():
            phone = width < PHONE_BELOW
            context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=phone, has_touch=phone)
            for name in documents:
                page = context.new_page()
                page.goto((run / name).resolve().as_uri(), wait_until="load")
                shot = out / f"{Path(name).stem}-{width}.png"
                page.screenshot(path=str(shot), full_page=full_page)
                taken.append((name, width, page.evaluate("document.documentElement.scrollWidth"), shot))
                page.close()
            context.close()
        browser.close()
    return taken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", nargs="?", type=Path, help="folder of a previous 'tiktok-claims run' (default: run one)")
    parser.add_argument("--out", type=Path, default=Path("screenshots"), help="where the PNG files go (default: screenshots/)")
    parser.add_argument("--first-screen", action="store_true", help="only the first screenful, not the whole page")
    arguments = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tiktok-screenshots-") as scratch:
        run = arguments.run
        if run is None:
            run = Path(scratch) / "run"
            print("Running the analysis on the built-in synthetic data ...", file=sys.stderr)
            run_analysis(run)
        taken = take_screenshots(run, arguments.out, full_page=not arguments.first_screen)
    too_wide = 0
    for name, width, page_width, shot in taken:
        note = "" if page_width <= width else f"  WIDER THAN THE SCREEN by {page_width - width} px"
        too_wide += bool(note)
        print(f"{shot}  ({name} at {width} px: page {page_width} px wide){note}")
    return 1 if too_wide else 0


if __name__ == "__main__":
    sys.exit(main())
