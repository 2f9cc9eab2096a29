"""Separation of the classes by a linear rule, detected from the design alone, before any fit.

Under complete or quasi-complete separation the maximum-likelihood estimates of a
logistic regression are infinite; under near separation they exist but rest on a handful
of rows. :func:`detect_separation` tells which, with two linear programs, so that the fit
can choose Firth's penalized likelihood (:mod:`tiktok_claims.model.firth`) instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from threadpoolctl import threadpool_limits

from ..errors import AnalysisError
from .design import DesignRows

# Overlapping classes that a linear rule splits with fewer wrong rows than this share
# are "nearly separated": the estimates exist but rest on those few rows.
NEAR_SEPARATION_SHARE = 0.02
# |direction| above this marks a coefficient whose estimate is infinite (as in R's
# detectseparation, on columns scaled to a maximum absolute value of 1).
SEPARATION_TOLERANCE = 1e-3
# Class-averaged hinge loss at or below this counts as zero: complete separation.
HINGE_TOLERANCE = 1e-9
# Above this many rows the linear programs (whose cost grows faster than the rows: the
# robust one takes about 0.1 s on 20,000 rows, 0.5 s on 50,000) are solved on a
# stratified random subsample and their answers verified on every row. The real data
# (19,084 rows) and the synthetic default are below it: solved exactly.
SEPARATION_MAX_ROWS = 20_000
# Rounds of adding a subsample rule's misclassified rows before deciding on every row.
SEPARATION_ROUNDS = 5
# Konis' program, solved by HiGHS, accepts rows down to its feasibility tolerance (1e-7) below
# zero: rows that far off a separating hyperplane count as on it (its direction has a
# coefficient of 1). The proof that spares the program must hold for every design whose
# scaled rows are within this of the rows given (entrywise): ten times that tolerance.
ROW_WOBBLE = 1e-6


@dataclass(frozen=True)
class Separation:
    """Whether a direction in the predictors separates the classes, found by linear programs.

    Attributes
    ----------
    kind : {"none", "near", "quasi-complete", "complete"}
        ``complete``: a hyperplane puts every row strictly on its class's side;
        ``quasi-complete``: every row on its side or on the hyperplane; ``near``: the
        classes overlap, but a linear rule misclassifies fewer than
        ``NEAR_SEPARATION_SHARE`` of the rows; ``none``: the classes overlap.
    direction : Series
        The separating direction of Konis' linear program, per design column (columns
        scaled to a maximum absolute value of 1); all zero when there is none.
    rule : Series
        Coefficients of the robust linear program's rule, on the same scaled columns;
        the largest non-constant one names the predictor that (nearly) separates.
    infinite : tuple of str
        Coefficients whose maximum-likelihood estimates are infinite.
    misclassified : int
        Rows on the wrong side of the linear rule found by the robust linear program.
    n : int
        Rows checked.
    hinge : float
        The robust linear program's optimum (class-averaged hinge loss); zero exactly
        under complete separation.
    sampled : int
        Rows of the subsample the linear programs were solved on (0: every row); the
        answers are verified on all ``n`` rows.
    """

    kind: str
    direction: pd.Series = field(repr=False)
    rule: pd.Series = field(repr=False)
    infinite: tuple[str, ...]
    misclassified: int
    n: int
    hinge: float
    sampled: int = 0

    @property
    def misclassified_share(self) -> float:
        return self.misclassified / self.n

    @property
    def leading_predictor(self) -> str:
        """The non-constant design column with the largest weight in the linear rule."""
        weights = self.rule.drop(labels=["const"], errors="ignore").abs()
        return str(weights.idxmax())

    @property
    def use_penalized(self) -> bool:
        """True when the maximum-likelihood estimates are infinite or rest on few rows."""
        return self.kind != "none"


def detect_separation(
    design: pd.DataFrame | np.ndarray | DesignRows,
    y,
    max_rows: int | None = SEPARATION_MAX_ROWS,
    scan: tuple[DesignRows, np.ndarray] | None = None,
) -> Separation:
    """Detect complete, quasi-complete and near separation before any fit.

    Two linear programs (``scipy.optimize.linprog``, HiGHS) on the design (with its
    constant), each column first scaled to a maximum absolute value of 1 (separation
    does not depend on the columns' scales). With ``s = +1`` for events and ``-1``
    otherwise and ``X̄ = s·X``:

    1. Konis (2007), as in R's safeBinaryRegression and detectseparation: maximize
       ``1ᵀX̄β`` subject to ``X̄β ≥ 0`` and ``-1 ≤ β ≤ 1``. The optimum is ``β = 0``
       unless some direction separates the classes (completely or quasi-completely);
       the coefficients with ``|β| > SEPARATION_TOLERANCE`` have infinite estimates.
    2. Bennett and Mangasarian's (1992) robust linear program: minimize the
       class-averaged hinge loss ``Σ w_i max(0, 1 - X̄_iβ)``, solved through its dual
       (``p`` equality constraints, fast for many rows). It is zero exactly under
       complete separation; otherwise its rule ``X̄β > 0`` counts the rows a linear
       rule gets wrong, which measures how nearly the classes separate.

    The robust program is solved first. When the classes overlap, its dual solution
    weighs the rows the rule gets wrong or nearly so; if those weights, corrected
    exactly, are strictly positive and the weighted rows span every column (proven with
    the rounding errors bounded, by ``_balanced``), no direction separates the rows
    (Stiemke's lemma) and Konis' program, whose answer would be ``β = 0``, is not solved.

    Above ``max_rows`` rows (``None``: no limit), both programs run on a stratified random
    subsample of that size (seeded) and their answers are checked on every row: a
    subsample's separating hyperplane counts only if it separates all rows, a
    subsample's direction only if no row lies on its wrong side, and the rows
    misclassified by the subsample's rule are counted over all rows. A subsample that
    does not separate proves the whole file does not; when it does, the rows its rule
    gets wrong are added and the program solved again, so complete separation is decided
    exactly. The one thing the subsample can miss is a quasi-complete separation that no
    sampled row touches.

    ``design`` is a DataFrame, an array or a :class:`~tiktok_claims.model.design.DesignRows`
    view (e.g. the training rows of a shared design); the checks on every row read it a
    block at a time, so only the subsample is ever copied. Those checks do not depend on
    the order of the rows: ``scan``, the same rows in another order with their outcomes
    (e.g. the order of the shared design, read sequentially), serves them when given.

    Returns
    -------
    Separation

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1, 0.0], [1, 1.0], [1, 2.0], [1, 3.0]])
    >>> detect_separation(x, np.array([0, 0, 1, 1])).kind
    'complete'
    """
    rows_of = design if isinstance(design, DesignRows) else DesignRows.of(design)
    y = _outcome(y)
    scan_rows, scan_y = (rows_of, y) if scan is None else (scan[0], _outcome(scan[1]))
    if len(y) != len(rows_of) or len(scan_y) != len(scan_rows) or len(scan_rows) != len(rows_of):
        raise AnalysisError(f"the outcome has {len(y):,} values for {len(rows_of):,} design rows.")
    with threadpool_limits(limits=1, user_api="blas"):  # p-wide products: one thread is fastest
        return _detect(rows_of, y, max_rows, scan_rows, scan_y)


def _detect(rows_of: DesignRows, y: np.ndarray, max_rows: int | None, scan_rows: DesignRows, scan_y: np.ndarray) -> Separation:
    if not (np.any(y == 0) and np.any(y == 1) and np.all((y == 0) | (y == 1))):
        raise AnalysisError("separation is defined for a 0/1 outcome with both classes present.")
    scale = np.zeros(rows_of.width)
    for _, block in scan_rows.blocks():
        np.maximum(scale, np.abs(scan_rows.mapped(block)).max(axis=0), out=scale)
    if np.any(scale == 0):
        raise AnalysisError("the design has a column of zeros; separation cannot be assessed.")

    def signed(rows: np.ndarray | None) -> np.ndarray:
        """Rows of the scaled design times each row's sign (``X̄``); ``None``: every row."""
        outcome = y if rows is None else y[rows]
        return rows_of.take(rows) / scale * np.where(outcome == 1, 1.0, -1.0)[:, None]

    def margins(beta: np.ndarray, view: DesignRows, outcome: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
        """``X̄β = s·(X(β / scale))`` a block of rows at a time: no copy of the design, no vector per row."""
        along = beta / scale if view.matrix is None else view.matrix @ (beta / scale)
        for rows, block in view.blocks():
            yield rows, (block @ along) * np.where(outcome[rows] == 1, 1.0, -1.0)

    n, p = len(rows_of), rows_of.width
    sample = None if max_rows is None else _separation_sample(y, max_rows)
    first = signed(sample)

    rows, part = (np.arange(n) if sample is None else sample), first
    for _ in range(SEPARATION_ROUNDS):
        hinge, rule, weights = _robust_rule(part, y[rows])
        wrong = sum(int(np.count_nonzero(along <= 0.0)) for _, along in margins(rule, scan_rows, scan_y))
        # A subsample that does not separate proves the whole design does not; one that
        # does must separate every row by its rule, else its wrong rows join it and the
        # program is solved again (constraint generation).
        if sample is None or hinge > HINGE_TOLERANCE or wrong == 0:
            break
        found = [block_rows.start + np.flatnonzero(along <= 0.0) for block_rows, along in margins(rule, rows_of, y)]
        rows = np.union1d(rows, np.concatenate(found))
        part = signed(rows)
    else:
        return _detect(rows_of, y, None, scan_rows, scan_y)
    misclassified = 0 if hinge <= HINGE_TOLERANCE else wrong
    m = len(rows)

    # Positive weights that balance the rows of Konis' program prove it would find no
    # direction (Stiemke's lemma), so it is not solved. Not after constraint generation:
    # Konis' program stays on the first subsample, its direction checked on every row.
    if hinge > HINGE_TOLERANCE and part is first and _balanced(first, weights):
        direction = np.zeros(p)
    else:
        konis = linprog(
            -first.sum(axis=0), A_ub=-first, b_ub=np.zeros(len(first)), bounds=[(-1.0, 1.0)] * p, method="highs"
        )
        if konis.status != 0:
            raise AnalysisError(f"the separation linear program failed: {konis.message}")
        # A direction that puts no row strictly on its side lies in the design's null space
        # (collinear columns), not a separation; from a subsample, it must also put no row
        # of the whole design on its wrong side.
        largest, smallest = -np.inf, np.inf
        for _, along in margins(konis.x, scan_rows, scan_y):
            largest, smallest = max(largest, float(along.max())), min(smallest, float(along.min()))
        separating = largest > SEPARATION_TOLERANCE and smallest >= -SEPARATION_TOLERANCE
        direction = np.where(separating & (np.abs(konis.x) > SEPARATION_TOLERANCE), konis.x, 0.0)

    if hinge <= HINGE_TOLERANCE:
        kind = "complete"
    elif np.any(direction != 0):
        kind = "quasi-complete"
    elif misclassified < NEAR_SEPARATION_SHARE * n:
        kind = "near"
    else:
        kind = "none"
    names = list(rows_of.names)
    return Separation(
        kind=kind,
        direction=pd.Series(direction, index=names, name="direction"),
        rule=pd.Series(rule, index=names, name="rule"),
        infinite=tuple(name for name, d in zip(names, direction) if d != 0),
        misclassified=misclassified,
        n=n,
        hinge=hinge,
        sampled=0 if sample is None else m,
    )


def _outcome(y) -> np.ndarray:
    """``y`` as integers: integer and boolean arrays as they are (no copy), anything else as int64."""
    values = np.asarray(y)
    return values if values.dtype.kind in "biu" else values.astype(np.int64)


def _robust_rule(signed: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Bennett and Mangasarian's robust linear program, through its dual: (hinge loss, rule, dual weights)."""
    m, p = signed.shape
    weights = np.where(y == 1, 1.0 / np.sum(y == 1), 1.0 / np.sum(y == 0))
    robust = linprog(
        -np.ones(m), A_eq=signed.T, b_eq=np.zeros(p), bounds=np.column_stack([np.zeros(m), weights]), method="highs"
    )
    if robust.status != 0:
        raise AnalysisError(f"the separation linear program failed: {robust.message}")
    return float(-robust.fun), -np.asarray(robust.eqlin.marginals), np.asarray(robust.x)


def _balanced(signed: np.ndarray, weights: np.ndarray) -> bool:
    """Whether it is proven that no ``β ≠ 0`` has ``signed @ β ≥ 0``: no direction separates these rows.

    ``weights`` (the robust program's dual solution, ``≥ 0``) balance the rows up to the
    solver's tolerance. On the rows ``S`` where they are positive (``A`` those rows,
    ``u`` their weights, ``G = Aᵀ diag(u) A``, ``r = Aᵀu``), ``v = u ⊙ (1 - A G⁻¹ r)``
    balances them exactly (``Aᵀv = 0``), and is strictly positive when ``|a_iᵀ G⁻¹ r| < 1``
    for every row of ``S``. Then any ``β`` with ``signed @ β ≥ 0`` has ``vᵀ(Aβ) = 0``,
    so ``Aβ = 0`` (Stiemke's lemma), so ``β = 0`` as ``G`` is positive definite.

    Both conditions are tested on computed quantities widened by their rounding errors
    (``γ_k`` for the floating-point sums, a generous backward error for the symmetric
    eigensolver): ``λ_min(G)`` must stay positive, and ``√p · max|A| · ‖r‖ / λ_min(G)``,
    which bounds ``|a_iᵀ G⁻¹ r|``, below 1/2.

    Both must also hold with every row moved by up to ``ROW_WOBBLE`` (``δ``) per column, as
    Konis' program, solved within its tolerance, finds a direction for rows a hair off a
    separating hyperplane: ``λ_min(G)`` less ``2δ √(p Σu λ_max(G)) + p δ² Σu``, ``max|A|``
    plus ``δ``, and ``‖r‖`` plus ``√p δ Σu`` bound what those rows give. False means only
    "not proven".
    """
    held = weights > 0
    rows, u = signed[held], weights[held]
    k, p = rows.shape
    eps = np.finfo(np.float64).eps
    if k < p or (k + 2) * eps >= 0.01:
        return False
    gamma = (k + 2) * eps / (1 - (k + 2) * eps)  # rounding of a sum of k products (and the product u·a)
    largest = float(np.abs(rows).max())
    total = float(u.sum()) * (1 + gamma)
    eigenvalues = np.linalg.eigvalsh((rows * u[:, None]).T @ rows)
    smallest = eigenvalues[0] - p * gamma * largest**2 * total - 1e3 * p * eps * abs(eigenvalues[-1])
    if not smallest > 1e-10 * abs(eigenvalues[-1]):
        return False
    residual = float(np.linalg.norm(rows.T @ u)) * (1 + 4 * p * eps) + np.sqrt(p) * gamma * largest * total
    # The same bounds for the rows moved by up to ROW_WOBBLE.
    wobble = ROW_WOBBLE
    smallest -= 2 * wobble * np.sqrt(p * total * abs(eigenvalues[-1]) * (1 + 1e3 * p * eps)) + p * wobble**2 * total
    if not smallest > 0:
        return False
    largest, residual = largest + wobble, residual + np.sqrt(p) * wobble * total
    return bool(np.sqrt(p) * largest * residual / smallest < 0.5)


def _separation_sample(y: np.ndarray, max_rows: int) -> np.ndarray | None:
    """Row positions of a stratified random subsample of ``max_rows`` rows (None: use all)."""
    n = len(y)
    if n <= max_rows:
        return None
    rng = np.random.default_rng(0)
    chosen = []
    for label in (0, 1):
        rows = np.flatnonzero(y == label)
        take = max(1, round(max_rows * len(rows) / n))
        chosen.append(rng.choice(rows, size=min(take, len(rows)), replace=False))
    return np.sort(np.concatenate(chosen))
