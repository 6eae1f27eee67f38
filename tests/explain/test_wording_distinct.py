"""Reason values formatted once per distinct value read exactly as formatted one by one."""

from __future__ import annotations

import numpy as np
import pytest

from churnkit._core import per_distinct
from churnkit.explain._values import format_value, whole_if_shown_whole

FEATURES = ["contacts__days_since_last", "usage__count__90d", "static__tenure",
            "usage__minutes__change__365d", "contacts__count__trend__90d",
            "contacts__unresolved__share__90d", "transactions__amount__monthly__90d",
            "feedback__nps__mean__90d", "static__monthly_charges"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("feature", "spec"), [(f, "") for f in FEATURES]
                         + [("x", ",.0f"), ("x", ".0f"), ("x", "+,.0f"), ("x", ".1f"), ("x", ".0%"),
                            ("x", "+.0%"), ("x", ".1%"), ("usage__logins__change_ratio__365d", "")])
def test_rounded_values_read_as_the_values_themselves(feature, spec, dtype):
    rng = np.random.default_rng(0)
    values = np.concatenate([
        rng.normal(0, 50, 400), rng.normal(0, 0.6, 200), np.arange(-3, 3.5, 0.5),
        [0.0, -0.0, -0.4, 0.4, 0.5, 1.5, 2.5, -2.5, 1e6 + 0.5, np.nan, np.inf, -np.inf],
        # shares on and near the half percent, where rounding goes either way
        rng.integers(-300, 300, 300) / 200, rng.integers(-300, 300, 300) / 200 + 1e-12,
        [0.005, 0.015, 0.125, 0.285, -0.005, -0.004, 0.575, 1.005],
    ]).astype(dtype)
    one_by_one = [format_value(v, feature, spec) for v in values]
    distinct = per_distinct(whole_if_shown_whole(values, feature, spec),
                            lambda v: format_value(v, feature, spec)).tolist()
    # -0.0 is one value with 0.0 to a hash table: it reads as 0.0 does
    zero = format_value(dtype(0.0), feature, spec)
    expected = [zero if v == 0 else t for t, v in zip(one_by_one, values, strict=True)]
    assert distinct == expected
