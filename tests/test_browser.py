"""Every HTML document opens in headless Chromium: it renders, logs no console error,
and hostile text from the data shows up as text, never as markup or a template."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from tiktok_claims import config
from tiktok_claims.analysis import analyze
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.reporting.render import write_outputs

HOSTILE = '<script>window.__pwned = 1</script>{{7*7}}<img src=x onerror="window.__pwned = 2">'
HTML_DOCUMENTS = ("report.html", "executive_summary.html", "technical_summary.html", "pace_strategy.html")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed; `make test` installs it (Debian package 'chromium')")
    return path


@pytest.fixture(scope="module")
def hostile_outputs(tmp_path_factory):
    frame = make_synthetic(3000, seed=3)
    complete = frame.index[frame[config.TRANSCRIPT].notna()]
    frame.loc[complete[:60], config.TRANSCRIPT] = HOSTILE  # the most repeated transcript
    out = tmp_path_factory.mktemp("hostile")
    write_outputs(analyze(frame, bootstrap=100, cv_folds=2), out)
    return out


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.mark.parametrize("document", HTML_DOCUMENTS)
def test_document_renders_without_errors_and_keeps_hostile_text_inert(browser, hostile_outputs, document, tmp_path):
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto((hostile_outputs / document).as_uri(), wait_until="load")
    shot = tmp_path / "shot.png"
    page.screenshot(path=str(shot), full_page=False)

    assert errors == []
    assert page.evaluate("window.__pwned === undefined")
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 10, "the screenshot is blank"
    assert page.locator("h1").count() == 1
    page.close()


def test_hostile_transcript_is_shown_as_text_in_the_report(browser, hostile_outputs):
    page = browser.new_page()
    page.goto((hostile_outputs / "report.html").as_uri(), wait_until="load")
    text = page.inner_text("body")

    assert HOSTILE in text
    assert page.locator("script").count() == 0
    page.close()


def test_every_figure_has_alt_text(browser, hostile_outputs):
    page = browser.new_page()
    page.goto((hostile_outputs / "report.html").as_uri(), wait_until="load")
    alts = page.eval_on_selector_all("img", "images => images.map(i => i.getAttribute('alt') || '')")

    assert len(alts) >= 8
    assert all(len(alt) > 30 for alt in alts)
    assert page.eval_on_selector_all("img", "images => images.every(i => i.naturalWidth > 0)")
    page.close()
