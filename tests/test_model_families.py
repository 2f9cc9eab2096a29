"""The non-binary model families (``model/families.py``): each fit against a hand-built
statsmodels model on a design built here with numpy (conftest ``design_by_hand``), on a
synthetic frame prepared as ``run`` prepares it (conftest ``family_parts``).

Their test metrics are in test_evaluation_families.py; ``run --target`` end to end in
test_analysis_families.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.miscmodels.ordinal_model import OrderedModel

from tiktok_claims import config
from tiktok_claims.approach import ORDERED_LEVELS, Family, OutcomeKind
from tiktok_claims.errors import AnalysisError
from tiktok_claims.interpretation.effects import family_coefficients
from tiktok_claims.model.families import fit_family


def test_count_model_matches_statsmodels_on_a_hand_built_design(family_parts, design_by_hand):
    parts = family_parts(config.VIEWS)
    approach, train, spec = parts.approach, parts.train, parts.spec
    fit = fit_family(train, spec, approach)
    coefficients = family_coefficients(fit)
    x = sm.add_constant(design_by_hand(train, train, spec))
    y = train[config.VIEWS].astype(float)
    if approach.family is Family.NEGATIVE_BINOMIAL:
        reference = sm.NegativeBinomial(y, x).fit(disp=False, maxiter=1000, method="bfgs")
        params = reference.params.drop("alpha")
        assert fit.extra_parameters["alpha (NB2 dispersion)"] == pytest.approx(reference.params["alpha"], rel=1e-3)
    else:
        params = sm.GLM(y, x, family=sm.families.Poisson()).fit().params
    ours = coefficients.set_index("name")["coef_per_sd"]
    np.testing.assert_allclose(ours[params.index], params, rtol=1e-3, atol=1e-4)
    # Rate ratios per readable unit: exp(coef per SD * unit / SD).
    row = coefficients.set_index("name").loc[config.DURATION]
    sd = train[config.DURATION].std(ddof=0)
    assert row["effect"] == pytest.approx(np.exp(params[config.DURATION] * row["unit_size"] / sd), rel=1e-3)


def test_ordinal_model_matches_ordered_model(family_parts, design_by_hand):
    parts = family_parts(config.BAN)
    approach, train, spec = parts.approach, parts.train, parts.spec
    assert approach.family is Family.ORDINAL_LOGIT
    fit = fit_family(train, spec, approach)
    levels = list(ORDERED_LEVELS[config.BAN])
    codes = pd.Categorical(train[config.BAN], categories=levels, ordered=True).codes
    reference = OrderedModel(codes, design_by_hand(train, train, spec), distr="logit").fit(method="bfgs", disp=False, maxiter=1000)
    slopes = family_coefficients(fit).set_index("name")["coef_per_sd"]
    np.testing.assert_allclose(slopes, reference.params[slopes.index], rtol=1e-3, atol=1e-4)
    assert fit.levels == tuple(levels)


def test_ols_uses_robust_errors_exactly_when_breusch_pagan_rejects(family_parts, design_by_hand):
    from statsmodels.stats.diagnostic import het_breuschpagan

    parts = family_parts(config.DURATION)
    approach, train, spec = parts.approach, parts.train, parts.spec
    assert approach.kind is OutcomeKind.CONTINUOUS
    fit = fit_family(train, spec, approach)
    x = sm.add_constant(design_by_hand(train, train, spec))
    y = train[config.DURATION].astype(float)
    if approach.family is Family.LOG_OLS:
        y = np.log(y)
    beta, *_ = np.linalg.lstsq(x.to_numpy(), y.to_numpy(), rcond=None)
    ours = family_coefficients(fit).set_index("name")
    np.testing.assert_allclose(ours["coef_per_sd"][list(x.columns)], beta, rtol=1e-6, atol=1e-8)
    ordinary = sm.OLS(y, x).fit()
    robust = het_breuschpagan(ordinary.resid, x)[1] < 0.05
    reference = sm.OLS(y, x).fit(cov_type="HC3") if robust else ordinary
    assert ("HC3" in fit.estimator) == robust
    scale = ours["coef"] / ours["coef_per_sd"]
    np.testing.assert_allclose((ours["se"] / scale)[list(x.columns)], reference.bse, rtol=1e-6)


def test_a_binary_outcome_is_not_fitted_here(family_parts):
    parts = family_parts(config.VERIFIED)

    with pytest.raises(AnalysisError, match="run does not fit a binomial logistic regression"):
        fit_family(parts.train, parts.spec, parts.approach)
