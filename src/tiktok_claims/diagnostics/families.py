"""The checklists of the other model families: counts, continuous outcomes, ordered categories."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.discrete.discrete_model import MNLogit, NegativeBinomial
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.diagnostic import het_breuschpagan, linear_reset
from statsmodels.stats.stattools import durbin_watson, jarque_bera
from statsmodels.tools.tools import add_constant

from ..approach import ORDERED_LEVELS, Approach, Family, OutcomeKind
from ..errors import AnalysisError
from ..model.features import FeatureSpec, vif_table
from .check import ALPHA, Check, vif_check
from .statistics import COOKS_MULTIPLIER

DISPERSION_WARN = 1.5
EXCESS_ZEROS_RATIO = 1.5
EXCESS_ZEROS_MIN = 10
COOKS_HIGH = 1.0


def check_family(train: pd.DataFrame, spec: FeatureSpec, approach: Approach) -> list[Check]:
    """The checklist for a count, continuous or ordered-category outcome.

    Each model is fitted on the training part's standardized design (the same
    preprocessing as the logistic model). Counts: dispersion (with the
    Cameron-Trivedi test), excess zeros, influence and VIF. OLS: linearity (Ramsey
    RESET), homoscedasticity (Breusch-Pagan), normality of residuals (Jarque-Bera),
    independence (Durbin-Watson), influence and VIF. Ordinal: proportional odds (a
    likelihood-ratio comparison with the multinomial logit) and VIF.
    """
    preprocessor = spec.preprocessor()
    design = pd.DataFrame(
        preprocessor.fit_transform(train), columns=preprocessor.get_feature_names_out(), index=train.index
    )
    vif = vif_check(vif_table(train, spec.continuous, spec.categorical, spec.log1p), spec)
    if approach.kind is OutcomeKind.COUNT:
        return [*_count_checks(design, train[spec.target].astype(float), approach), vif]
    if approach.kind is OutcomeKind.CONTINUOUS:
        y = train[spec.target].astype(float)
        if approach.family is Family.LOG_OLS:
            y = np.log(y)
        return [*_ols_checks(design, y), vif]
    if approach.kind is OutcomeKind.ORDINAL:
        return [_proportional_odds_check(design, train[spec.target], approach), vif]
    raise AnalysisError(f"no checklist for a {approach.label}.")


def _count_checks(design: pd.DataFrame, y: pd.Series, approach) -> list[Check]:
    x = add_constant(design, has_constant="add")
    poisson = GLM(y, x, family=families.Poisson()).fit()
    mu = np.asarray(poisson.fittedvalues, dtype=float)
    dispersion = float(poisson.pearson_chi2 / poisson.df_resid)
    # Cameron & Trivedi (1990): regress ((y - mu)^2 - y) / mu on mu, no constant; t-test of the slope.
    auxiliary = OLS(((y.to_numpy() - mu) ** 2 - y.to_numpy()) / mu, mu).fit()
    ct_p = float(auxiliary.pvalues[0])
    negative_binomial = approach.family is Family.NEGATIVE_BINOMIAL
    checks = [
        Check(
            name="Dispersion (Poisson variance = mean)",
            statistic=dispersion,
            p_value=ct_p,
            threshold=(
                f"Pearson chi-squared / df of the Poisson fit: warn > {DISPERSION_WARN:g}"
                + (" unless the model is negative binomial (as here)" if negative_binomial else "")
                + "; p: Cameron-Trivedi test"
            ),
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
        model = NegativeBinomial(y, x).fit(disp=False, maxiter=300, method="bfgs")
        alpha = float(model.params["alpha"])
        mu = np.asarray(model.predict(x), dtype=float)
        expected_zeros = float(np.sum((1 / (1 + alpha * mu)) ** (1 / alpha)))
        glm = GLM(y, x, family=families.NegativeBinomial(alpha=alpha)).fit()
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
    x = add_constant(design, has_constant="add")
    result = OLS(y, x).fit()
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
    levels = ORDERED_LEVELS[approach.target]
    codes = pd.Series(pd.Categorical(outcome, categories=levels, ordered=True).codes, index=outcome.index)
    ordered = OrderedModel(codes, design, distr="logit").fit(method="bfgs", disp=False, maxiter=500)
    multinomial = MNLogit(codes, add_constant(design, has_constant="add")).fit(disp=False, maxiter=200)
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
