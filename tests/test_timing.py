"""Stage timings (timing.py): each stage timed once, recorded in metrics.json, printed with --verbose."""

from __future__ import annotations

import json
import time

from typer.testing import CliRunner

from tiktok_claims.cli import app
from tiktok_claims.timing import StageClock


def test_each_start_ends_the_stage_before_it_and_reports_its_message():
    said = []
    clock = StageClock(said.append)
    clock.start("first", "First stage")
    time.sleep(0.02)
    clock.start("second")
    time.sleep(0.01)
    clock.start("first", "First stage again")
    timings = clock.stop()
    assert list(timings) == ["first", "second"]
    assert timings["first"] >= 0.02 and 0.01 <= timings["second"] < timings["first"] + 0.5
    assert said == ["First stage", "First stage again"]
    assert clock.stop() == timings  # stopping twice adds nothing


def test_run_records_analysis_and_rendering_stages_in_metrics_json(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["run", "--out", str(out), "--quiet", "--verbose", "--bootstrap", "100", "--cv-folds", "2", "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    timings = json.loads((out / "metrics.json").read_text())["timings"]
    for stage in ("load", "eda", "classifier", "evaluation", "interpretation", "render_figures_and_summary", "render_documents"):
        assert stage in timings and timings[stage] >= 0
    for stage in timings:
        assert f"s  {stage}" in result.stderr
