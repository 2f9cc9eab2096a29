"""Every HTML document opens in headless Chromium: it renders, logs no console error,
hostile text from the data shows up as text, never as markup or a template, no page is
wider than a phone's screen, and the axe-core accessibility engine finds nothing serious.

The browser test never skips: without Chromium (``make test`` installs it) or the dev
dependencies it fails, under CI and elsewhere.
"""

from __future__ import annotations

import shutil
from importlib.resources import files

import numpy as np
import pytest
from PIL import Image

from tiktok_claims import config
from tiktok_claims.analysis import analyze
from tiktok_claims.data.synthetic import make_synthetic
from tiktok_claims.outputs import write_run

HOSTILE = '<script>window.__pwned = 1</script>{{7*7}}<img src=x onerror="window.__pwned = 2">'
# One word longer than a phone's screen is wide, in a transcript and in the data file's path.
LONG_WORD = "unbroken" * 40
# The binary outcome's run is written with its notebook (run --notebook): notebook.html is one of its documents.
HTML_DOCUMENTS = ("report.html", "executive_summary.html", "technical_summary.html", "pace_strategy.html", "notebook.html")
# Every HTML document of both kinds: the binary outcome's four, and a non-binary outcome's report and summary.
ALL_DOCUMENTS = [("binary", name) for name in HTML_DOCUMENTS] + [("family", "report.html"), ("family", "executive_summary.html")]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The axe-core engine, pinned: the axe-playwright-python package (dev extra) ships axe.min.js.
AXE_SOURCE = files("axe_playwright_python") / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed; `make test` installs it (Debian package 'chromium')")
    return path


def _hostile_frame():
    frame = make_synthetic(3000, seed=3)
    complete = frame.index[frame[config.TRANSCRIPT].notna()]
    frame.loc[complete[:60], config.TRANSCRIPT] = HOSTILE  # the most repeated transcript
    frame.loc[complete[60:100], config.TRANSCRIPT] = LONG_WORD  # the second
    return frame


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """The documents of a binary (with its executed notebook) and of a non-binary outcome, from hostile
    data in a file with a very long path."""
    folder = tmp_path_factory.mktemp("hostile") / LONG_WORD[:200]
    folder.mkdir()
    data = folder / "claims.parquet"
    _hostile_frame().to_parquet(data)
    runs = {}
    for kind, target in (("binary", config.VERIFIED), ("family", config.BAN)):
        out, notes = tmp_path_factory.mktemp(kind), []
        write_run(analyze(str(data), target=target, bootstrap=100, cv_folds=2), out, notebook=kind == "binary", notes=notes)
        assert notes == [], notes  # the notebook was executed to its end
        runs[kind] = out
    return runs


@pytest.fixture(scope="module")
def hostile_outputs(outputs):
    return outputs["binary"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, path, viewport=DESKTOP):
    """A page showing ``path`` in a fresh context; on a phone-sized viewport, as a phone shows it
    (a page without a viewport meta is then laid out 980 px wide and shrunk)."""
    context = browser.new_context(viewport=viewport, is_mobile=viewport["width"] < 600, has_touch=viewport["width"] < 600)
    page = context.new_page()
    page.goto(path.as_uri(), wait_until="load")
    return context, page


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


FIGURES = """images => images.map(i => ({
    alt: i.getAttribute('alt') || '',
    caption: (i.closest('figure')?.querySelector('figcaption')?.textContent || '').trim(),
    loaded: i.naturalWidth > 0,
}))"""


@pytest.mark.parametrize(("kind", "document"), [(kind, name) for kind in ("binary", "family")
                                                 for name in ("report.html", "executive_summary.html")])
def test_every_figure_has_alt_text_that_adds_to_its_caption(browser, outputs, kind, document):
    """Alt text says what the chart shows; the visible caption names it. A screen reader reads
    both, so neither repeats the other. The summary shows one chart, the one that carries its verdict."""
    context, page = open_page(browser, outputs[kind] / document)
    found = page.eval_on_selector_all("img", FIGURES)
    context.close()

    if document == "executive_summary.html":
        assert len(found) == 1
    else:
        assert len(found) >= (8 if kind == "binary" else 5)
    for figure in found:
        assert figure["loaded"]
        assert len(figure["alt"]) > 30 and figure["caption"], figure
        assert figure["caption"].lower() not in figure["alt"].lower(), figure
        assert figure["alt"].lower() not in figure["caption"].lower(), figure


STRUCTURE = """() => ({
    lang: document.documentElement.lang,
    viewport: document.querySelector('meta[name=viewport]')?.content || null,
    mains: document.querySelectorAll('main').length,
    outsideMain: [...document.body.children].filter(e => e.tagName !== 'MAIN').map(e => e.outerHTML.slice(0, 80)),
    tables: [...document.querySelectorAll('table')].map(t => {
        const box = t.parentElement;
        return {
            caption: t.caption?.textContent.trim() || '',
            inScrollRegion: box.classList.contains('table-scroll') && box.getAttribute('role') === 'region'
                && box.getAttribute('tabindex') === '0' && !!box.getAttribute('aria-label')
                && getComputedStyle(box).overflowX === 'auto',
            unscoped: [...t.querySelectorAll('th')].filter(h => !['col', 'row'].includes(h.getAttribute('scope'))).length,
            columnHeaders: t.querySelectorAll('thead th[scope=col]').length,
        };
    }),
})"""


@pytest.mark.parametrize(("kind", "document"), ALL_DOCUMENTS)
def test_document_structure_serves_phones_and_screen_readers(browser, outputs, kind, document):
    """Language, viewport, one main landmark holding everything, and tables a screen reader can
    navigate (caption, header scope) in a scroll container a keyboard can reach."""
    context, page = open_page(browser, outputs[kind] / document)
    found = page.evaluate(STRUCTURE)
    context.close()

    assert found["lang"] == "en"
    assert found["viewport"] == "width=device-width, initial-scale=1"
    assert found["mains"] == 1 and found["outsideMain"] == []
    for table in found["tables"]:
        assert table["caption"] and table["inScrollRegion"], table
        assert table["unscoped"] == 0 and table["columnHeaders"] >= 1, table


def test_the_reproducibility_table_has_headers(browser, hostile_outputs):
    context, page = open_page(browser, hostile_outputs / "report.html")
    table = page.locator("table", has=page.locator("caption", has_text="What this run used"))
    headers = table.locator("thead th[scope=col]").all_inner_texts()
    rows = table.locator("tbody th[scope=row]").all_inner_texts()
    context.close()

    assert headers == ["item", "value"]
    assert rows[:3] == ["data sha256", "seed", "command"]


@pytest.mark.parametrize(("kind", "document"), ALL_DOCUMENTS)
def test_no_page_is_wider_than_a_phone(browser, outputs, kind, document):
    """At 390 px the page fits the screen: wide tables scroll in their own container and long
    words (a transcript, the data file's path) wrap, so the page itself never scrolls sideways.
    A phone lays a page out as wide as its content (and shrinks it), so both widths are read."""
    context, page = open_page(browser, outputs[kind] / document, PHONE)
    width, layout_width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    context.close()

    assert width <= PHONE["width"] and layout_width == PHONE["width"], (
        f"{kind} {document} is {width} px wide on a {PHONE['width']} px phone, laid out {layout_width} px wide "
        "(980 px: no viewport meta; more: something in it does not wrap or scroll)"
    )


def _readable(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['impact']} {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"][:5]:
            lines.append(f"    at {' '.join(map(str, node['target']))}: {node['html'][:160]}")
            lines.append(f"       {node['failureSummary']}".replace("\n", "\n       "))
    return "\n".join(lines)


@pytest.fixture(scope="module")
def axe_source() -> str:
    return AXE_SOURCE.read_text(encoding="utf-8")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
@pytest.mark.parametrize(("kind", "document"), ALL_DOCUMENTS)
def test_axe_core_finds_no_serious_or_critical_violation(browser, outputs, axe_source, kind, document, viewport):
    """The axe-core engine, injected into the page, at a phone's and a desktop's width (a table
    that scrolls only on a phone must still be reachable by keyboard there)."""
    context, page = open_page(browser, outputs[kind] / document, viewport)
    page.evaluate(axe_source)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    context.close()

    assert results["testEngine"]["version"].startswith("4.")
    failing = [v for v in results["violations"] if v["impact"] in FAILING_IMPACTS]
    if failing:
        pytest.fail(f"axe-core {results['testEngine']['version']} on {kind} {document}:\n{_readable(failing)}", pytrace=False)
