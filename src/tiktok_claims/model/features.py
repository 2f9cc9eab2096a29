"""Which predictors enter the model, and why; the preprocessing that encodes them.

Multicollinearity rule (decided on the training part only): compute the variance
inflation factor (VIF) of every column of the encoded design; while the largest VIF
among the continuous predictors exceeds ``config.VIF_LIMIT`` (5), drop that predictor
and recompute. Categorical predictors are never dropped by the rule: they carry the
question being asked. Pairs of continuous predictors with ``|r| >=
config.CORRELATION_REPORT_LIMIT`` are reported beside the decision.

The log1p remedy (``transform="log1p"``): the engagement counts enter the model as
log(1 + count) before standardization, for log-odds that bend with a heavy-tailed
count. The rule then runs on the transformed columns, whose correlations differ.

A model formula (:mod:`tiktok_claims.model.formula`) names the predictors itself:
:func:`formula_features` computes the same VIFs on the columns of the formula's design
and reports them, but drops nothing (the formula is the analyst's specification, and
the multicollinearity check flags a term above the limit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder

from .. import config
from ..errors import AnalysisError
from .formula import NON_PREDICTORS, Formula, FormulaDesign, design_columns
from .transforms import Log1pStandardScaler, log1p_values


@dataclass(frozen=True)
class FeatureSpec:
    """The predictors kept, those left out with the reason, and the rule's numbers."""

    target: str
    continuous: tuple[str, ...]
    categorical: tuple[str, ...]
    dropped: dict[str, str]
    vif_rounds: pd.DataFrame = field(repr=False)
    correlated_pairs: pd.DataFrame = field(repr=False)
    rule: str = ""
    log1p: tuple[str, ...] = ()
    """The continuous predictors entered as log(1 + x) (then standardized like the others)."""
    vif_dropped: tuple[str, ...] = ()
    """The continuous predictors the multicollinearity rule left out, in the order it dropped them."""
    unestimable: tuple[str, ...] = ()
    """The predictors left out because the training part cannot estimate their effect (constant, or a level absent)."""
    log: tuple[str, ...] = ()
    """The continuous predictors entered as log(x) (a formula's ``np.log``). With a formula, ``log1p``
    and ``log`` name every column the formula logs, in a main effect or in an interaction."""
    formula: Formula | None = None
    """The model formula, when one names the predictors (``continuous`` then holds its continuous
    main effects, ``categorical`` every category it reads)."""

    @property
    def columns(self) -> list[str]:
        """The data columns the model reads."""
        if self.formula is not None:
            return list(self.formula.columns)
        return [*self.continuous, *self.categorical]

    def preprocessor(self) -> ColumnTransformer | FormulaDesign:
        """An unfitted preprocessor of these predictors (see :func:`build_preprocessor`; a formula's :class:`FormulaDesign`)."""
        if self.formula is not None:
            return FormulaDesign(self.formula)
        return build_preprocessor(self.continuous, self.categorical, self.log1p)

    def scales(self, preprocessor) -> pd.Series:
        """The standard deviations, as entered, of the standardized columns of a fitted :meth:`preprocessor`."""
        if self.formula is not None:
            names = preprocessor.get_feature_names_out()
            numeric = [column.numeric for column in preprocessor.design_]
            return pd.Series(preprocessor.scale_[numeric], index=list(names[numeric]))
        return pd.Series(preprocessor.named_transformers_["continuous"].scale_, index=list(self.continuous))

    def indicator_positions(self) -> list[int]:
        """Positions of the design's 0/1 columns (dummies and their interactions)."""
        if self.formula is not None:
            return [j for j, column in enumerate(design_columns(self.formula)) if not column.numeric]
        n_dummies = sum(len(config.CATEGORIES[c]) - 1 for c in self.categorical)
        return list(range(len(self.continuous), len(self.continuous) + n_dummies))

    def transform_of(self, column: str) -> str:
        """How a continuous predictor enters: ``"log1p"``, ``"log"`` or ``"none"``."""
        return "log1p" if column in self.log1p else "log" if column in self.log else "none"

    def entered(self, frame: pd.DataFrame, columns=None) -> pd.DataFrame:
        """The continuous predictors (or ``columns`` of them) as they enter the model (see :func:`as_entered`)."""
        return as_entered(frame, self.continuous if columns is None else columns, self.log1p, self.log)

    def vif(self, rows: pd.DataFrame) -> pd.DataFrame:
        """VIF of every column of the design on ``rows`` (see :func:`vif_table`).

        With a formula that has interaction or curvature columns, ``vif_main_effects``
        is each main effect's VIF among the main effects alone (NaN for the others):
        products and powers correlate with their parts by construction, which inflates
        the full design's VIFs without making any test less valid.
        """
        if self.formula is None:
            return vif_table(rows, self.continuous, self.categorical, self.log1p)
        design = self.preprocessor().fit(rows[self.columns])
        values, names = design.transform(rows[self.columns]), list(design.get_feature_names_out())
        table = _vifs(values, names)
        main = [j for j, column in enumerate(design.design_) if column.main_effect]
        if main and len(main) < len(names):
            table["vif_main_effects"] = np.nan
            table.loc[main, "vif_main_effects"] = _vifs(values[:, main], [names[j] for j in main])["vif"].to_numpy()
        return table


def candidate_predictors(target: str) -> tuple[list[str], list[str]]:
    """Continuous and categorical candidate predictors for ``target``."""
    continuous = [c for c in config.CONTINUOUS_COLUMNS if c != target]
    categorical = [c for c in config.CATEGORIES if c != target]
    return continuous, categorical


def build_preprocessor(continuous, categorical, log1p=()):
    """Standardize continuous predictors; one-hot encode categories against a fixed reference.

    The columns in ``log1p`` (a subset of ``continuous``) are replaced by log(1 + x)
    before they are standardized (:class:`~tiktok_claims.model.transforms.Log1pStandardScaler`);
    feature names stay the column names. The reference level is the first of
    ``config.CATEGORIES[column]`` (``claim``, ``not verified``, ``active``), so
    coefficients read "versus the reference".
    """
    encoder = OneHotEncoder(
        categories=[list(config.CATEGORIES[c]) for c in categorical],
        drop="first",
        sparse_output=False,
        handle_unknown="error",
    )
    return ColumnTransformer(
        [
            ("continuous", Log1pStandardScaler(log1p=tuple(log1p)), list(continuous)),
            ("categorical", encoder, list(categorical)),
        ],
        verbose_feature_names_out=False,
    )


def as_entered(frame: pd.DataFrame, continuous, log1p=(), log=()) -> pd.DataFrame:
    """The continuous predictors as they enter the model, before standardization.

    log(1 + x) for the columns in ``log1p``, log(x) for those in ``log`` (a formula's,
    whose design refuses zeros), the values themselves for the others.
    """
    entered = frame[list(continuous)].astype(float)
    transformed = [c for c in continuous if c in log1p]
    if transformed:
        entered[transformed] = log1p_values(entered[transformed].to_numpy(), transformed)
    logged = [c for c in continuous if c in log]
    if logged:
        entered[logged] = np.log(entered[logged])
    return entered


def vif_table(train: pd.DataFrame, continuous, categorical, log1p=()) -> pd.DataFrame:
    """VIF of every column of the encoded design, in a model with an intercept.

    VIF_j = 1 / (1 - R²_j) is the j-th diagonal element of the inverse correlation
    matrix of the columns: one inversion instead of one regression per column. It
    equals statsmodels' ``variance_inflation_factor`` on the design with a constant.
    The columns in ``log1p`` enter as log(1 + x), as in the model.
    """
    preprocessor = build_preprocessor(continuous, categorical, log1p)
    design = preprocessor.fit_transform(train)
    return _vifs(design, list(preprocessor.get_feature_names_out()))


def _vifs(design: np.ndarray, names: list[str]) -> pd.DataFrame:
    if design.shape[1] == 1:  # one column: nothing to be collinear with
        return pd.DataFrame({"feature": names, "vif": [1.0]})
    vifs = np.diag(np.linalg.inv(np.corrcoef(design, rowvar=False)))
    return pd.DataFrame({"feature": names, "vif": vifs})


def leakage_guard(train: pd.DataFrame, target: str, continuous: list[str]) -> dict[str, str]:
    """Continuous predictors that are near-copies of a numeric target, with the reason.

    Engagement counts are chained (likes are a share of views, downloads of likes, ...):
    a count whose Spearman rank correlation with the target reaches
    ``config.LEAKAGE_RANK_CORRELATION`` would predict the target by being a version of
    it, so it is left out. Categorical targets need no guard here: no predictor is
    computed from them.
    """
    if target not in config.CONTINUOUS_COLUMNS:
        return {}
    rho = train[continuous].corrwith(train[target], method="spearman")
    return {
        column: (
            f"near-copy of the target {target} (Spearman rho = {value:.2f} >= "
            f"{config.LEAKAGE_RANK_CORRELATION:g})"
        )
        for column, value in rho.items()
        if abs(value) >= config.LEAKAGE_RANK_CORRELATION
    }


def select_features(
    train: pd.DataFrame, target: str, transform: str = "none", *, source: str | None = None, formula: Formula | None = None
) -> FeatureSpec:
    """Apply the consequence and leakage guards and the multicollinearity rule to the training part.

    Predictors that are consequences of the outcome (``config.CONSEQUENCES``: engagement
    counts follow views) are left out first, with the reason.

    With ``transform="log1p"`` the engagement counts among the predictors
    (``config.COUNT_COLUMNS``) enter as log(1 + count), and the rule and the
    correlations are computed on those transformed columns; ``video_duration_sec``
    stays linear. The leakage guard uses rank correlations, which the transform
    leaves unchanged. ``source`` (the data's origin) opens the refusal's message.
    With a ``formula``, the formula names the predictors (:func:`formula_features`).
    """
    if formula is not None:
        return formula_features(train, target, formula, source=source)
    if transform not in config.TRANSFORMS:
        raise AnalysisError(f"transform must be one of {', '.join(config.TRANSFORMS)}; got {transform!r}.")
    continuous, categorical = candidate_predictors(target)
    constant = constant_predictors(train, continuous, categorical)
    guarded = {
        c: f"a consequence of the outcome ({c} follows {target}: engagement happens after a view), so it cannot explain it"
        for c in config.CONSEQUENCES.get(target, ())
        if c in continuous
    }
    varying = [c for c in continuous if c not in constant]
    guarded.update({c: why for c, why in leakage_guard(train, target, varying).items() if c not in guarded})
    constant = {c: why for c, why in constant.items() if c not in guarded}
    dropped: dict[str, str] = {c: "identifier or free text, not a predictor" for c in NON_PREDICTORS}
    dropped.update(guarded)
    dropped.update(constant)
    continuous = [c for c in continuous if c not in dropped]
    categorical = [c for c in categorical if c not in dropped]
    if not continuous:
        raise AnalysisError(
            (f"{source}: " if source else "")
            + f"no continuous predictor of {target} varies in the training part ({len(train):,} rows): "
            + "; ".join(f"{c}: {why}" for c, why in dropped.items() if c not in NON_PREDICTORS)
            + ". The model needs at least one continuous predictor (duration or an engagement count) "
            "that takes two or more values."
        )
    counts = set(config.COUNT_COLUMNS) if transform == "log1p" else set()

    def logged(columns) -> tuple[str, ...]:
        return tuple(c for c in columns if c in counts)

    rounds = []
    for round_number in range(1, len(continuous) + 1):
        table = vif_table(train, continuous, categorical, logged(continuous)).assign(round=round_number)
        rounds.append(table)
        eligible = table[table["feature"].isin(continuous)]
        worst = eligible.loc[eligible["vif"].idxmax()]
        if worst["vif"] <= config.VIF_LIMIT:
            break
        partner, r = _strongest_partner(train, worst["feature"], continuous, categorical, logged(continuous))
        dropped[worst["feature"]] = (
            f"VIF {worst['vif']:.2f} > {config.VIF_LIMIT:g} (round {round_number}); "
            f"most correlated with {partner} (r = {r:.2f})"
        )
        continuous = [c for c in continuous if c != worst["feature"]]
    all_continuous = [c for c in candidate_predictors(target)[0] if c not in guarded and c not in constant]
    rule = (
        f"On the training part, compute the VIF of every encoded predictor; while the "
        f"largest VIF among continuous predictors exceeds {config.VIF_LIMIT:g}, drop that "
        f"predictor and recompute. Pairs with |r| >= {config.CORRELATION_REPORT_LIMIT:g} "
        "are listed for context."
    )
    if logged(all_continuous):
        rule = (
            f"The engagement counts ({', '.join(logged(all_continuous))}) enter as log1p(count) = ln(1 + count) "
            "before standardization, so the VIFs and correlations are those of the transformed columns. " + rule
        )
    return FeatureSpec(
        target=target,
        continuous=tuple(continuous),
        categorical=tuple(categorical),
        dropped=dropped,
        vif_rounds=pd.concat(rounds, ignore_index=True) if rounds else pd.DataFrame(columns=["feature", "vif", "round"]),
        correlated_pairs=correlated_pairs(train, all_continuous, logged(all_continuous)),
        rule=rule,
        log1p=logged(continuous),
        vif_dropped=tuple(
            c for c in candidate_predictors(target)[0] if c in dropped and c not in guarded and c not in constant
        ),
        unestimable=tuple(constant),
    )


def constant_predictors(train: pd.DataFrame, continuous, categorical) -> dict[str, str]:
    """Predictors whose effect the training part cannot estimate, with the reason.

    A continuous predictor that takes one value has no variation to relate to the outcome;
    a categorical predictor with a level absent from the training part has a dummy that is
    zero in every row (its coefficient is not identified), so it is left out whole rather
    than entered with fewer levels than the model file and the scorer expect.
    """
    reasons = {}
    for column in continuous:
        values = train[column].unique()
        if len(values) < 2:
            shown = "no value" if len(values) == 0 else f"every row {float(values[0]):g}"
            reasons[column] = f"constant in the training part ({shown}), so its effect cannot be estimated"
    for column in categorical:
        present = set(train[column].unique())
        absent = [level for level in config.CATEGORIES[column] if level not in present]
        if len(absent) == len(config.CATEGORIES[column]) - 1:
            only = next(level for level in config.CATEGORIES[column] if level in present)
            reasons[column] = f"constant in the training part (every row {only!r}), so its effect cannot be estimated"
        elif absent:
            reasons[column] = (
                f"no training row has the level {' or '.join(repr(a) for a in absent)}, so its effect cannot be "
                "estimated; the predictor is left out whole rather than entered without that level"
            )
    return reasons


def _strongest_partner(train: pd.DataFrame, column: str, continuous, categorical, log1p=()) -> tuple[str, float]:
    """The encoded predictor (continuous or dummy) most correlated with ``column``."""
    preprocessor = build_preprocessor(continuous, categorical, log1p)
    design = np.asarray(preprocessor.fit_transform(train), dtype=float)
    names = list(preprocessor.get_feature_names_out())
    r = pd.Series(np.corrcoef(design, rowvar=False)[names.index(column)], index=names).drop(column)
    partner = r.abs().idxmax()
    return partner, float(r[partner])


def correlated_pairs(train: pd.DataFrame, continuous, log1p=(), log=()) -> pd.DataFrame:
    """Pairs of continuous predictors whose Pearson |r| reaches the report limit (as entered: see :func:`as_entered`)."""
    corr = as_entered(train, continuous, log1p, log).corr()
    rows = [
        {"feature_a": a, "feature_b": b, "r": float(corr.loc[a, b])}
        for i, a in enumerate(corr.columns)
        for b in corr.columns[i + 1 :]
        if abs(corr.loc[a, b]) >= config.CORRELATION_REPORT_LIMIT
    ]
    return pd.DataFrame(rows, columns=["feature_a", "feature_b", "r"]).sort_values("r", key=abs, ascending=False)


def formula_features(train: pd.DataFrame, target: str, formula: Formula, *, source: str | None = None) -> FeatureSpec:
    """The predictors a formula names, checked on the training part, with the VIFs of its design.

    Nothing is dropped: a column the training part cannot estimate (constant, a level
    absent, a design column such as an interaction that never occurs) is refused with
    :class:`~tiktok_claims.errors.AnalysisError` naming it, and a VIF above
    ``config.VIF_LIMIT`` is reported (the multicollinearity check flags it) rather than
    acted on, so the model fitted is the formula's.
    """
    opening = f"{source}: " if source else ""
    if formula.outcome != target:
        raise AnalysisError(f"{opening}the formula's outcome is {formula.outcome!r}, not the target {target!r}.")
    design = design_columns(formula)
    continuous = tuple(c.parts[0].column for c in design if c.main_effect and c.numeric)
    categorical = tuple(c for c in formula.columns if c in config.CATEGORIES)
    fitted = FormulaDesign(formula).fit(train[list(formula.columns)])
    values = fitted.transform(train[list(formula.columns)])
    problems = {
        column.name: _constant_reason(column, values[0, j])
        for j, column in enumerate(design)
        if np.ptp(values[:, j]) == 0
    }
    if problems:
        raise AnalysisError(
            f"{opening}the formula {formula.text!r} asks for effects the training part ({len(train):,} rows) cannot "
            "estimate: " + "; ".join(f"{name}: {why}" for name, why in problems.items())
            + ". Remove those terms from the formula."
        )
    forms = {p.column: p.form for c in design for p in c.parts if p.form in ("log1p", "log")}
    log1p = tuple(c for c in formula.columns if forms.get(c) == "log1p")
    log = tuple(c for c in formula.columns if forms.get(c) == "log")
    vifs = _vifs(values, [column.name for column in design]).assign(round=1)
    over = vifs[vifs["vif"] > config.VIF_LIMIT]
    dropped = {c: "identifier or free text, not a predictor" for c in NON_PREDICTORS}
    dropped.update(
        {c: "not in the formula" for c in config.COLUMNS if c not in dropped and c != target and c not in formula.columns}
    )
    rule = (
        f"The formula {formula.text!r} names the predictors, so none is dropped: on the training part, the VIF of "
        f"every column of its design is reported, and a column above {config.VIF_LIMIT:g} is kept and flagged by "
        "the multicollinearity check (its standard error is inflated by the square root of its VIF)."
        + (f" Above the limit: {', '.join(f'{r.feature} ({r.vif:.2f})' for r in over.itertuples())}." if len(over) else "")
    )
    return FeatureSpec(
        target=target,
        continuous=continuous,
        categorical=categorical,
        dropped=dropped,
        vif_rounds=vifs,
        correlated_pairs=correlated_pairs(train, continuous, log1p, log),
        rule=rule,
        log1p=log1p,
        log=log,
        formula=formula,
    )


def _constant_reason(column, value: float) -> str:
    """Why a design column that takes one value in the training part cannot be estimated."""
    if column.numeric:
        return "takes a single value in the training part"
    held = " and ".join(f"{part.column} = {part.level!r}" for part in column.parts)
    return f"{'every' if value == 1 else 'no'} training row has {held}"
