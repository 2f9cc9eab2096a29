"""Figures with fixed margins: every label drawn inside the figure and clear of the others.

Most figures place their axes with fixed margins instead of a layout engine, so nothing
adjusts them to the labels: these tests draw each figure of a run, record every text
the renderer draws and check its box. They also check the colours, styles and the
alternative text the reports rely on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

from tiktok_claims import config
from tiktok_claims.reporting import figures as plots
from tiktok_claims.reporting.kinds import BINARY

# Boxes of rasterized text may share a pixel row or column without touching ink.
TOLERANCE_PX = 1.0


def drawn_text_boxes(figure, monkeypatch) -> list[tuple[str, object]]:
    """(text, window extent) of every text the Agg renderer draws for ``figure``."""
    drawn = []
    original = RendererAgg.draw_text

    def recording(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if mtext is not None:
            drawn.append(mtext)
        return original(self, gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    monkeypatch.setattr(RendererAgg, "draw_text", recording)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    return [(text.get_text(), text.get_window_extent(renderer)) for text in drawn]


def assert_labels_fit(result: plots.Figure, monkeypatch) -> None:
    boxes = drawn_text_boxes(result.figure, monkeypatch)
    canvas = result.figure.bbox
    assert boxes, result.name
    for text, box in boxes:
        inside = (
            box.x0 >= canvas.x0 - TOLERANCE_PX and box.x1 <= canvas.x1 + TOLERANCE_PX
            and box.y0 >= canvas.y0 - TOLERANCE_PX and box.y1 <= canvas.y1 + TOLERANCE_PX
        )
        assert inside, f"{result.name}: {text!r} is cut off at the figure's edge ({box} outside {canvas})"
    for i, (text, box) in enumerate(boxes):
        for other, other_box in boxes[i + 1 :]:
            overlap_x = min(box.x1, other_box.x1) - max(box.x0, other_box.x0)
            overlap_y = min(box.y1, other_box.y1) - max(box.y0, other_box.y0)
            assert min(overlap_x, overlap_y) <= TOLERANCE_PX, f"{result.name}: {text!r} overlaps {other!r}"


@pytest.fixture(scope="module")
def run_figures(real_analysis):
    return [builder(*arguments) for builder, arguments in BINARY.figure_jobs(real_analysis)]


def test_every_figure_of_a_run_keeps_its_labels_inside_and_apart(run_figures, monkeypatch):
    assert len(run_figures) == 10
    for result in run_figures:
        assert_labels_fit(result, monkeypatch)


def test_every_figure_of_a_run_has_a_title_and_alt_text(run_figures):
    names = [result.name for result in run_figures]

    assert len(set(names)) == len(names)
    for result in run_figures:
        assert result.title and len(result.alt) > 40, result.name


def test_large_counts_still_fit(monkeypatch):
    """Class counts and confusion cells in the millions, as on a large backlog."""
    balance = pd.DataFrame({"level": ["not verified", "verified"], "count": [9_400_000, 600_000], "share": [0.94, 0.06]})
    confusion = pd.DataFrame(
        [[2_350_000, 1_740_000], [81_000, 190_000]],
        index=["actual not verified", "actual verified"],
        columns=["predicted not verified", "predicted verified"],
    )
    cooks = pd.DataFrame({"cooks_d": np.random.default_rng(3).exponential(1e-7, size=5000)})

    for result in (
        plots.class_balance(balance, config.VERIFIED),
        plots.confusion_matrix(confusion, ("not verified", "verified")),
        plots.influence(cooks, 4 / len(cooks)),
    ):
        assert_labels_fit(result, monkeypatch)


def test_curves_use_okabe_ito_colours_and_line_styles(run_figures):
    from matplotlib.colors import to_hex

    by_name = {result.name: result for result in run_figures}
    for name in ("roc_curve", "precision_recall_curve", "calibration_curve"):
        lines = by_name[name].figure.axes[0].get_lines()
        colours = {to_hex(line.get_color()).upper() for line in lines}
        assert colours <= set(plots.OKABE_ITO), name
        assert len({line.get_linestyle() for line in lines}) == len(lines), name  # told apart without colour


@pytest.mark.parametrize(
    ("value", "label"),
    [(1, "10⁰"), (1000, "10³"), (1e6, "10⁶"), (0.01, "10⁻²"), (-100, "−10²"), (0, "0"), (2500, "2500")],
)
def test_log_axis_labels_are_powers_of_ten_in_plain_text(value, label):
    assert plots._power_of_ten_label(value) == label


def _bar(label: str, *parts: tuple[str, float, str]) -> dict:
    return {"label": label, "segments": [{"label": name, "value": value, "text": text} for name, value, text in parts]}


@pytest.mark.parametrize(
    "chart",
    [
        {"bars": [_bar("Of every 1,000 videos the model flags", ("'verified'", 99.6, "100"), ("not 'verified'", 900.4, "900")),
                  _bar("Of every 1,000 'not verified' videos", ("flagged", 703.3, "703"), ("missed", 296.7, "297"))],
         "scale": 1000},
        {"bars": [_bar("Of every 1,000 videos the model flags", ("'claim'", 999.6, "999.6"), ("not 'claim'", 0.4, "0.4")),
                  _bar("Of every 1,000 'claim' videos", ("flagged", 990.8, "990.8"), ("missed", 9.2, "9.2"))],
         "scale": 1000},
        {"bars": [_bar("The model's predictions", ("views off on average", 128_482.5, "128,483")),
                  _bar("Always predicting the average", ("views off on average", 281_192.4, "281,192"))],
         "scale": None},
    ],
    ids=["verified", "claim", "count"],
)
def test_the_summary_chart_draws_its_parts_to_scale_and_keeps_its_labels_apart(chart, monkeypatch):
    drawn = plots.verdict_chart({"name": "verdict", "title": "A caption.", "alt": "A description.", **chart})

    assert_labels_fit(drawn, monkeypatch)
    scale = chart["scale"] or max(s["value"] for bar in chart["bars"] for s in bar["segments"])
    for axes, bar in zip(drawn.figure.axes, chart["bars"]):
        assert [p.get_width() for p in axes.patches] == pytest.approx([s["value"] for s in bar["segments"]])
        assert axes.get_xlim() == pytest.approx((0, scale))
        legend = [text.get_text() for text in axes.get_legend().get_texts()]
        assert legend == [f"{s['text']} {s['label']}" for s in bar["segments"]]
        hatches = [p.get_hatch() or "" for p in axes.patches]
        assert len(set(hatches)) == len(hatches)  # parts told apart without colour


@pytest.mark.parametrize("constant", [["video_like_count"], list(config.CONTINUOUS_COLUMNS)[1:]])
def test_a_constant_column_has_no_correlation_and_is_named_so(constant, monkeypatch):
    """A column that never varies has no r (NaN): its cells read n/a, the strongest pair is among the others, if any."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({c: rng.normal(size=200) for c in config.CONTINUOUS_COLUMNS})
    frame[constant] = 0.0
    corr = frame.corr()

    figure = plots.correlation_heatmap(corr)
    texts = [text for text, _ in drawn_text_boxes(figure.figure, monkeypatch)]

    assert texts.count("n/a") == int(corr.isna().to_numpy().sum())
    assert f"{', '.join(constant)} {'is' if len(constant) == 1 else 'are'} constant" in figure.alt
    varying = [c for c in config.CONTINUOUS_COLUMNS if c not in constant]
    if len(varying) < 2:
        assert "no pair can be compared" in figure.alt
    else:
        pairs = frame[varying].corr().where(~np.eye(len(varying), dtype=bool)).abs().stack()
        a, b = pairs.idxmax()
        assert f"the strongest pair is {a} and {b} (r = {corr.loc[a, b]:.2f})" in figure.alt


def test_a_reliability_curve_without_a_slope_says_it_is_unbounded():
    curve = pd.DataFrame({"mean_predicted": [0.1, 0.5, 0.9], "observed": [0.0, 0.5, 1.0]})
    summary = {"brier": 0.01, "slope": None, "separated": True, "intercept": -0.4}

    figure = plots.reliability_curve(curve, summary)

    assert "calibration slope unbounded (the scores separate the classes of the test part)" in figure.alt
    assert figure.figure.axes[0].get_legend().get_texts()[1].get_text() == "model (slope unbounded, intercept -0.40)"
