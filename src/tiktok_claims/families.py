"""Fit, interpret and evaluate the model of a non-binary outcome.

:func:`tiktok_claims.approach.choose_approach` picks the family; this module fits it on
the training part and scores the untouched test part:

* ordered categories (``author_ban_status``) -> proportional-odds (ordinal) logistic
  regression, statsmodels ``OrderedModel``; effects are cumulative odds ratios (the
  odds of a more severe status);
* counts -> Poisson regression (GLM) or, when overdispersed, negative binomial (NB2,
  ``NegativeBinomial`` with its dispersion estimated); effects are rate ratios;
* continuous -> OLS, on log(outcome) when strongly right-skewed (effects are then
  ratios of geometric means), with heteroscedasticity-robust (HC3) standard errors
  when Breusch-Pagan rejects constant variance.

The predictors, their preprocessing (learned on the training part only) and the
readable units of the coefficients are those of the logistic model.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import config
from .approach import ORDERED_LEVELS, Approach
from .errors import AnalysisError
from .features import FeatureSpec, build_preprocessor
from .interpretation import UNIT_NAMES, coefficient_table, format_p, format_ratio

ALPHA = 0.05
MAX_ITER = 1000
# Decile groups of the predictions for the observed-vs-predicted table.
CALIBRATION_GROUPS = 10

# Short names for sentences.
EFFECT_SHORT = {
    "odds ratio (a more severe status)": "odds ratio",
    "rate ratio": "rate ratio",
    "ratio of geometric means": "ratio",
    "difference in the outcome": "difference",
}
OUTCOME_NAMES = {config.DURATION: "video duration (seconds)"}
EFFECT_NAMES = {
    "ordered categories": "odds ratio (a more severe status)",
    "non-negative count": "rate ratio",
    "continuous-log": "ratio of geometric means",
    "continuous": "difference in the outcome",
}


@dataclass(frozen=True)
class FamilyModel:
    """One fitted non-binary model, its coefficients and its test evaluation.

    Attributes
    ----------
    coefficients : DataFrame
        ``name, unit, unit_size, coef, se, z, p_value, ci_low, ci_high, effect,
        effect_ci_low, effect_ci_high, coef_per_sd`` (effects per readable unit;
        ``effect`` is ``exp(coef)`` except for OLS on the original scale).
    test : dict
        Family-specific metrics on the test part, each beside its no-predictor baseline.
    test_table : DataFrame
        Ordinal: the confusion matrix (``observed`` by predicted level). Counts and OLS:
        observed and predicted means per decile of the prediction.
    predictions : DataFrame
        ``observed, predicted`` for each test row (figures).
    """

    approach: Approach
    estimator: str
    effect_name: str
    result: object = field(repr=False)
    preprocessor: object = field(repr=False)
    feature_names: tuple[str, ...]
    coefficients: pd.DataFrame = field(repr=False)
    extra_parameters: dict
    converged: bool
    iterations: int | None
    fit_statistics: dict
    test: dict
    test_table: pd.DataFrame = field(repr=False)
    predictions: pd.DataFrame = field(repr=False)


def fit_family(train: pd.DataFrame, test: pd.DataFrame, spec: FeatureSpec, approach: Approach) -> FamilyModel:
    """Fit ``approach``'s model on ``train`` and evaluate it on ``test``."""
    preprocessor = build_preprocessor(spec.continuous, spec.categorical, spec.log1p).fit(train[spec.columns])
    names = tuple(preprocessor.get_feature_names_out())
    x_train = _design(preprocessor, train, spec, names)
    x_test = _design(preprocessor, test, spec, names)
    scales = pd.Series(preprocessor.named_transformers_["continuous"].scale_, index=list(spec.continuous))
    kind = approach.outcome_type
    if kind == "ordered categories":
        fitted = _ordinal(train, test, x_train, x_test, spec, approach, scales)
    elif kind == "non-negative count":
        fitted = _count(train, test, x_train, x_test, spec, approach, scales)
    elif kind == "continuous":
        fitted = _ols(train, test, x_train, x_test, spec, approach, scales)
    else:
        raise AnalysisError(f"run does not fit a {approach.family} yet; 'tiktok-claims check' gives its checklist.")
    return FamilyModel(approach=approach, preprocessor=preprocessor, feature_names=names, **fitted)


def _design(preprocessor, frame: pd.DataFrame, spec: FeatureSpec, names) -> pd.DataFrame:
    return pd.DataFrame(preprocessor.transform(frame[spec.columns]), columns=list(names), index=frame.index)


def _with_constant(design: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([pd.Series(1.0, index=design.index, name="const"), design], axis=1)


def _effects(table: pd.DataFrame, exponentiate: bool) -> pd.DataFrame:
    """Rename the logistic table's odds-ratio columns to the family's effect."""
    table = table.rename(columns={"odds_ratio": "effect", "or_ci_low": "effect_ci_low", "or_ci_high": "effect_ci_high"})
    if not exponentiate:
        table["effect"], table["effect_ci_low"], table["effect_ci_high"] = table["coef"], table["ci_low"], table["ci_high"]
    return table


def _ordinal(train, test, x_train, x_test, spec, approach, scales) -> dict:
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    levels = list(ORDERED_LEVELS[approach.target])
    codes = pd.Series(pd.Categorical(train[spec.target], categories=levels, ordered=True).codes, index=train.index)
    model = OrderedModel(codes, x_train, distr="logit")
    result = model.fit(method="bfgs", maxiter=MAX_ITER, disp=False)
    converged = bool(result.mle_retvals["converged"])
    slopes = list(x_train.columns)
    table = coefficient_table(_Subset(result, slopes), scales, log1p=spec.log1p)
    cutpoints = model.transform_threshold_params(np.asarray(result.params))[1:-1]
    observed = pd.Categorical(test[spec.target], categories=levels, ordered=True).codes
    probabilities = np.asarray(result.model.predict(result.params, exog=x_test.to_numpy()), dtype=float)
    predicted = probabilities.argmax(axis=1)
    prior = np.bincount(codes, minlength=len(levels)) / len(codes)
    majority = int(prior.argmax())
    metrics = {
        "accuracy": float(accuracy_score(observed, predicted)),
        "accuracy_majority_baseline": float(np.mean(observed == majority)),
        "macro_f1": float(f1_score(observed, predicted, average="macro", labels=range(len(levels)), zero_division=0)),
        "log_loss": float(log_loss(observed, probabilities, labels=range(len(levels)))),
        "log_loss_prior_baseline": float(log_loss(observed, np.tile(prior, (len(observed), 1)), labels=range(len(levels)))),
        "mean_abs_level_error": float(np.mean(np.abs(probabilities @ np.arange(len(levels)) - observed))),
    }
    # The model ranks videos on one severity scale: its AUC at each cut of the order.
    for k in range(1, len(levels)):
        at_least = observed >= k
        if 0 < at_least.sum() < len(at_least):
            metrics[f"roc_auc_at_least_{levels[k].replace(' ', '_')}"] = float(
                roc_auc_score(at_least, probabilities[:, k:].sum(axis=1))
            )
    confusion = pd.crosstab(
        pd.Categorical.from_codes(observed, levels), pd.Categorical.from_codes(predicted, levels), dropna=False
    )
    confusion.index.name, confusion.columns.name = "observed", None
    return {
        "estimator": "maximum likelihood (statsmodels OrderedModel, logit link, BFGS)",
        "effect_name": EFFECT_NAMES["ordered categories"],
        "result": result,
        "coefficients": _effects(table, exponentiate=True),
        "extra_parameters": {f"cutpoint {levels[i]} | {levels[i + 1]}": float(c) for i, c in enumerate(cutpoints)},
        "converged": converged,
        "iterations": result.mle_retvals.get("iterations"),
        "fit_statistics": {
            "log_likelihood": float(result.llf),
            "null_log_likelihood": float(_ordinal_null_llf(codes, len(levels))),
            "mcfadden_pseudo_r2": float(1 - result.llf / _ordinal_null_llf(codes, len(levels))),
            "aic": float(result.aic),
        },
        "test": metrics,
        "test_table": confusion.reset_index().rename(columns=str),
        "predictions": pd.DataFrame({"observed": np.asarray(levels)[observed], "predicted": np.asarray(levels)[predicted],
                                     **{f"p_{lvl}": probabilities[:, i] for i, lvl in enumerate(levels)}}),
    }


def _ordinal_null_llf(codes: pd.Series, n_levels: int) -> float:
    counts = np.bincount(codes, minlength=n_levels)
    shares = counts / counts.sum()
    return float(np.sum(counts[counts > 0] * np.log(shares[counts > 0])))


class _Subset:
    """The slope part of an ordinal fit, read like a results object (no thresholds)."""

    def __init__(self, result, names: list[str]):
        self.params = result.params[names]
        self.bse = result.bse[names]
        self.tvalues = result.tvalues[names]
        self.pvalues = result.pvalues[names]
        self._ci = result.conf_int().loc[names]

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        return self._ci


def _count(train, test, x_train, x_test, spec, approach, scales) -> dict:
    import statsmodels.api as sm
    from scipy.stats import spearmanr
    from sklearn.metrics import d2_tweedie_score, mean_absolute_error, mean_poisson_deviance

    y = train[spec.target].astype(float)
    x = _with_constant(x_train)
    negative_binomial = approach.family.startswith("negative binomial")
    extra: dict = {}
    if negative_binomial:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # exp() of wild trial steps inside the optimizer
            start = sm.GLM(y, x, family=sm.families.Poisson()).fit().params
            result = sm.NegativeBinomial(y, x).fit(
                start_params=np.append(start.to_numpy(), 1.0), method="bfgs", maxiter=MAX_ITER, disp=False
            )
        converged = bool(result.mle_retvals["converged"])
        iterations = result.mle_retvals.get("iterations")
        extra["alpha (NB2 dispersion)"] = float(result.params["alpha"])
        params_names = list(x.columns)
        inference = _Subset(result, params_names)
        estimator = "maximum likelihood (statsmodels NegativeBinomial, NB2, log link, BFGS)"
        mu_test = np.exp(_with_constant(x_test).to_numpy() @ result.params[params_names].to_numpy())
        null = sm.NegativeBinomial(y, np.ones((len(y), 1))).fit(disp=False, maxiter=MAX_ITER)
        null_llf = float(null.llf)
    else:
        result = sm.GLM(y, x, family=sm.families.Poisson()).fit()
        converged, iterations = bool(result.converged), int(result.fit_history["iteration"])
        inference = result
        estimator = "maximum likelihood (statsmodels GLM, Poisson, log link, IRLS)"
        mu_test = np.asarray(result.predict(_with_constant(x_test)), dtype=float)
        null_llf = float(result.llnull)
    table = _effects(coefficient_table(inference, scales, log1p=spec.log1p), exponentiate=True)
    table.loc[table["name"] == "const", "unit"] = "intercept (log of the expected count at the means)"
    observed = test[spec.target].to_numpy(dtype=float)
    baseline = np.full_like(observed, y.mean())
    metrics = {
        "d2_poisson_deviance": float(d2_tweedie_score(observed, mu_test, power=1)),
        "mean_poisson_deviance": float(mean_poisson_deviance(observed, mu_test)),
        "mean_poisson_deviance_mean_baseline": float(mean_poisson_deviance(observed, baseline)),
        "mae": float(mean_absolute_error(observed, mu_test)),
        "mae_mean_baseline": float(mean_absolute_error(observed, baseline)),
        "spearman": float(spearmanr(observed, mu_test).statistic),
        "mean_predicted_over_observed": float(mu_test.mean() / observed.mean()),
        "largest_prediction": float(mu_test.max()),
        "largest_observed": float(observed.max()),
    }
    return {
        "estimator": estimator,
        "effect_name": EFFECT_NAMES["non-negative count"],
        "result": result,
        "coefficients": table,
        "extra_parameters": extra,
        "converged": converged,
        "iterations": iterations,
        "fit_statistics": {
            "log_likelihood": float(result.llf),
            "null_log_likelihood": null_llf,
            "mcfadden_pseudo_r2": float(1 - result.llf / null_llf),
            "aic": float(result.aic),
        },
        "test": metrics,
        "test_table": _by_decile(observed, mu_test),
        "predictions": pd.DataFrame({"observed": observed, "predicted": mu_test}),
    }


def _ols(train, test, x_train, x_test, spec, approach, scales) -> dict:
    import statsmodels.api as sm
    from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
    from statsmodels.stats.diagnostic import het_breuschpagan

    logged = approach.family.endswith("log(outcome)")
    y = train[spec.target].astype(float)
    y_model = np.log(y) if logged else y
    x = _with_constant(x_train)
    ordinary = sm.OLS(y_model, x).fit()
    _, bp_p, _, _ = het_breuschpagan(ordinary.resid, x)
    robust = bp_p < ALPHA
    result = sm.OLS(y_model, x).fit(cov_type="HC3") if robust else ordinary
    table = _effects(coefficient_table(result, scales, log1p=spec.log1p), exponentiate=logged)
    table.loc[table["name"] == "const", "unit"] = (
        "intercept (log of the outcome at the means)" if logged else "intercept (the outcome at the means)"
    )
    prediction = np.asarray(result.predict(_with_constant(x_test)), dtype=float)
    if logged:
        # Duan's smearing estimate turns predictions of log(y) into predictions of y's mean.
        prediction = np.exp(prediction) * float(np.mean(np.exp(ordinary.resid)))
    observed = test[spec.target].to_numpy(dtype=float)
    baseline = np.full_like(observed, y.mean())
    metrics = {
        "r2": float(r2_score(observed, prediction)),
        "rmse": float(root_mean_squared_error(observed, prediction)),
        "rmse_mean_baseline": float(root_mean_squared_error(observed, baseline)),
        "mae": float(mean_absolute_error(observed, prediction)),
        "mae_mean_baseline": float(mean_absolute_error(observed, baseline)),
    }
    return {
        "estimator": "ordinary least squares" + (" with HC3 robust standard errors (Breusch-Pagan p < 0.05)" if robust else ""),
        "effect_name": EFFECT_NAMES["continuous-log" if logged else "continuous"],
        "result": result,
        "coefficients": table,
        "extra_parameters": {"residual standard deviation": float(np.sqrt(ordinary.scale))},
        "converged": True,
        "iterations": None,
        "fit_statistics": {
            "log_likelihood": float(result.llf),
            "r2_train": float(result.rsquared),
            "adjusted_r2_train": float(result.rsquared_adj),
            "aic": float(result.aic),
        },
        "test": metrics,
        "test_table": _by_decile(observed, prediction),
        "predictions": pd.DataFrame({"observed": observed, "predicted": prediction}),
    }


def _by_decile(observed: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """Mean observed and predicted outcome per decile of the prediction."""
    order = np.argsort(predicted, kind="stable")
    groups = np.array_split(order, CALIBRATION_GROUPS)
    return pd.DataFrame(
        [
            {
                "group": i + 1,
                "n": len(g),
                "predicted_low": float(predicted[g].min()),
                "predicted_high": float(predicted[g].max()),
                "mean_predicted": float(predicted[g].mean()),
                "mean_observed": float(observed[g].mean()),
            }
            for i, g in enumerate(groups)
            if len(g)
        ]
    )


def model_description(model: FamilyModel, spec: FeatureSpec, metrics: dict, seed: int) -> dict:
    """The fitted model as plain JSON (``model.json`` of a non-binary run), for reading.

    ``score`` ranks videos with binary models only and refuses this file by its ``kind``.
    """
    scaler = model.preprocessor.named_transformers_["continuous"]
    inputs = [
        {"name": name, "mean": float(mean), "scale": float(scale), "transform": "log1p" if name in spec.log1p else "identity"}
        for name, mean, scale in zip(spec.continuous, scaler.mean_, scaler.scale_)
    ]
    inputs += [{"name": name, "categories": list(config.CATEGORIES[name])} for name in spec.categorical]
    return {
        "kind": "tiktok-claims model description",
        "target": model.approach.target,
        "model_family": model.approach.family,
        "estimator": model.estimator,
        "inputs": inputs,
        "coefficients_per_sd": {row["name"]: row["coef_per_sd"] for row in metrics["coefficients"]},
        "extra_parameters": model.extra_parameters,
        "training_data": {key: metrics["data"][key] for key in ("source", "synthetic", "sha256", "rows_read", "rows_used")},
        "seed": seed,
        "tool_version": metrics["tool"]["version"],
    }


def family_findings(model: FamilyModel, outcome_phrase: str) -> list[dict]:
    """One plain sentence per predictor, strongest evidence first, with the numbers it quotes."""
    exponentiated = model.effect_name != EFFECT_NAMES["continuous"]
    findings = []
    terms = model.coefficients[model.coefficients["name"] != "const"].sort_values("p_value")
    for row in terms.itertuples(index=False):
        ci = f"95% CI {_fmt(row.effect_ci_low, exponentiated)} to {_fmt(row.effect_ci_high, exponentiated)}, {format_p(row.p_value)}"
        if row.name in UNIT_NAMES:
            change = "each " + str(row.unit).removeprefix("per ")
        else:
            change = f"being {row.unit}"
        if exponentiated:
            direction = "multiplies" if row.effect >= 1 else "divides"
            factor = row.effect if row.effect >= 1 else 1 / row.effect
            effect = f"{direction} {outcome_phrase} by {format_ratio(factor)} ({EFFECT_SHORT[model.effect_name]} {format_ratio(row.effect)})"
        else:
            effect = f"changes {outcome_phrase} by {row.effect:+,.2f}"
        findings.append(
            {
                "name": row.name,
                "sentence": f"Holding the other characteristics fixed, {change} {effect} ({ci}).",
                "effect": float(row.effect),
                "effect_ci_low": float(row.effect_ci_low),
                "effect_ci_high": float(row.effect_ci_high),
                "p_value": float(row.p_value),
                "significant": bool(row.p_value < ALPHA),
            }
        )
    return findings


def _fmt(value: float, ratio: bool) -> str:
    if not math.isfinite(value):
        return "–"
    return format_ratio(value) if ratio else f"{value:+,.2f}"


def outcome_phrase(approach: Approach) -> str:
    """How sentences name the modelled quantity."""
    target = OUTCOME_NAMES.get(approach.target, approach.target.replace("_", " "))
    if approach.outcome_type == "ordered categories":
        return "the odds of a more severe author ban status"
    if approach.outcome_type == "non-negative count":
        return f"the expected {target}"
    if approach.family.endswith("log(outcome)"):
        return f"the typical (geometric-mean) {target}"
    return f"the expected {target}"

