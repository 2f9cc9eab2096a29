"""Separation found before fitting (``model/separation.py``), on constructed data whose
separation is known by construction, and on the real data; at scale, the subsampled
check against the exact one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from tiktok_claims import config
from tiktok_claims.errors import AnalysisError
from tiktok_claims.model.separation import detect_separation


def _with_constant(**columns) -> pd.DataFrame:
    return sm.add_constant(pd.DataFrame(columns))


def test_complete_separation_is_detected():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(-3, -0.1, 50), rng.uniform(0.1, 3, 50)])
    z = rng.normal(size=100)
    found = detect_separation(_with_constant(x=x, z=z), (x > 0).astype(int))
    assert found.kind == "complete"
    assert found.misclassified == 0
    assert found.hinge == pytest.approx(0.0, abs=1e-9)
    assert found.use_penalized


def test_quasi_complete_separation_is_detected_with_the_infinite_coefficient():
    rng = np.random.default_rng(3)
    x = np.repeat([-2.0, -1.0, 0.0, 0.0, 1.0, 2.0], 20)
    y = np.repeat([0, 0, 0, 1, 1, 1], 20)
    found = detect_separation(_with_constant(x=x, z=rng.normal(size=x.size)), y)
    assert found.kind == "quasi-complete"
    assert found.infinite == ("x",)
    assert found.direction["x"] > 0
    assert found.use_penalized


def test_overlapping_classes_are_not_separated(made_up_logit_data):
    frame, y = made_up_logit_data()
    found = detect_separation(sm.add_constant(frame), y)
    assert found.kind == "none"
    assert found.infinite == ()
    assert not found.direction.any()
    assert not found.use_penalized


def test_near_separation_counts_the_rows_on_the_wrong_side():
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, 1000)
    y = (x > 0).astype(int)
    flipped = np.flatnonzero(np.abs(x) > 0.5)[:5]
    y[flipped] = 1 - y[flipped]
    found = detect_separation(_with_constant(x=x), y)
    assert found.kind == "near"
    assert found.infinite == ()
    assert found.leading_predictor == "x"
    assert 5 <= found.misclassified <= 10


def test_collinear_columns_are_not_mistaken_for_separation(made_up_logit_data):
    frame, y = made_up_logit_data()
    found = detect_separation(sm.add_constant(frame.assign(twice=2 * frame["size"])), y)
    assert found.kind == "none"
    assert found.infinite == ()


def test_konis_program_is_skipped_only_where_weights_prove_it_finds_nothing(made_up_logit_data, monkeypatch):
    from scipy.optimize import linprog

    from tiktok_claims.model import separation

    calls = []
    monkeypatch.setattr(separation, "linprog", lambda *a, **k: calls.append(k) or linprog(*a, **k))
    frame, y = made_up_logit_data()
    overlapping = sm.add_constant(frame).to_numpy()
    signed = overlapping / np.abs(overlapping).max(axis=0) * np.where(y == 1, 1.0, -1.0)[:, None]
    _, _, weights = separation._robust_rule(signed, y.to_numpy())
    assert separation._balanced(signed, weights)
    konis = linprog(-signed.sum(axis=0), A_ub=-signed, b_ub=np.zeros(len(y)), bounds=[(-1.0, 1.0)] * 4, method="highs")
    assert not np.any(np.abs(konis.x) > separation.SEPARATION_TOLERANCE)  # what the certificate spares
    calls.clear()
    assert detect_separation(overlapping, y).kind == "none" and len(calls) == 1  # the robust program alone
    # Not provable under quasi-complete separation (no positive balancing weights exist),
    # nor with collinear columns (the weighted rows do not span them): Konis' program runs.
    x = np.repeat([-2.0, -1.0, 0.0, 0.0, 1.0, 2.0], 20)
    z = np.random.default_rng(3).normal(size=x.size)
    quasi = detect_separation(_with_constant(x=x, z=z), np.repeat([0, 0, 0, 1, 1, 1], 20))
    collinear = detect_separation(sm.add_constant(frame.assign(twice=2 * frame["size"])), y)
    assert quasi.kind == "quasi-complete" and collinear.kind == "none" and len(calls) == 1 + 2 + 2


def test_skipping_konis_program_finds_what_it_would_find_on_rows_a_hair_off_the_separating_line(monkeypatch):
    from tiktok_claims.model import separation

    # x + 2z separates the classes but for four rows on the line x + 2z = 0, each moved 1e-8
    # off it: overlapping in exact arithmetic, quasi-completely separated within the linear
    # programs' tolerance, as Konis' program finds.
    hair = 1e-8
    x = np.array([-2.8 + hair, 3, -2, -2 - hair, -0.8 + hair, -2, 1, -3, 2.8 - hair])
    z = np.array([1.4 + hair, -3, -2, 1 - hair, 0.4 - hair, 3, 1, -2, -1.4 - hair])
    y = np.array([0, 0, 0, 1, 0, 1, 1, 0, 1])
    design = _with_constant(x=x, z=z)
    skipping = detect_separation(design, y)
    monkeypatch.setattr(separation, "_balanced", lambda signed, weights: False)
    solved = detect_separation(design, y)

    assert solved.kind == "quasi-complete"
    assert (skipping.kind, skipping.infinite) == (solved.kind, solved.infinite)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=4, max_size=14),
    st.lists(st.tuples(st.sampled_from([-1, 1]), st.sampled_from([-1, 1])), min_size=2, max_size=4),
    st.integers(6, 11),
)
def test_skipping_konis_program_agrees_with_solving_it_near_a_separating_line(points, moves, digits):
    from unittest import mock

    from tiktok_claims.model import separation

    # x + 2z separates the classes but for rows of both classes on the line x + 2z = 0, each
    # moved a hair (10^-digits) off it.
    xz = np.array(points, dtype=float)
    y = (xz @ [1.0, 2.0] > 0).astype(int)
    on_line = np.array([[-2.0 * t, t] for t in np.linspace(-1.5, 1.5, len(moves))])
    xz = np.vstack([xz, on_line + np.array(moves) * 10.0**-digits])
    y = np.concatenate([y, np.arange(len(moves)) % 2])
    design = _with_constant(x=xz[:, 0], z=xz[:, 1])
    skipping = detect_separation(design, y)
    with mock.patch.object(separation, "_balanced", lambda signed, weights: False):
        solved = detect_separation(design, y)

    assert (skipping.kind, skipping.infinite, skipping.misclassified) == (solved.kind, solved.infinite, solved.misclassified)


def test_separation_refuses_a_single_class():
    with pytest.raises(AnalysisError, match="both classes"):
        detect_separation(_with_constant(x=[1.0, 2.0, 3.0]), [1, 1, 1])


def test_claim_status_on_engagement_counts_nearly_separates(real_dataset):
    frame = real_dataset.frame
    counts = frame[list(config.COUNT_COLUMNS)].astype(float)
    design = sm.add_constant((counts - counts.mean()) / counts.std())
    found = detect_separation(design, (frame[config.CLAIM] == "claim").astype(int))
    assert found.kind in ("near", "quasi-complete", "complete")
    assert found.misclassified_share < 0.02
    assert found.leading_predictor == config.VIEWS


# ---------------------------------------------------------------- separation at scale


def _design(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(n), rng.normal(size=(n, 3))])
    return pd.DataFrame(x, columns=["const", "a", "b", "c"]), rng


def test_subsampled_separation_check_agrees_with_the_exact_one():
    design, rng = _design(12_000)
    overlapping = (rng.random(12_000) < 1 / (1 + np.exp(-(design["a"] - 1)))).astype(int)
    separated = (design["a"] + 0.5 * design["b"] > 0.3).astype(int).to_numpy()
    for y, kind in ((overlapping, "none"), (separated, "complete")):
        exact = detect_separation(design, y, max_rows=None)
        sampled = detect_separation(design, y, max_rows=3_000)
        assert exact.kind == sampled.kind == kind
        assert exact.sampled == 0 and 3_000 <= sampled.sampled < 12_000 and sampled.n == 12_000
        if kind == "complete":  # proven on every row by the rule found on the (grown) subsample
            margins = design.to_numpy() / np.abs(design.to_numpy()).max(axis=0) @ sampled.rule.to_numpy()
            assert np.all(np.where(y == 1, margins, -margins) > 0)
    # The subsample's rule is counted over every row, so it cannot beat the exact optimum by much.
    exact, sampled = detect_separation(design, overlapping, max_rows=None), detect_separation(design, overlapping, max_rows=3_000)
    assert abs(sampled.misclassified - exact.misclassified) < 0.02 * 12_000


def test_quasi_complete_separation_found_from_a_subsample_is_verified_on_every_row():
    design, rng = _design(12_000, seed=1)
    design["group"] = (rng.random(12_000) < 0.2).astype(float)
    y = (rng.random(12_000) < 0.3).astype(int)
    y[design["group"].to_numpy() == 1] = 0  # no event in the group: its estimate is infinite
    sampled = detect_separation(design, y, max_rows=3_000)
    assert sampled.kind == "quasi-complete" and "group" in sampled.infinite


def test_a_nearly_separated_design_is_not_called_complete_from_a_subsample():
    design, rng = _design(12_000, seed=2)
    y = np.array(design["a"] > 0, dtype=int)
    flipped = rng.choice(12_000, size=5, replace=False)
    y[flipped] = 1 - y[flipped]  # five rows on the wrong side: not separable, nearly so
    sampled = detect_separation(design, y, max_rows=3_000)
    exact = detect_separation(design, y, max_rows=None)
    assert sampled.kind == exact.kind == "near"
    # Counted over every row with the subsample's rule: at least the exact optimum's few, never many more.
    assert 1 <= sampled.misclassified <= exact.misclassified + 0.002 * 12_000
