"""Risk bands and value at risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnkit.actions import band_order, risk_band, value_at_risk
from churnkit.exceptions import SchemaError


def test_default_bands_lower_bounds_are_inclusive():
    prob = pd.Series([0.0, 0.1999, 0.2, 0.4999, 0.5, 1.0], index=list("abcdef"))
    bands = risk_band(prob)
    assert bands.tolist() == ["low", "low", "medium", "medium", "high", "high"]
    assert bands.index.tolist() == list("abcdef")
    assert bands.name == "risk_band"


def test_custom_bands_in_any_order():
    bands = {"watch": 0.1, "critical": 0.8, "high": 0.4}
    assert risk_band([0.05, 0.1, 0.5, 0.9], bands, default="fine").tolist() == [
        "fine", "watch", "high", "critical",
    ]
    assert band_order(bands, default="fine") == ["critical", "high", "watch", "fine"]


@pytest.mark.parametrize(
    ("bands", "match"),
    [
        ({"high": 1.5}, r"thresholds must be numbers in \[0, 1\]"),
        ({"high": "0.5"}, r"thresholds must be numbers"),
        ({"high": 0.5, "medium": 0.5}, "thresholds must be distinct"),
        ({}, "non-empty mapping"),
        ([0.5], "non-empty mapping"),
        ({"low": 0.3}, "'low' is the name of the band below all thresholds"),
        ({"": 0.3}, "band names must be non-empty strings"),
    ],
)
def test_bad_bands(bands, match):
    with pytest.raises(ValueError, match=match):
        risk_band([0.3], bands)


def test_bad_probabilities_name_the_rows():
    with pytest.raises(SchemaError, match=r"outside \[0, 1\] or missing at rows \['b', 'c'\]"):
        risk_band(pd.Series([0.2, 1.2, np.nan], index=["a", "b", "c"]))


def test_value_at_risk():
    prob = pd.Series([0.5, 0.1, 0.9], index=[7, 8, 9])
    var = value_at_risk(prob, [100.0, 1000.0, None])
    assert var.index.tolist() == [7, 8, 9]
    np.testing.assert_allclose(var.to_numpy(), [600.0, 1200.0, np.nan])
    assert value_at_risk([0.5], [100.0], value_horizon_months=3).tolist() == [150.0]
    with pytest.raises(ValueError, match="'value_horizon_months' parameter"):
        value_at_risk([0.5], [100.0], value_horizon_months=0)
    with pytest.raises(SchemaError, match="monthly_value has 2 entries"):
        value_at_risk([0.5], [1.0, 2.0])
