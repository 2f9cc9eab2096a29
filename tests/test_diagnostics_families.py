"""The checklists of the other model families (``diagnostics/families.py``) on the real data,
against hand computations: the Poisson dispersion and Cameron-Trivedi slope, Breusch-Pagan
and Durbin-Watson by least squares, the ordinal-vs-multinomial degrees of freedom."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.stats import chi2

from tiktok_claims import config
from tiktok_claims.approach import Family, choose_approach
from tiktok_claims.diagnostics.families import check_family
from tiktok_claims.model.features import build_preprocessor, select_features
from tiktok_claims.model.split import split


def _family_inputs(real_dataset, target):
    frame = real_dataset.frame
    approach = choose_approach(frame, target)
    train = frame.loc[split(frame, None, 42).train]
    return train, select_features(train, target), approach


def test_count_target_dispersion_and_cameron_trivedi_match_a_hand_computation(real_dataset):
    train, spec, approach = _family_inputs(real_dataset, "video_comment_count")
    checks = {c.name: c for c in check_family(train, spec, approach)}
    design = build_preprocessor(spec.continuous, spec.categorical).fit_transform(train)
    x = np.column_stack([np.ones(len(design)), design])
    y = train["video_comment_count"].to_numpy(dtype=float)
    mu = sm.GLM(y, x, family=sm.families.Poisson()).fit().fittedvalues
    pearson = np.sum((y - mu) ** 2 / mu) / (len(y) - x.shape[1])
    slope, *_ = np.linalg.lstsq(mu[:, None], ((y - mu) ** 2 - y) / mu, rcond=None)

    dispersion = checks["Dispersion (Poisson variance = mean)"]
    assert approach.family is Family.NEGATIVE_BINOMIAL
    assert dispersion.statistic == pytest.approx(pearson, rel=1e-8)
    assert slope[0] > 0 and dispersion.p_value < 0.05  # overdispersion, as the slope says
    assert "video_download_count" not in spec.continuous  # the leakage guard left the near-copy out


def test_ols_target_breusch_pagan_and_durbin_watson_match_hand_computations(real_dataset):
    train, spec, approach = _family_inputs(real_dataset, "video_duration_sec")
    checks = {c.name: c for c in check_family(train, spec, approach)}
    design = build_preprocessor(spec.continuous, spec.categorical).fit_transform(train)
    x = np.column_stack([np.ones(len(design)), design])
    y = train["video_duration_sec"].to_numpy(dtype=float)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    squared = resid**2
    fitted, *_ = np.linalg.lstsq(x, squared, rcond=None)
    r2 = 1 - np.sum((squared - x @ fitted) ** 2) / np.sum((squared - squared.mean()) ** 2)
    lm_p = chi2.sf(len(y) * r2, x.shape[1] - 1)
    dw = np.sum(np.diff(resid) ** 2) / np.sum(resid**2)

    assert checks["Homoscedasticity (Breusch-Pagan)"].p_value == pytest.approx(lm_p, rel=1e-6)
    assert checks["Independence (Durbin-Watson)"].statistic == pytest.approx(dw, rel=1e-10)


def test_ordinal_target_compares_with_the_multinomial_on_the_right_degrees_of_freedom(real_dataset):
    train, spec, approach = _family_inputs(real_dataset, "author_ban_status")
    check = check_family(train, spec, approach)[0]
    n_encoded = len(spec.continuous) + sum(len(config.CATEGORIES[c]) - 1 for c in spec.categorical)

    assert approach.family is Family.ORDINAL_LOGIT
    assert f"({n_encoded} df" in check.threshold  # 2 x (p + 1) multinomial - (p + 2) ordinal parameters
    assert check.statistic > 0 and check.verdict in ("pass", "warn")
