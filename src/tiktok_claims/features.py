"""Which predictors enter the model, and why; the preprocessing that encodes them.

Multicollinearity rule (decided on the training part only): compute the variance
inflation factor (VIF) of every column of the encoded design; while the largest VIF
among the continuous predictors exceeds ``config.VIF_LIMIT`` (5), drop that predictor
and recompute. Categorical predictors are never dropped by the rule: they carry the
question being asked. Pairs of continuous predictors with ``|r| >=
config.CORRELATION_REPORT_LIMIT`` are reported beside the decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import config

# Columns that identify a row or hold free text: never predictors of a regression.
NON_PREDICTORS = (config.ID_COLUMN, config.VIDEO_ID, config.TRANSCRIPT)


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

    @property
    def columns(self) -> list[str]:
        return [*self.continuous, *self.categorical]


def candidate_predictors(target: str) -> tuple[list[str], list[str]]:
    """Continuous and categorical candidate predictors for ``target``."""
    continuous = [c for c in config.CONTINUOUS_COLUMNS if c != target]
    categorical = [c for c in config.CATEGORIES if c != target]
    return continuous, categorical


def build_preprocessor(continuous, categorical):
    """Standardize continuous predictors; one-hot encode categories against a fixed reference.

    The reference level is the first of ``config.CATEGORIES[column]`` (``claim``,
    ``not verified``, ``active``), so coefficients read "versus the reference".
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    encoder = OneHotEncoder(
        categories=[list(config.CATEGORIES[c]) for c in categorical],
        drop="first",
        sparse_output=False,
        handle_unknown="error",
    )
    return ColumnTransformer(
        [("continuous", StandardScaler(), list(continuous)), ("categorical", encoder, list(categorical))],
        verbose_feature_names_out=False,
    )


def vif_table(train: pd.DataFrame, continuous, categorical) -> pd.DataFrame:
    """VIF of every column of the encoded design, in a model with an intercept.

    VIF_j = 1 / (1 - R²_j) is the j-th diagonal element of the inverse correlation
    matrix of the columns: one inversion instead of one regression per column. It
    equals statsmodels' ``variance_inflation_factor`` on the design with a constant.
    """
    preprocessor = build_preprocessor(continuous, categorical)
    design = preprocessor.fit_transform(train)
    names = list(preprocessor.get_feature_names_out())
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


def select_features(train: pd.DataFrame, target: str) -> FeatureSpec:
    """Apply the leakage guard and the multicollinearity rule to the training part."""
    continuous, categorical = candidate_predictors(target)
    dropped: dict[str, str] = {c: "identifier or free text, not a predictor" for c in NON_PREDICTORS}
    dropped.update(leakage_guard(train, target, continuous))
    continuous = [c for c in continuous if c not in dropped]
    rounds = []
    for round_number in range(1, len(continuous) + 1):
        table = vif_table(train, continuous, categorical).assign(round=round_number)
        rounds.append(table)
        eligible = table[table["feature"].isin(continuous)]
        worst = eligible.loc[eligible["vif"].idxmax()]
        if worst["vif"] <= config.VIF_LIMIT:
            break
        partner, r = _strongest_partner(train, worst["feature"], continuous, categorical)
        dropped[worst["feature"]] = (
            f"VIF {worst['vif']:.2f} > {config.VIF_LIMIT:g} (round {round_number}); "
            f"most correlated with {partner} (r = {r:.2f})"
        )
        continuous = [c for c in continuous if c != worst["feature"]]
    all_continuous = [c for c in candidate_predictors(target)[0] if not dropped.get(c, "").startswith("near-copy")]
    return FeatureSpec(
        target=target,
        continuous=tuple(continuous),
        categorical=tuple(categorical),
        dropped=dropped,
        vif_rounds=pd.concat(rounds, ignore_index=True),
        correlated_pairs=correlated_pairs(train, all_continuous),
        rule=(
            f"On the training part, compute the VIF of every encoded predictor; while the "
            f"largest VIF among continuous predictors exceeds {config.VIF_LIMIT:g}, drop that "
            f"predictor and recompute. Pairs with |r| >= {config.CORRELATION_REPORT_LIMIT:g} "
            "are listed for context."
        ),
    )


def _strongest_partner(train: pd.DataFrame, column: str, continuous, categorical) -> tuple[str, float]:
    """The encoded predictor (continuous or dummy) most correlated with ``column``."""
    preprocessor = build_preprocessor(continuous, categorical)
    design = pd.DataFrame(preprocessor.fit_transform(train), columns=preprocessor.get_feature_names_out())
    r = design.drop(columns=column).corrwith(design[column])
    partner = r.abs().idxmax()
    return partner, float(r[partner])


def correlated_pairs(train: pd.DataFrame, continuous) -> pd.DataFrame:
    """Pairs of continuous predictors whose Pearson |r| reaches the report limit."""
    corr = train[list(continuous)].corr()
    rows = [
        {"feature_a": a, "feature_b": b, "r": float(corr.loc[a, b])}
        for i, a in enumerate(corr.columns)
        for b in corr.columns[i + 1 :]
        if abs(corr.loc[a, b]) >= config.CORRELATION_REPORT_LIMIT
    ]
    return pd.DataFrame(rows, columns=["feature_a", "feature_b", "r"]).sort_values("r", key=abs, ascending=False)
