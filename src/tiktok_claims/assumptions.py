"""Checks of the logistic regression's assumptions, each with a verdict and a remedy.

Every check returns a :class:`Check`: a statistic, a p-value where there is one, the
threshold that decides the verdict (``pass``, ``warn`` or ``fail``), the consequence
in one plain sentence and a remedy. :func:`check_logistic` runs the whole checklist
on a fitted inference model and also returns the tidy tables a report plots.

Separation is detected from the design matrix alone (:func:`detect_separation`), so
it can run before any fit; :func:`fit_penalized_fallback` is the fit to use when the
maximum-likelihood estimates do not exist or are unstable.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import config
from .eda import duplicates
from .errors import AnalysisError
from .features import FeatureSpec, as_entered, build_preprocessor, vif_table

VERDICTS = ("pass", "warn", "fail")
ALPHA = 0.05
VIF_WARN = config.VIF_LIMIT
VIF_FAIL = 10.0
EPV_FAIL = 10.0
EPV_WARN = 20.0
# Cook's distance above COOKS_MULTIPLIER / n marks a row as influential.
COOKS_MULTIPLIER = 4.0
# The refit leaves out the influential rows, but never more than this share of rows.
REFIT_MAX_SHARE = 0.01
TOP_INFLUENTIAL = 10
HL_GROUPS = 10
EMPIRICAL_LOGIT_BINS = 10
# McFadden (1979): values of 0.2 to 0.4 represent an excellent fit.
PSEUDO_R2_WARN = 0.1
# Overlapping classes that a linear rule splits with fewer wrong rows than this share
# are "nearly separated": the estimates exist but rest on those few rows.
NEAR_SEPARATION_SHARE = 0.02
# |direction| above this marks a coefficient whose estimate is infinite (as in R's
# detectseparation, on columns scaled to a maximum absolute value of 1).
SEPARATION_TOLERANCE = 1e-3
# Class-averaged hinge loss at or below this counts as zero: complete separation.
HINGE_TOLERANCE = 1e-9
# Above this many rows the linear programs (whose cost grows faster than the rows) are
# solved on a stratified random subsample and their answers verified on every row.
SEPARATION_MAX_ROWS = 50_000
# Rounds of adding a subsample rule's misclassified rows before deciding on every row.
SEPARATION_ROUNDS = 5
# Box-Tidwell curvature is measured between these percentiles of each predictor.
CURVATURE_RANGE = (1.0, 99.0)
NEWTON_MAX_ITER = 100


@dataclass(frozen=True)
class Check:
    """One assumption check: its number, the rule that judged it, and what follows.

    Attributes
    ----------
    name : str
        Short, stable label (e.g. ``"Multicollinearity (VIF)"``).
    statistic : float or None
        The number the verdict rests on; ``threshold`` says what it is.
    p_value : float or None
        The p-value, for checks that are tests.
    threshold : str
        The statistic's name and the rule, e.g. ``"max VIF: warn > 5, fail > 10"``.
    verdict : {"pass", "warn", "fail"}
    consequence : str
        What the finding means for the analysis, in one plain sentence.
    remedy : str
        What to do about it, in one sentence.
    details : DataFrame or None
        The tidy table behind the statistic (not part of :meth:`to_record`).
    """

    name: str
    statistic: float | None
    p_value: float | None
    threshold: str
    verdict: str
    consequence: str
    remedy: str
    details: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}; got {self.verdict!r}.")

    def to_record(self) -> dict:
        """JSON-safe dict of everything but ``details`` (non-finite numbers become ``None``)."""
        return {
            "name": self.name,
            "statistic": _finite_or_none(self.statistic),
            "p_value": _finite_or_none(self.p_value),
            "threshold": self.threshold,
            "verdict": self.verdict,
            "consequence": self.consequence,
            "remedy": self.remedy,
        }


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


@dataclass(frozen=True)
class PenalizedFit:
    """A Firth-penalized logistic regression: finite estimates even under separation.

    ``table`` has one row per design column: ``name, coef, se, z, p_value, ci_low,
    ci_high`` (Wald, from the inverse Fisher information at the penalized estimate).
    """

    table: pd.DataFrame
    method: str
    converged: bool
    iterations: int
    penalized_log_likelihood: float


@dataclass(frozen=True)
class LogisticChecks:
    """The checklist of one fitted logistic regression and the tables behind it.

    Attributes
    ----------
    checks : list of Check
        In reading order: outcome, independence, multicollinearity, linearity,
        influence, events per variable, separation, Hosmer-Lemeshow, McFadden
        pseudo-R², likelihood-ratio test.
    vif : DataFrame
        ``feature, vif`` of the final design.
    box_tidwell : DataFrame
        ``predictor, shift, coef, se, z, p_value, p_adjusted, curvature`` per continuous
        predictor.
    empirical_logit : DataFrame
        ``predictor, bin, n, events, x_low, x_high, x_mean, logit, model_logit``.
    influence : DataFrame
        ``row, video_id, y, p_hat, cooks_d, leverage, std_resid`` for every training row.
    influential : DataFrame
        The ``TOP_INFLUENTIAL`` rows of ``influence`` with the largest Cook's distance.
    refit_shift : DataFrame
        ``name, coef, se, coef_refit, shift_se, sign_change`` after leaving out the
        influential rows (empty when none exceeds the threshold or the refit failed).
    hosmer_lemeshow : DataFrame
        ``group, n, p_mean, observed, expected`` per decile of predicted probability.
    separation : Separation
    penalized : PenalizedFit or None
        The Firth fit, computed when ``separation.use_penalized``.
    """

    checks: list[Check]
    vif: pd.DataFrame = field(repr=False)
    box_tidwell: pd.DataFrame = field(repr=False)
    empirical_logit: pd.DataFrame = field(repr=False)
    influence: pd.DataFrame = field(repr=False)
    influential: pd.DataFrame = field(repr=False)
    refit_shift: pd.DataFrame = field(repr=False)
    hosmer_lemeshow: pd.DataFrame = field(repr=False)
    separation: Separation = field(repr=False)
    penalized: PenalizedFit | None = field(repr=False, default=None)

    def records(self) -> list[dict]:
        """The checklist as JSON-safe dicts (for ``metrics.json``)."""
        return [check.to_record() for check in self.checks]


def check_logistic(
    train: pd.DataFrame, y_train: pd.Series, spec: FeatureSpec, inference, separation: Separation | None = None
) -> LogisticChecks:
    """Run the logistic-regression checklist on a fitted inference model.

    Parameters
    ----------
    train : DataFrame
        The training rows, with every column of the schema.
    y_train : Series
        The 0/1 target of ``train`` (1 = positive class).
    spec : FeatureSpec
        The predictors the model uses.
    inference : statsmodels LogitResults
        The unweighted Logit fitted on the standardized design with a constant
        (``FittedModel.inference``); its design matrix is reused for every check.
        Under separation it is the Firth fit (:class:`tiktok_claims.penalized.FirthInference`).
    separation : Separation, optional
        The result of :func:`detect_separation` on the same design, when the caller
        has it already (``FittedModel.separation``); computed here otherwise.

    Returns
    -------
    LogisticChecks

    Examples
    --------
    >>> spec = select_features(train, "verified_status")  # doctest: +SKIP
    >>> model = fit(train, y_train, spec, balance="none", seed=42)  # doctest: +SKIP
    >>> checks = check_logistic(train, y_train, spec, model.inference)  # doctest: +SKIP
    >>> [(c.name, c.verdict) for c in checks.checks]  # doctest: +SKIP
    """
    design = _design_of(inference, train.index)
    y = y_train.loc[design.index].astype("int64")
    if not np.array_equal(y.to_numpy(), np.asarray(inference.model.endog, dtype="int64")):
        raise AnalysisError("y_train does not match the outcome the inference model was fitted on.")

    vif = vif_table(train, spec.continuous, spec.categorical, spec.log1p)
    box_tidwell_table = box_tidwell(train, spec, design, y)
    influence = influence_table(design, y, inference)
    influence.insert(1, config.VIDEO_ID, train.loc[design.index, config.VIDEO_ID].to_numpy())
    influential = influence.nlargest(TOP_INFLUENTIAL, "cooks_d").reset_index(drop=True)
    refit_shift, refit_note = refit_without_influential(design, y, inference, influence["cooks_d"].to_numpy())
    p_hat = np.asarray(inference.predict(design), dtype=float)
    hl_table, hl_statistic, hl_df, hl_p = hosmer_lemeshow(y.to_numpy(), p_hat)
    separation = detect_separation(design, y) if separation is None else separation
    penalized = fit_penalized_fallback(design, y) if separation.use_penalized else None

    checks = [
        _outcome_check(train[spec.target], y),
        _independence_check(train),
        _vif_check(vif, spec),
        _linearity_check(box_tidwell_table),
        _influence_check(influence, refit_shift, refit_note),
        _epv_check(y, design),
        _separation_check(separation),
        _hosmer_lemeshow_check(hl_table, hl_statistic, hl_df, hl_p),
        _pseudo_r2_check(inference),
        _likelihood_ratio_check(inference),
    ]
    return LogisticChecks(
        checks=checks,
        vif=vif,
        box_tidwell=box_tidwell_table,
        empirical_logit=empirical_logits(train, y, spec.continuous, p_hat, log1p=spec.log1p),
        influence=influence,
        influential=influential,
        refit_shift=refit_shift,
        hosmer_lemeshow=hl_table,
        separation=separation,
        penalized=penalized,
    )


def _design_of(inference, index: pd.Index) -> pd.DataFrame:
    design = pd.DataFrame(
        np.asarray(inference.model.exog, dtype=float),
        index=inference.model.data.row_labels,
        columns=list(inference.model.exog_names),
    )
    if "const" not in design.columns:
        raise AnalysisError("the inference model has no 'const' column; fit it on a design with a constant.")
    if not design.index.equals(index):
        raise AnalysisError(
            f"the inference model was fitted on {len(design)} rows that are not the {len(index)} training rows given."
        )
    return design


# --- statistics -----------------------------------------------------------------------


def box_tidwell(train: pd.DataFrame, spec: FeatureSpec, design: pd.DataFrame, y: pd.Series) -> pd.DataFrame:
    """Box-Tidwell test of linearity in the log-odds for every continuous predictor.

    One Logit with the model's predictors on their raw scale plus ``(x + s)·ln(x + s)``
    for each continuous predictor ``x`` (``s = 1 - min(x)`` when ``x`` has zeros or
    negative values, else 0), all terms at once. A term's Wald test asks whether the
    log-odds bend with ``x``; Bonferroni adjusts across predictors. ``x`` is the
    predictor as it enters the model: ``log1p(count)`` for the columns in
    ``spec.log1p`` (``transform`` says which), so the test asks whether the remedy
    straightened the log-odds.

    Each column is centred and scaled before the fit: with an intercept in the model
    this changes no Wald z of any term, and it keeps Newton's method stable on counts
    of a million. ``coef`` and ``se`` are reported per raw unit of ``(x + s)·ln(x + s)``.
    ``curvature`` is the magnitude: the largest gap, in log-odds, between the fitted
    curve and the straight line joining its ends between the 1st and 99th percentiles
    of ``x``.

    Returns
    -------
    DataFrame
        ``predictor, transform, shift, coef, se, z, p_value, p_adjusted, curvature``
        (``transform`` is ``"log1p"`` or ``"none"``); empty when there are no
        continuous predictors.
    """
    columns = ["predictor", "transform", "shift", "coef", "se", "z", "p_value", "p_adjusted", "curvature"]
    continuous = list(spec.continuous)
    if not continuous:
        return pd.DataFrame(columns=columns)
    raw = as_entered(train.loc[design.index], continuous, spec.log1p)
    shifts = {c: (1.0 - float(raw[c].min())) if raw[c].min() <= 0 else 0.0 for c in continuous}
    terms = pd.DataFrame({f"{c}_xlnx": _xlnx(raw[c] + shifts[c]) for c in continuous}, index=design.index)
    others = design.drop(columns=["const", *continuous])
    full = pd.concat([raw, others, terms], axis=1)
    spread = full.std(ddof=0)
    constant = spread[spread == 0].index.tolist()
    if constant:
        raise AnalysisError(f"Box-Tidwell: {', '.join(constant)} take a single value in the training rows.")
    standardized = (full - full.mean()) / spread
    standardized.insert(0, "const", 1.0)
    result, usable = _fit_logit(y, standardized)
    rows = []
    for c in continuous:
        term = f"{c}_xlnx"
        scale = float(spread[term])
        coef = float(result.params[term]) / scale if usable else math.nan
        se = float(result.bse[term]) / scale if usable else math.nan
        p_value = float(result.pvalues[term]) if usable else math.nan
        rows.append(
            {
                "predictor": c,
                "transform": "log1p" if c in spec.log1p else "none",
                "shift": shifts[c],
                "coef": coef,
                "se": se,
                "z": float(result.tvalues[term]) if usable else math.nan,
                "p_value": p_value,
                "p_adjusted": float(np.minimum(1.0, p_value * len(continuous))),
                "curvature": abs(coef) * _chord_gap(raw[c].to_numpy() + shifts[c]),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _xlnx(x: pd.Series) -> pd.Series:
    return x * np.log(x)


def _chord_gap(x: np.ndarray) -> float:
    """Largest gap between x·ln(x) and its chord over the CURVATURE_RANGE percentiles of x."""
    low, high = np.percentile(x, CURVATURE_RANGE)
    if high <= low:
        return 0.0
    grid = np.linspace(low, high, 201)
    curve = grid * np.log(grid)
    chord = curve[0] + (curve[-1] - curve[0]) * (grid - low) / (high - low)
    return float(np.max(chord - curve))


def empirical_logits(
    train: pd.DataFrame, y: pd.Series, continuous, p_hat: np.ndarray, bins: int = EMPIRICAL_LOGIT_BINS, log1p=()
) -> pd.DataFrame:
    """Observed log-odds per decile of each continuous predictor, beside the model's.

    ``logit = ln((events + 0.5) / (n - events + 0.5))`` (the 0.5 keeps empty classes
    finite); ``model_logit`` is the log-odds of the mean fitted probability in the bin.
    Tied values (e.g. many zero counts) merge deciles, so a predictor can have fewer bins.
    ``x_low, x_high, x_mean`` are in the predictor's own units; ``x_entered_mean`` is the
    bin's mean of the predictor as it enters the model (``log1p(x)`` for the columns in
    ``log1p``, whose deciles are the same), against which a linear model's log-odds are
    a straight line.

    Returns
    -------
    DataFrame
        ``predictor, bin, n, events, x_low, x_high, x_mean, x_entered_mean, logit, model_logit``.
    """
    frames = []
    for column in continuous:
        x = train.loc[y.index, column].astype(float)
        codes = pd.qcut(x, bins, labels=False, duplicates="drop")
        entered = as_entered(train.loc[y.index], [column], log1p)[column]
        grouped = pd.DataFrame(
            {"x": x, "entered": entered, "y": y, "p": np.asarray(p_hat, dtype=float), "bin": codes}
        ).groupby("bin")
        table = grouped.agg(
            n=("y", "size"), events=("y", "sum"), x_low=("x", "min"), x_high=("x", "max"),
            x_mean=("x", "mean"), x_entered_mean=("entered", "mean"), p_mean=("p", "mean"),
        ).reset_index()
        table["logit"] = np.log((table["events"] + 0.5) / (table["n"] - table["events"] + 0.5))
        table["model_logit"] = np.log(table["p_mean"] / (1 - table["p_mean"]))
        frames.append(table.drop(columns="p_mean").assign(predictor=column))
    columns = ["predictor", "bin", "n", "events", "x_low", "x_high", "x_mean", "x_entered_mean", "logit", "model_logit"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def influence_table(design: pd.DataFrame, y: pd.Series, inference) -> pd.DataFrame:
    """Cook's distance, leverage and standardized Pearson residual of every row.

    From statsmodels' ``GLM(Binomial).get_influence()`` on the inference model's
    design, started at its estimates (the same maximum-likelihood fit):
    ``std_resid = (y - p) / sqrt(p (1 - p) (1 - h))`` and
    ``cooks_d = std_resid² h / (k (1 - h))`` with ``k`` parameters.

    Returns
    -------
    DataFrame
        ``row, y, p_hat, cooks_d, leverage, std_resid``; ``row`` is the training
        frame's index label (the source line).
    """
    import statsmodels.api as sm

    glm = sm.GLM(y.to_numpy(dtype=float), design.to_numpy(), family=sm.families.Binomial())
    with warnings.catch_warnings():
        # Under near separation some fitted probabilities are 0 or 1 to machine
        # precision: statsmodels flags perfect prediction and divides zero by zero, and
        # those rows' residuals and distances come out as 0, their limits.
        for category in _statsmodels_fit_warnings():
            warnings.simplefilter("ignore", category=category)
        result = glm.fit(start_params=np.asarray(inference.params, dtype=float))
        # The expected information (weights p(1-p)) equals the observed one for the
        # logit link and stays finite when a fitted probability is exactly 0 or 1.
        influence = result.get_influence(observed=False)
        cooks_d = np.asarray(influence.cooks_distance[0])
        leverage = np.asarray(influence.hat_matrix_diag)
        std_resid = np.asarray(influence.resid_studentized)
    return pd.DataFrame(
        {
            "row": design.index.to_numpy(),
            "y": y.to_numpy(),
            "p_hat": np.asarray(result.fittedvalues),
            "cooks_d": cooks_d,
            "leverage": leverage,
            "std_resid": std_resid,
        }
    )


def refit_without_influential(
    design: pd.DataFrame, y: pd.Series, inference, cooks_d: np.ndarray
) -> tuple[pd.DataFrame, str]:
    """Refit the Logit without the rows whose Cook's distance exceeds 4/n.

    At most ``REFIT_MAX_SHARE`` of the rows (those with the largest distance) are left
    out. Each coefficient's shift is measured in its original standard errors; a sign
    change counts only for coefficients significant at ``ALPHA`` in the original fit.

    Returns
    -------
    (DataFrame, str)
        ``name, coef, se, coef_refit, shift_se, sign_change`` (empty when no row
        exceeds the threshold or the refit failed) and a sentence on what was done.
    """
    columns = ["name", "coef", "se", "coef_refit", "shift_se", "sign_change"]
    n = len(design)
    limit = COOKS_MULTIPLIER / n
    above = int(np.sum(cooks_d > limit))
    if above == 0:
        return pd.DataFrame(columns=columns), f"No row has Cook's distance above 4/n = {limit:.2g}."
    leave_out = min(above, max(1, math.floor(REFIT_MAX_SHARE * n)))
    order = np.argsort(-cooks_d, kind="stable")
    keep = np.ones(n, dtype=bool)
    keep[order[:leave_out]] = False
    left_out = (
        f"{leave_out} rows" if leave_out == above else f"the {leave_out} most influential of those {above} rows"
    )
    events = int(y.to_numpy()[~keep].sum())
    left_out += f" ({events} of them events)"
    result, usable = _fit_logit(y[keep], design[keep], start=np.asarray(inference.params, dtype=float))
    if not usable:
        separated = detect_separation(design[keep], y[keep])
        if separated.infinite:
            several = len(separated.infinite) > 1
            note = (
                f"Leaving out {left_out} separates the classes: the estimate"
                f"{'s' if several else ''} of {', '.join(separated.infinite)} "
                f"{'become' if several else 'becomes'} infinite, so {'they rest' if several else 'it rests'} "
                "on those rows."
            )
        else:
            note = f"The refit without {left_out} did not converge."
        return pd.DataFrame(columns=columns), note
    coef, se = inference.params, inference.bse
    shift = (result.params - coef) / se
    significant = inference.pvalues < ALPHA
    table = pd.DataFrame(
        {
            "name": coef.index,
            "coef": coef.to_numpy(),
            "se": se.to_numpy(),
            "coef_refit": result.params.to_numpy(),
            "shift_se": shift.to_numpy(),
            "sign_change": (significant & (np.sign(result.params) != np.sign(coef))).to_numpy(),
        }
    )
    return table, f"{above} rows have Cook's distance above 4/n = {limit:.2g}; the refit leaves out {left_out}."


def hosmer_lemeshow(
    y: np.ndarray, p_hat: np.ndarray, groups: int = HL_GROUPS
) -> tuple[pd.DataFrame, float, int, float]:
    """Hosmer-Lemeshow test over groups cut at the deciles of the predicted probability.

    ``chi² = Σ (O - E)² / (E (1 - E / n))`` over groups, with ``groups - 2`` degrees of
    freedom. Groups are ``pandas.qcut`` intervals (right-closed); tied probabilities
    can merge groups, and the degrees of freedom follow the groups actually formed.

    Returns
    -------
    (DataFrame, float, int, float)
        ``group, n, p_mean, observed, expected``; the statistic; degrees of freedom;
        p-value.
    """
    from scipy.stats import chi2

    y = np.asarray(y, dtype=float)
    p_hat = np.asarray(p_hat, dtype=float)
    codes = pd.qcut(p_hat, groups, labels=False, duplicates="drop")
    table = (
        pd.DataFrame({"group": codes, "y": y, "p": p_hat})
        .groupby("group")
        .agg(n=("y", "size"), p_mean=("p", "mean"), observed=("y", "sum"), expected=("p", "sum"))
        .reset_index()
    )
    formed = len(table)
    if formed < 3:
        raise AnalysisError(f"Hosmer-Lemeshow needs at least 3 groups of predicted probability; got {formed}.")
    expected = table["expected"].to_numpy()
    statistic = float(np.sum((table["observed"] - expected) ** 2 / (expected * (1 - expected / table["n"]))))
    df = formed - 2
    return table, statistic, df, float(chi2.sf(statistic, df))


def events_per_variable(y: pd.Series, parameters: int) -> float:
    """Events per variable: the smaller class's count over the parameters besides the intercept."""
    if parameters < 1:
        raise ValueError(f"events per variable needs at least one parameter besides the intercept; got {parameters}.")
    counts = np.bincount(np.asarray(y, dtype="int64"), minlength=2)
    return float(counts.min()) / parameters


def detect_separation(design: pd.DataFrame | np.ndarray, y, max_rows: int | None = SEPARATION_MAX_ROWS) -> Separation:
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

    Above ``max_rows`` rows (``None``: no limit), both programs run on a stratified random
    subsample of that size (seeded) and their answers are checked on every row: a
    subsample's separating hyperplane counts only if it separates all rows, a
    subsample's direction only if no row lies on its wrong side, and the rows
    misclassified by the subsample's rule are counted over all rows. A subsample that
    does not separate proves the whole file does not; when it does, the rows its rule
    gets wrong are added and the program solved again, so complete separation is decided
    exactly. The one thing the subsample can miss is a quasi-complete separation that no
    sampled row touches.

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
    from scipy.optimize import linprog

    frame = design if isinstance(design, pd.DataFrame) else pd.DataFrame(np.asarray(design, dtype=float))
    x = frame.to_numpy(dtype=float)
    y = np.asarray(y, dtype="int64")
    if set(np.unique(y)) != {0, 1}:
        raise AnalysisError("separation is defined for a 0/1 outcome with both classes present.")
    scale = np.abs(x).max(axis=0)
    if np.any(scale == 0):
        raise AnalysisError("the design has a column of zeros; separation cannot be assessed.")
    signed = x / scale * np.where(y == 1, 1.0, -1.0)[:, None]
    n, p = signed.shape
    sample = None if max_rows is None else _separation_sample(y, max_rows)
    part = signed if sample is None else signed[sample]
    m = len(part)

    konis = linprog(
        -part.sum(axis=0), A_ub=-part, b_ub=np.zeros(m), bounds=[(-1.0, 1.0)] * p, method="highs"
    )
    if konis.status != 0:
        raise AnalysisError(f"the separation linear program failed: {konis.message}")
    # A direction that puts no row strictly on its side lies in the design's null space
    # (collinear columns), not a separation; from a subsample, it must also put no row
    # of the whole design on its wrong side.
    margins = signed @ konis.x
    separating = np.max(margins) > SEPARATION_TOLERANCE and np.min(margins) >= -SEPARATION_TOLERANCE
    direction = np.where(separating & (np.abs(konis.x) > SEPARATION_TOLERANCE), konis.x, 0.0)

    rows = np.arange(n) if sample is None else sample
    for _ in range(SEPARATION_ROUNDS):
        hinge, rule = _robust_rule(signed[rows], y[rows])
        wrong = signed @ rule <= 0
        # A subsample that does not separate proves the whole design does not; one that
        # does must separate every row by its rule, else its wrong rows join it and the
        # program is solved again (constraint generation).
        if sample is None or hinge > HINGE_TOLERANCE or not wrong.any():
            break
        rows = np.union1d(rows, np.flatnonzero(wrong))
    else:
        return detect_separation(frame, y, max_rows=None)
    misclassified = 0 if hinge <= HINGE_TOLERANCE else int(np.sum(wrong))
    m = len(rows)

    if hinge <= HINGE_TOLERANCE:
        kind = "complete"
    elif np.any(direction != 0):
        kind = "quasi-complete"
    elif misclassified < NEAR_SEPARATION_SHARE * n:
        kind = "near"
    else:
        kind = "none"
    names = [str(c) for c in frame.columns]
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


def _robust_rule(signed: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Bennett and Mangasarian's robust linear program, through its dual: (hinge loss, rule)."""
    from scipy.optimize import linprog

    m, p = signed.shape
    weights = np.where(y == 1, 1.0 / np.sum(y == 1), 1.0 / np.sum(y == 0))
    robust = linprog(
        -np.ones(m), A_eq=signed.T, b_eq=np.zeros(p), bounds=np.column_stack([np.zeros(m), weights]), method="highs"
    )
    if robust.status != 0:
        raise AnalysisError(f"the separation linear program failed: {robust.message}")
    return float(-robust.fun), -np.asarray(robust.eqlin.marginals)


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


def fit_penalized_fallback(design: pd.DataFrame, y) -> PenalizedFit:
    """Firth's (1993) bias-reduced logistic regression, the fallback under separation.

    Maximizes the log-likelihood plus ``½ ln det I(β)`` (Jeffreys prior), which keeps
    every estimate finite even when the classes are separated (Heinze and Schemper,
    2002); see :func:`tiktok_claims.penalized.firth`. Standard errors and Wald limits
    come from ``I(β̂)⁻¹``; near separation, profile-likelihood limits (R's logistf) are
    more accurate.

    Parameters
    ----------
    design : DataFrame
        The design with its constant column.
    y : array-like of 0/1

    Returns
    -------
    PenalizedFit
    """
    from scipy.stats import norm

    from .penalized import METHOD, firth

    result = firth(design.to_numpy(dtype=float), np.asarray(y, dtype=float))
    beta, se = result.beta, result.se
    z = beta / se
    margin = norm.ppf(1 - ALPHA / 2) * se
    table = pd.DataFrame(
        {
            "name": [str(c) for c in design.columns],
            "coef": beta,
            "se": se,
            "z": z,
            "p_value": 2 * norm.sf(np.abs(z)),
            "ci_low": beta - margin,
            "ci_high": beta + margin,
        }
    )
    return PenalizedFit(
        table=table,
        method=METHOD,
        converged=result.converged,
        iterations=result.iterations,
        penalized_log_likelihood=result.penalized_log_likelihood,
    )


def _statsmodels_fit_warnings() -> tuple[type[Warning], ...]:
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        HessianInversionWarning,
        PerfectSeparationWarning,
    )

    return (ConvergenceWarning, HessianInversionWarning, PerfectSeparationWarning, RuntimeWarning)


def _fit_logit(y: pd.Series, x: pd.DataFrame, start: np.ndarray | None = None):
    """Newton Logit fit; ``usable`` is False when it failed, did not converge or warned."""
    import statsmodels.api as sm

    with warnings.catch_warnings(record=True) as caught:
        for category in _statsmodels_fit_warnings():
            warnings.simplefilter("always", category=category)
        try:
            result = sm.Logit(y.astype(float), x).fit(
                method="newton", maxiter=NEWTON_MAX_ITER, disp=False, start_params=start
            )
        except np.linalg.LinAlgError:
            return None, False
    warned = any(issubclass(w.category, _statsmodels_fit_warnings()) for w in caught)
    usable = bool(result.mle_retvals["converged"]) and not warned and bool(np.all(np.isfinite(result.bse)))
    return result, usable


def _finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# --- the checks -----------------------------------------------------------------------


def _outcome_check(values: pd.Series, y: pd.Series) -> Check:
    levels = sorted(values.dropna().astype(str).unique())
    counts = np.bincount(y.to_numpy(), minlength=2)
    binary = len(levels) == 2 and counts.min() > 0
    return Check(
        name="Outcome is binary",
        statistic=float(len(levels)),
        p_value=None,
        threshold="distinct outcome values: exactly 2, both present in the training rows",
        verdict="pass" if binary else "fail",
        consequence=(
            f"'{values.name}' takes {len(levels)} values ({', '.join(repr(v) for v in levels)}) with "
            f"{counts[1]:,} positive and {counts[0]:,} negative training rows, so a binomial model "
            + ("applies." if binary else "does not apply.")
        ),
        remedy="None needed." if binary else "Choose a model for the outcome's type (multinomial, ordinal, count or linear).",
        details=pd.DataFrame({"level": ["0", "1"], "count": counts}),
    )


def _independence_check(train: pd.DataFrame) -> Check:
    table = duplicates(train)
    total = int(table["count"].sum())
    found = "; ".join(f"{row.check}: {row.count:,}" for row in table.itertuples(index=False))
    return Check(
        name="Independence of observations",
        statistic=float(total),
        p_value=None,
        threshold="duplicate rows, video ids and transcripts in the training rows: warn if any",
        verdict="warn" if total else "pass",
        consequence=(
            f"Training rows: {found}; repeated authors cannot be checked because the data have no "
            "author id, so several videos from one account count as independent evidence and the "
            "standard errors may be too small."
        ),
        remedy=(
            "Remove exact duplicates and, with an author id, use cluster-robust standard errors by author."
            if total
            else "With an author id, use cluster-robust standard errors by author."
        ),
        details=table,
    )


def _vif_check(vif: pd.DataFrame, spec: FeatureSpec) -> Check:
    worst = vif.loc[vif["vif"].idxmax()]
    value = float(worst["vif"])
    verdict = "fail" if value > VIF_FAIL else "warn" if value > VIF_WARN else "pass"
    dropped = [c for c, why in spec.dropped.items() if why.startswith("VIF")]
    already = f"The VIF rule already dropped {', '.join(dropped)}. " if dropped else ""
    return Check(
        name="Multicollinearity (VIF)",
        statistic=value,
        p_value=None,
        threshold=f"largest VIF of the final design: warn > {VIF_WARN:g}, fail > {VIF_FAIL:g}",
        verdict=verdict,
        consequence=(
            f"The largest VIF is {value:.2f} ({worst['feature']}): correlation among the predictors "
            f"widens that coefficient's standard error {math.sqrt(value):.2f}-fold, without biasing predictions."
        ),
        remedy=already + (
            "None needed." if verdict == "pass"
            else "Drop or combine the most correlated predictors (e.g. rates per view) and refit."
        ),
        details=vif,
    )


def _linearity_check(table: pd.DataFrame) -> Check:
    threshold = f"smallest Bonferroni-adjusted Box-Tidwell p (over {len(table)} predictors): warn < {ALPHA:g}"
    remedy = "Refit with log1p-transformed counts (--transform log1p) or splines and compare the fits."
    if (table["transform"] == "log1p").any():
        remedy = "The counts already enter as log1p(count); model the remaining bend with splines and compare the fits."
    if table.empty:
        return Check("Linearity of the log-odds (Box-Tidwell)", None, None, threshold, "pass",
                     "The model has no continuous predictor, so there is no linearity to check.", "None needed.", table)
    if table["p_value"].isna().any():
        return Check(
            "Linearity of the log-odds (Box-Tidwell)", None, None, threshold, "warn",
            "The Box-Tidwell model could not be fitted (its information matrix became singular or Newton's method "
            "did not converge, as when the classes nearly separate), so linearity was not tested; see the binned "
            "empirical logits.",
            remedy, table,
        )
    flagged = table[table["p_adjusted"] < ALPHA]
    smallest = float(table["p_adjusted"].min())
    if flagged.empty:
        consequence = (
            f"No continuous predictor bends the log-odds detectably (largest curvature "
            f"{table['curvature'].max():.2f} log-odds), so one odds ratio per unit describes each."
        )
    else:
        bends = ", ".join(
            f"{f'log1p({r.predictor})' if r.transform == 'log1p' else r.predictor} ({r.curvature:.2f})"
            for r in flagged.itertuples(index=False)
        )
        consequence = (
            f"The log-odds bend with {bends} (curvature: largest gap from a straight line, in log-odds, "
            "between the 1st and 99th percentiles), so a single odds ratio per unit averages over a curved effect."
        )
    return Check(
        name="Linearity of the log-odds (Box-Tidwell)",
        statistic=float(table["z"].abs().max()),
        p_value=smallest,
        threshold=threshold + "; statistic: largest |z| of the x·ln(x) terms",
        verdict="warn" if not flagged.empty else "pass",
        consequence=consequence,
        remedy=remedy if not flagged.empty else "None needed.",
        details=table,
    )


def _influence_check(influence: pd.DataFrame, refit_shift: pd.DataFrame, note: str) -> Check:
    n = len(influence)
    limit = COOKS_MULTIPLIER / n
    above = int((influence["cooks_d"] > limit).sum())
    largest = float(influence["cooks_d"].max())
    threshold = (
        f"Cook's distance > 4/n = {limit:.2g} marks a row; refit without them (at most "
        f"{REFIT_MAX_SHARE:.0%} of rows): warn if a coefficient moves > 1 SE or a significant one changes sign"
    )
    if refit_shift.empty:
        verdict = "warn" if above else "pass"
        moved = note
    else:
        worst = refit_shift.loc[refit_shift["shift_se"].abs().idxmax()]
        flips = refit_shift.loc[refit_shift["sign_change"], "name"].tolist()
        verdict = "warn" if abs(worst["shift_se"]) > 1 or flips else "pass"
        moved = (
            f"{note} The largest move is {worst['shift_se']:+.2f} standard errors ({worst['name']})"
            + (f"; {', '.join(flips)} change sign." if flips else ".")
        )
    return Check(
        name="Influential observations",
        statistic=largest,
        p_value=None,
        threshold=threshold + "; statistic: largest Cook's distance",
        verdict=verdict,
        consequence=moved,
        remedy=(
            "Inspect the listed videos for data errors and report the results with and without them."
            if verdict == "warn" else "None needed."
        ),
        details=refit_shift,
    )


def _epv_check(y: pd.Series, design: pd.DataFrame) -> Check:
    parameters = design.shape[1] - 1
    epv = events_per_variable(y, parameters)
    counts = np.bincount(y.to_numpy(), minlength=2)
    verdict = "fail" if epv < EPV_FAIL else "warn" if epv < EPV_WARN else "pass"
    return Check(
        name="Events per variable",
        statistic=epv,
        p_value=None,
        threshold=f"smaller class count / parameters besides the intercept: fail < {EPV_FAIL:g}, warn < {EPV_WARN:g}",
        verdict=verdict,
        consequence=(
            f"The smaller class has {counts.min():,} training rows for {parameters} parameters "
            f"({epv:.1f} per parameter), "
            + ("enough for stable estimates." if verdict == "pass"
               else "too few for stable estimates: coefficients are biased away from zero and intervals too narrow.")
        ),
        remedy="None needed." if verdict == "pass" else "Use fewer predictors or a penalized (Firth) fit.",
        details=pd.DataFrame({"level": ["0", "1"], "count": counts}),
    )


def _separation_check(separation: Separation) -> Check:
    share = separation.misclassified_share
    threshold = (
        "linear programs on the design: fail if complete, warn if quasi-complete or if a linear rule "
        f"misclassifies < {NEAR_SEPARATION_SHARE:.0%} of rows; statistic: share misclassified by that rule"
    )
    infinite = ", ".join(separation.infinite)
    consequences = {
        "complete": "A linear rule classifies every training row correctly, so the maximum-likelihood "
        "estimates are infinite and the Logit's coefficients, standard errors and p-values are meaningless.",
        "quasi-complete": f"A direction in the predictors separates the classes except for rows on its boundary, "
        f"so the estimates of {infinite} are infinite and their standard errors meaningless.",
        "near": f"A linear rule led by {separation.leading_predictor} puts only {separation.misclassified:,} "
        f"of {separation.n:,} rows ({share:.1%}) on the wrong side, so the estimates rest on those rows: "
        "coefficients are very large and standard errors and Wald p-values unreliable.",
        "none": f"The classes overlap ({separation.misclassified:,} rows, {share:.0%}, lie on the wrong side "
        "of a class-balanced linear rule), so the maximum-likelihood estimates exist and are finite.",
    }
    return Check(
        name="Separation",
        statistic=share,
        p_value=None,
        threshold=threshold,
        verdict={"complete": "fail", "quasi-complete": "warn", "near": "warn", "none": "pass"}[separation.kind],
        consequence=consequences[separation.kind],
        remedy=(
            "Report the Firth penalized fit beside (or instead of) the maximum-likelihood one, and ask whether "
            "a predictor is a near-copy of the outcome."
            if separation.use_penalized else "None needed."
        ),
        details=separation.direction.rename_axis("name").reset_index(),
    )


def _hosmer_lemeshow_check(table: pd.DataFrame, statistic: float, df: int, p_value: float) -> Check:
    poor = p_value < ALPHA
    return Check(
        name="Goodness of fit (Hosmer-Lemeshow)",
        statistic=statistic,
        p_value=p_value,
        threshold=f"chi-squared over {len(table)} groups of predicted probability ({df} df): warn if p < {ALPHA:g}",
        verdict="warn" if poor else "pass",
        consequence=(
            "Observed and expected event counts per decile of predicted probability differ "
            + ("more than chance allows, so predicted probabilities are off in some range "
               "(with many rows, even small misfit is detected)."
               if poor else "no more than chance allows, so predicted probabilities match observed rates.")
        ),
        remedy=(
            "Compare observed and expected counts per group, then try transformed or interacting predictors."
            if poor else "None needed."
        ),
        details=table,
    )


def _pseudo_r2_check(inference) -> Check:
    value = float(inference.prsquared)
    weak = value < PSEUDO_R2_WARN
    return Check(
        name="McFadden pseudo-R²",
        statistic=value,
        p_value=None,
        threshold=f"1 - llf / llnull: warn < {PSEUDO_R2_WARN:g} (0.2 to 0.4 is an excellent fit)",
        verdict="warn" if weak else "pass",
        consequence=(
            f"The predictors reduce the null model's log-likelihood by {value:.1%}: "
            + ("associations can still be real, but predictions for single videos are weak."
               if weak else "they carry substantial information about the outcome.")
        ),
        remedy="Report odds ratios as associations, not as a usable classifier." if weak else "None needed.",
    )


def _likelihood_ratio_check(inference) -> Check:
    p_value = float(inference.llr_pvalue)
    significant = p_value < ALPHA
    return Check(
        name="Likelihood-ratio test vs null",
        statistic=float(inference.llr),
        p_value=p_value,
        threshold=f"2 (llf - llnull) on {int(inference.df_model)} df: warn if p >= {ALPHA:g}",
        verdict="pass" if significant else "warn",
        consequence=(
            "The predictors together explain the outcome better than its base rate alone."
            if significant
            else "The predictors together do not explain the outcome better than its base rate alone."
        ),
        remedy="None needed." if significant else "Do not interpret single coefficients; revisit the predictors.",
    )


# ---------------------------------------------------------------- other model families

DISPERSION_WARN = 1.5
EXCESS_ZEROS_RATIO = 1.5
EXCESS_ZEROS_MIN = 10
COOKS_HIGH = 1.0


def check_family(train: pd.DataFrame, spec: FeatureSpec, approach) -> list[Check]:
    """The checklist for a count, continuous or ordered-category outcome.

    Each model is fitted on the training part's standardized design (the same
    preprocessing as the logistic model). Counts: dispersion (with the
    Cameron-Trivedi test), excess zeros, influence and VIF. OLS: linearity (Ramsey
    RESET), homoscedasticity (Breusch-Pagan), normality of residuals (Jarque-Bera),
    independence (Durbin-Watson), influence and VIF. Ordinal: proportional odds (a
    likelihood-ratio comparison with the multinomial logit) and VIF.
    """
    preprocessor = build_preprocessor(spec.continuous, spec.categorical, spec.log1p)
    design = pd.DataFrame(
        preprocessor.fit_transform(train), columns=preprocessor.get_feature_names_out(), index=train.index
    )
    vif = _vif_check(vif_table(train, spec.continuous, spec.categorical, spec.log1p), spec)
    if approach.outcome_type == "non-negative count":
        return [*_count_checks(design, train[spec.target].astype(float), approach), vif]
    if approach.outcome_type == "continuous":
        y = train[spec.target].astype(float)
        if approach.family.endswith("log(outcome)"):
            y = np.log(y)
        return [*_ols_checks(design, y), vif]
    if approach.outcome_type == "ordered categories":
        return [_proportional_odds_check(design, train[spec.target], approach), vif]
    raise AnalysisError(f"no checklist for a {approach.family}.")


def _count_checks(design: pd.DataFrame, y: pd.Series, approach) -> list[Check]:
    import statsmodels.api as sm

    x = sm.add_constant(design, has_constant="add")
    poisson = sm.GLM(y, x, family=sm.families.Poisson()).fit()
    mu = np.asarray(poisson.fittedvalues, dtype=float)
    dispersion = float(poisson.pearson_chi2 / poisson.df_resid)
    # Cameron & Trivedi (1990): regress ((y - mu)^2 - y) / mu on mu, no constant; t-test of the slope.
    auxiliary = sm.OLS(((y.to_numpy() - mu) ** 2 - y.to_numpy()) / mu, mu).fit()
    ct_p = float(auxiliary.pvalues[0])
    negative_binomial = approach.family.startswith("negative binomial")
    checks = [
        Check(
            name="Dispersion (Poisson variance = mean)",
            statistic=dispersion,
            p_value=ct_p,
            threshold=f"Pearson chi-squared / df of the Poisson fit: warn > {DISPERSION_WARN:g}; p: Cameron-Trivedi test",
            verdict="pass" if dispersion <= DISPERSION_WARN or negative_binomial else "fail",
            consequence=(
                f"The counts vary {dispersion:,.1f} times as much as a Poisson model allows"
                + (", which the negative binomial model used here accommodates." if negative_binomial
                   else ": Poisson standard errors would be far too small.")
            ),
            remedy="Use negative binomial regression (done)." if negative_binomial else "None needed.",
        )
    ]
    if negative_binomial:
        model = sm.NegativeBinomial(y, x).fit(disp=False, maxiter=300, method="bfgs")
        alpha = float(model.params["alpha"])
        mu = np.asarray(model.predict(x), dtype=float)
        expected_zeros = float(np.sum((1 / (1 + alpha * mu)) ** (1 / alpha)))
        glm = sm.GLM(y, x, family=sm.families.NegativeBinomial(alpha=alpha)).fit()
        converged = bool(model.mle_retvals["converged"])
    else:
        expected_zeros = float(np.sum(np.exp(-mu)))
        glm, converged = poisson, True
    observed_zeros = int((y == 0).sum())
    ratio = observed_zeros / max(expected_zeros, 1e-12)
    excess = observed_zeros >= EXCESS_ZEROS_MIN and ratio > EXCESS_ZEROS_RATIO
    checks.append(
        Check(
            name="Excess zeros",
            statistic=ratio,
            p_value=None,
            threshold=f"observed / expected zeros under the fitted model: warn > {EXCESS_ZEROS_RATIO:g} (with at least {EXCESS_ZEROS_MIN} zeros)",
            verdict="warn" if excess else "pass",
            consequence=f"{observed_zeros:,} videos have a count of zero; the fitted model expects {expected_zeros:,.1f}.",
            remedy="A zero-inflated or hurdle model." if excess else "None needed.",
        )
    )
    checks.append(_cooks_check(glm.get_influence(observed=False).cooks_distance[0], converged))
    return checks


def _ols_checks(design: pd.DataFrame, y: pd.Series) -> list[Check]:
    import statsmodels.api as sm
    from statsmodels.stats.diagnostic import het_breuschpagan, linear_reset
    from statsmodels.stats.stattools import durbin_watson, jarque_bera

    x = sm.add_constant(design, has_constant="add")
    result = sm.OLS(y, x).fit()
    reset = linear_reset(result, power=2, use_f=True)
    _, bp_p, _, _ = het_breuschpagan(result.resid, x)
    jb, jb_p, _, _ = jarque_bera(result.resid)
    dw = float(durbin_watson(result.resid))
    return [
        Check("Linearity (Ramsey RESET)", float(reset.statistic), float(reset.pvalue),
              "F test of squared fitted values added to the model: warn if p < 0.05",
              "warn" if reset.pvalue < ALPHA else "pass",
              "Curvature the linear terms miss would bias the coefficients and the residuals-vs-fitted pattern shows it.",
              "Transform the predictors (log1p) or add splines." if reset.pvalue < ALPHA else "None needed."),
        Check("Homoscedasticity (Breusch-Pagan)", None, float(bp_p),
              "LM test of residual variance on the predictors: warn if p < 0.05",
              "warn" if bp_p < ALPHA else "pass",
              "Unequal residual variance leaves coefficients unbiased but makes the usual standard errors wrong.",
              "Use heteroscedasticity-robust (HC3) standard errors." if bp_p < ALPHA else "None needed."),
        Check("Normality of residuals (Jarque-Bera)", float(jb), float(jb_p),
              "skewness and kurtosis of the residuals: warn if p < 0.05",
              "warn" if jb_p < ALPHA else "pass",
              "With thousands of rows, non-normal residuals matter little for the coefficients (central limit theorem) but do for prediction intervals.",
              "Report robust intervals or model the outcome on another scale." if jb_p < ALPHA else "None needed."),
        Check("Independence (Durbin-Watson)", dw, None,
              "residual autocorrelation in file order: warn outside 1.5-2.5",
              "pass" if 1.5 <= dw <= 2.5 else "warn",
              f"A statistic of {dw:.2f} (2 = no autocorrelation between consecutive rows).",
              "None needed." if 1.5 <= dw <= 2.5 else "Look for an ordering (time, author) and model it."),
        _cooks_check(result.get_influence().cooks_distance[0], True),
    ]


def _proportional_odds_check(design: pd.DataFrame, outcome: pd.Series, approach) -> Check:
    import statsmodels.api as sm
    from scipy import stats
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    from .approach import ORDERED_LEVELS

    levels = ORDERED_LEVELS[approach.target]
    codes = pd.Series(pd.Categorical(outcome, categories=levels, ordered=True).codes, index=outcome.index)
    ordered = OrderedModel(codes, design, distr="logit").fit(method="bfgs", disp=False, maxiter=500)
    multinomial = sm.MNLogit(codes, sm.add_constant(design, has_constant="add")).fit(disp=False, maxiter=200)
    statistic = float(2 * (multinomial.llf - ordered.llf))
    df = int(multinomial.params.size - ordered.params.size)
    p_value = float(stats.chi2.sf(statistic, df))
    holds = p_value >= ALPHA
    return Check(
        name="Proportional odds (ordinal vs multinomial)",
        statistic=statistic,
        p_value=p_value,
        threshold=f"likelihood-ratio statistic of the multinomial logit against the ordinal model ({df} df, approximate): warn if p < 0.05",
        verdict="pass" if holds else "warn",
        consequence=(
            "One set of coefficients describes every step of the order (active to under review to banned)."
            if holds else
            "The predictors relate differently to each step of the order, so one coefficient per predictor oversimplifies."
        ),
        remedy="None needed." if holds else "Use the multinomial logit, or a partial proportional-odds model.",
    )


def _cooks_check(cooks: np.ndarray, converged: bool) -> Check:
    cooks = np.asarray(cooks, dtype=float)
    threshold = COOKS_MULTIPLIER / len(cooks)
    largest = float(np.nanmax(cooks))
    high = largest > COOKS_HIGH
    return Check(
        name="Influential observations",
        statistic=largest,
        p_value=None,
        threshold=f"largest Cook's distance: warn > {COOKS_HIGH:g}; rows above 4/n = {threshold:.2g} are counted",
        verdict="warn" if high or not converged else "pass",
        consequence=(
            f"{int((cooks > threshold).sum()):,} of {len(cooks):,} rows exceed 4/n; the largest distance is {largest:.3g}"
            + ("" if converged else "; the model did not converge, so these are approximate") + "."
        ),
        remedy="Inspect the most influential rows and refit without them." if high else "None needed.",
    )
