"""Fit the model of a non-binary outcome on the training part (and nothing else).

:func:`tiktok_claims.approach.choose_approach` picks the family; :func:`fit_family` fits it:

* ordered categories (``author_ban_status``) -> proportional-odds (ordinal) logistic
  regression, statsmodels ``OrderedModel``; effects are cumulative odds ratios (the
  odds of a more severe status);
* counts -> Poisson regression (GLM) or, when overdispersed, negative binomial (NB2,
  ``NegativeBinomial`` with its dispersion estimated); effects are rate ratios;
* continuous -> OLS, on log(outcome) when strongly right-skewed (effects are then
  ratios of geometric means), with heteroscedasticity-robust (HC3) standard errors
  when Breusch-Pagan rejects constant variance.

The predictors and their preprocessing (learned on the training part only) are those of
the logistic model. Interpretation (:mod:`tiktok_claims.interpretation`) and test
evaluation (:mod:`tiktok_claims.evaluation.families`) read the :class:`FamilyFit`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from statsmodels.discrete.discrete_model import Logit, NegativeBinomial
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.diagnostic import het_breuschpagan

from ..approach import ORDERED_LEVELS, Approach, Family, OutcomeKind
from ..errors import AnalysisError
from .features import FeatureSpec

ALPHA = 0.05
MAX_ITER = 1000


@dataclass(frozen=True)
class FamilyFit:
    """One fitted non-binary model.

    Attributes
    ----------
    inference : results object
        What :func:`tiktok_claims.interpretation.coefficient_table` reads (``params``,
        ``bse``, ``tvalues``, ``pvalues``, ``conf_int``) for the constant and slopes only.
    scales : Series
        The training part's standard deviation of each continuous predictor (as entered).
    levels : tuple of str
        The ordered levels of an ordinal outcome (empty otherwise).
    smearing : float
        Duan's smearing factor of a log-scale OLS (1 otherwise).
    """

    approach: Approach
    spec: FeatureSpec = field(repr=False)
    estimator: str
    result: object = field(repr=False)
    inference: object = field(repr=False)
    preprocessor: object = field(repr=False)
    feature_names: tuple[str, ...]
    scales: pd.Series = field(repr=False)
    extra_parameters: dict
    converged: bool
    iterations: int | None
    fit_statistics: dict
    levels: tuple[str, ...] = ()
    smearing: float = 1.0
    cuts: dict = field(default_factory=dict, repr=False)
    """Ordinal outcomes: a binary logit of "at least this level" for each step of the order,
    by its level (what the proportional-odds model assumes share one set of slopes)."""

    def design(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The encoded predictors of ``frame`` (preprocessing learned on the training part)."""
        columns = self.spec.columns
        return pd.DataFrame(self.preprocessor.transform(frame[columns]), columns=list(self.feature_names), index=frame.index)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Ordinal: each level's probability (rows × levels). Counts and OLS: the expected outcome."""
        x = self.design(frame)
        family = self.approach.family
        if family is Family.ORDINAL_LOGIT:
            return np.asarray(self.result.model.predict(self.result.params, exog=x.to_numpy()), dtype=float)
        linear = _with_constant(x).to_numpy() @ self.inference.params.to_numpy()
        if family in (Family.POISSON, Family.NEGATIVE_BINOMIAL):
            return np.exp(linear)
        if family is Family.LOG_OLS:
            return np.exp(linear) * self.smearing
        return linear


def fit_family(train: pd.DataFrame, spec: FeatureSpec, approach: Approach) -> FamilyFit:
    """Fit ``approach``'s model on the training part ``train``."""
    preprocessor = spec.preprocessor().fit(train[spec.columns])
    names = tuple(preprocessor.get_feature_names_out())
    x_train = pd.DataFrame(preprocessor.transform(train[spec.columns]), columns=list(names), index=train.index)
    scales = pd.Series(preprocessor.named_transformers_["continuous"].scale_, index=list(spec.continuous))
    kind = approach.kind
    if kind is OutcomeKind.ORDINAL:
        fitted = _ordinal(train[spec.target], x_train, approach)
    elif kind is OutcomeKind.COUNT:
        fitted = _count(train[spec.target].astype(float), x_train, approach)
    elif kind is OutcomeKind.CONTINUOUS:
        fitted = _ols(train[spec.target].astype(float), x_train, approach)
    else:
        raise AnalysisError(f"run does not fit a {approach.label} yet; 'tiktok-claims check' gives its checklist.")
    return FamilyFit(
        approach=approach, spec=spec, preprocessor=preprocessor, feature_names=names, scales=scales, **fitted
    )


def _with_constant(design: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([pd.Series(1.0, index=design.index, name="const"), design], axis=1)


def _ordinal(outcome: pd.Series, x_train: pd.DataFrame, approach: Approach) -> dict:
    levels = ORDERED_LEVELS[approach.target]
    codes = pd.Series(pd.Categorical(outcome, categories=levels, ordered=True).codes, index=outcome.index)
    model = OrderedModel(codes, x_train, distr="logit")
    result = model.fit(method="bfgs", maxiter=MAX_ITER, disp=False)
    cutpoints = model.transform_threshold_params(np.asarray(result.params))[1:-1]
    null_llf = _ordinal_null_llf(codes, len(levels))
    x = _with_constant(x_train)
    cuts = {
        level: Logit((codes >= k).astype(float), x).fit(method="newton", maxiter=100, disp=False)
        for k, level in enumerate(levels)
        if k > 0
    }
    return {
        "estimator": "maximum likelihood (statsmodels OrderedModel, logit link, BFGS)",
        "result": result,
        "inference": _Subset(result, list(x_train.columns)),
        "extra_parameters": {f"cutpoint {levels[i]} | {levels[i + 1]}": float(c) for i, c in enumerate(cutpoints)},
        "converged": bool(result.mle_retvals["converged"]),
        "iterations": result.mle_retvals.get("iterations"),
        "fit_statistics": {
            "log_likelihood": float(result.llf),
            "null_log_likelihood": null_llf,
            "mcfadden_pseudo_r2": float(1 - result.llf / null_llf),
            "aic": float(result.aic),
        },
        "levels": tuple(levels),
        "cuts": cuts,
    }


def _ordinal_null_llf(codes: pd.Series, n_levels: int) -> float:
    counts = np.bincount(codes, minlength=n_levels)
    shares = counts / counts.sum()
    return float(np.sum(counts[counts > 0] * np.log(shares[counts > 0])))


class _Subset:
    """Some parameters of a fit, read like a results object (the ordinal slopes, the NB2 mean model)."""

    def __init__(self, result, names: list[str]):
        self.params = result.params[names]
        self.bse = result.bse[names]
        self.tvalues = result.tvalues[names]
        self.pvalues = result.pvalues[names]
        self._ci = result.conf_int().loc[names]

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        return self._ci


def _count(y: pd.Series, x_train: pd.DataFrame, approach: Approach) -> dict:
    x = _with_constant(x_train)
    extra: dict = {}
    if approach.family is Family.NEGATIVE_BINOMIAL:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # exp() of wild trial steps inside the optimizer
            start = GLM(y, x, family=families.Poisson()).fit().params
            result = NegativeBinomial(y, x).fit(
                start_params=np.append(start.to_numpy(), 1.0), method="bfgs", maxiter=MAX_ITER, disp=False
            )
        converged = bool(result.mle_retvals["converged"])
        iterations = result.mle_retvals.get("iterations")
        extra["alpha (NB2 dispersion)"] = float(result.params["alpha"])
        inference = _Subset(result, list(x.columns))
        estimator = "maximum likelihood (statsmodels NegativeBinomial, NB2, log link, BFGS)"
        null_llf = float(NegativeBinomial(y, np.ones((len(y), 1))).fit(disp=False, maxiter=MAX_ITER).llf)
    else:
        result = GLM(y, x, family=families.Poisson()).fit()
        converged, iterations = bool(result.converged), int(result.fit_history["iteration"])
        inference = result
        estimator = "maximum likelihood (statsmodels GLM, Poisson, log link, IRLS)"
        null_llf = float(result.llnull)
    return {
        "estimator": estimator,
        "result": result,
        "inference": inference,
        "extra_parameters": extra,
        "converged": converged,
        "iterations": iterations,
        "fit_statistics": {
            "log_likelihood": float(result.llf),
            "null_log_likelihood": null_llf,
            "mcfadden_pseudo_r2": float(1 - result.llf / null_llf),
            "aic": float(result.aic),
        },
    }


def _ols(y: pd.Series, x_train: pd.DataFrame, approach: Approach) -> dict:
    logged = approach.family is Family.LOG_OLS
    y_model = np.log(y) if logged else y
    x = _with_constant(x_train)
    ordinary = OLS(y_model, x).fit()
    _, bp_p, _, _ = het_breuschpagan(ordinary.resid, x)
    robust = bp_p < ALPHA
    result = OLS(y_model, x).fit(cov_type="HC3") if robust else ordinary
    return {
        "estimator": "ordinary least squares" + (" with HC3 robust standard errors (Breusch-Pagan p < 0.05)" if robust else ""),
        "result": result,
        "inference": result,
        "extra_parameters": {"residual standard deviation": float(np.sqrt(ordinary.scale))},
        "converged": True,
        "iterations": None,
        "fit_statistics": {
            "log_likelihood": float(result.llf),
            "r2_train": float(result.rsquared),
            "adjusted_r2_train": float(result.rsquared_adj),
            "aic": float(result.aic),
        },
        # Duan's smearing estimate turns predictions of log(y) into predictions of y's mean.
        "smearing": float(np.mean(np.exp(ordinary.resid))) if logged else 1.0,
    }
