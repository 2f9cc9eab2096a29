"""One assumption check (``diagnostics/check.py``): the record every report renders, and
the VIF verdict, checked against hand computations (``sqrt(VIF)``, the stated limits)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from tiktok_claims import config
from tiktok_claims.diagnostics.check import VIF_FAIL, VIF_WARN, Check, vif_check
from tiktok_claims.model.features import FeatureSpec


def test_check_record_is_json_safe_and_excludes_details():
    check = Check("x", math.nan, 0.5, "t", "warn", "c", "r", details=pd.DataFrame({"a": [1]}))
    record = check.to_record()
    assert record == {
        "name": "x", "statistic": None, "p_value": 0.5, "threshold": "t",
        "verdict": "warn", "consequence": "c", "remedy": "r",
    }
    json.dumps(record, allow_nan=False)


def test_check_refuses_an_unknown_verdict():
    with pytest.raises(ValueError, match="verdict must be one of pass, warn, fail; got 'ok'"):
        Check("x", 1.0, None, "t", "ok", "c", "r")


def test_check_record_turns_every_non_finite_number_into_none_and_keeps_finite_ones_as_floats():
    record = Check("x", float("inf"), float("-inf"), "t", "pass", "c", "r").to_record()
    assert (record["statistic"], record["p_value"]) == (None, None)

    record = Check("x", np.float64(2.5), np.float32(0.25), "t", "pass", "c", "r").to_record()
    assert (record["statistic"], record["p_value"]) == (2.5, 0.25)
    assert type(record["statistic"]) is float and type(record["p_value"]) is float
    json.dumps(record, allow_nan=False)


def _spec(dropped: dict[str, str]) -> FeatureSpec:
    return FeatureSpec(
        target=config.VERIFIED, continuous=(config.DURATION, config.VIEWS), categorical=(config.CLAIM,),
        dropped=dropped, vif_rounds=pd.DataFrame(), correlated_pairs=pd.DataFrame(),
    )


def _vif(largest: float) -> pd.DataFrame:
    return pd.DataFrame({"feature": [config.DURATION, config.VIEWS, f"{config.CLAIM}_opinion"], "vif": [1.2, largest, 1.1]})


@pytest.mark.parametrize(
    ("largest", "verdict"),
    [(1.5, "pass"), (VIF_WARN, "pass"), (VIF_WARN + 1e-9, "warn"), (VIF_FAIL, "warn"), (VIF_FAIL + 1e-9, "fail"), (250.0, "fail")],
)
def test_vif_verdict_follows_the_stated_limits(largest, verdict):
    assert (VIF_WARN, VIF_FAIL) == (config.VIF_LIMIT, 10.0)

    check = vif_check(_vif(largest), _spec({}))

    assert check.verdict == verdict
    assert check.statistic == largest
    assert check.p_value is None
    assert f"warn > {VIF_WARN:g}, fail > {VIF_FAIL:g}" in check.threshold


def test_vif_consequence_names_the_worst_predictor_and_its_standard_error_inflation():
    check = vif_check(_vif(7.29), _spec({}))

    assert f"The largest VIF is 7.29 ({config.VIEWS})" in check.consequence
    assert f"{math.sqrt(7.29):.2f}-fold" in check.consequence  # 2.70
    assert check.details is not None and check.details["vif"].max() == 7.29


def test_vif_remedy_says_what_the_rule_already_dropped():
    dropped = {config.LIKES: "VIF 7.01 > 5: most correlated with video_view_count", config.SHARES: "near-copy of the target"}

    passing = vif_check(_vif(1.5), _spec(dropped))
    warning = vif_check(_vif(6.0), _spec(dropped))

    assert passing.remedy == f"The VIF rule already dropped {config.LIKES}. None needed."
    assert warning.remedy.startswith(f"The VIF rule already dropped {config.LIKES}. Drop or combine")
    assert config.SHARES not in warning.remedy
    assert vif_check(_vif(1.5), _spec({})).remedy == "None needed."
