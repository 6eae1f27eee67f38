"""CLV formula and value by segment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnkit.exceptions import SchemaError
from churnkit.retention import activity_crr, customer_lifetime_value, value_by_segment


def test_clv_formula_hand_computed() -> None:
    # No discounting: margin × value × lifetime = 0.3 × 100 × 1 / 0.05.
    assert customer_lifetime_value(100.0, 0.05, margin=0.3) == pytest.approx(600.0)
    # m·v·(1 + d) / (1 + d − r) with r = 0.95, d = 0.01: 30 × 1.01 / 0.06.
    assert customer_lifetime_value(100.0, 0.05, margin=0.3, discount_rate=0.01) == pytest.approx(505.0)
    # The closed form equals the discounted geometric series.
    months = np.arange(2000)
    series = (0.3 * 100.0 * 0.95**months / 1.01**months).sum()
    assert customer_lifetime_value(100.0, 0.05, margin=0.3, discount_rate=0.01) == pytest.approx(series)
    arr = customer_lifetime_value(np.array([10.0, 10.0, 10.0]), np.array([0.1, 0.0, np.nan]))
    assert arr[0] == pytest.approx(100.0)
    assert np.isinf(arr[1])
    assert np.isnan(arr[2])
    assert customer_lifetime_value(10.0, 0.0, discount_rate=0.01) == pytest.approx(1010.0)
    with pytest.raises(ValueError, match="'margin' parameter of customer_lifetime_value"):
        customer_lifetime_value(10.0, 0.1, margin=1.5)
    with pytest.raises(ValueError, match="'churn_rate' parameter"):
        customer_lifetime_value(10.0, 1.2)


def _book() -> pd.DataFrame:
    """Two segments over January-April 2024; smb loses one customer in February."""
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "segment": ["smb", "smb", "smb", "ent", "ent"],
            "signup_date": pd.to_datetime(["2024-01-02"] * 5),
            "end_date": pd.to_datetime([None, "2024-02-10", None, None, "2024-03-05"]),
            "mrr": [100.0, 100.0, 300.0, 1000.0, 500.0],
            "wallet": [0.5, 0.9, 0.25, np.nan, 0.4],
            "total_spend": [400.0, 150.0, 600.0, 2000.0, np.nan],
        }
    )


def test_value_by_segment_hand_computed() -> None:
    out = value_by_segment(
        _book(), value_col="mrr", by="segment", end="2024-04-30", margin=0.5, wallet_col="wallet"
    ).set_index("segment")
    smb, ent = out.loc["smb"], out.loc["ent"]
    assert (smb["customers"], smb["revenue"]) == (2, 400.0)
    assert (ent["customers"], ent["revenue"]) == (1, 1000.0)
    # smb at risk: Feb 3, Mar 2, Apr 2 customer-months, 1 lost → 1/7. ent: 2 + 2 + 1, 1 lost.
    assert smb["churn_rate"] == pytest.approx(1 / 7)
    assert ent["churn_rate"] == pytest.approx(1 / 5)
    assert smb["lifetime_months"] == pytest.approx(7.0)
    assert smb["clv"] == pytest.approx(0.5 * 200.0 * 7)
    assert ent["clv"] == pytest.approx(0.5 * 1000.0 * 5)
    assert ent["clv_total"] == pytest.approx(2500.0)
    assert smb["clv_total"] == pytest.approx(1400.0)
    assert (ent["rank"], smb["rank"]) == (1, 2)
    assert smb["share_of_revenue"] == pytest.approx(400 / 1400)
    assert smb["share_of_wallet"] == pytest.approx((0.5 + 0.25) / 2)  # current customers
    assert np.isnan(ent["share_of_wallet"])  # the one current ent customer's share is unknown


def test_value_by_segment_total_spend_and_discount() -> None:
    out = value_by_segment(
        _book(),
        value_col="mrr",
        by="segment",
        end="2024-04-30",
        total_spend_col="total_spend",
        discount_rate=0.01,
    ).set_index("segment")
    assert out.loc["smb", "share_of_wallet"] == pytest.approx(400 / 1000)
    assert out.loc["ent", "share_of_wallet"] == pytest.approx(1000 / 2000)
    r = 1 - 1 / 7
    assert out.loc["smb", "clv"] == pytest.approx(200 * 1.01 / (1.01 - r))


def test_value_by_segment_with_activity_churn_table() -> None:
    events = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c"],
            "timestamp": pd.to_datetime(
                ["2024-01-05", "2024-02-05", "2024-01-09", "2024-01-10", "2024-02-10"]
            ),
        }
    )
    customers = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "segment": ["x", "x", "y"], "spend": [10.0, 20.0, 5.0]}
    )
    monthly = activity_crr(events, by="segment", customers=customers)
    out = value_by_segment(customers, value_col="spend", by="segment", churn=monthly)
    out = out.set_index("segment")
    assert out.loc["x", "churn_rate"] == pytest.approx(0.5)  # b lost in February
    assert out.loc["y", "churn_rate"] == 0.0
    assert np.isinf(out.loc["y", "clv"])
    assert out.loc["x", "customers"] == 2  # no end_col: every customer counts


def test_value_by_segment_errors() -> None:
    book = _book()
    with pytest.raises(SchemaError, match=r"customers.wallet: 1 value\(s\) outside \[0.0, 1.0\]"):
        value_by_segment(book.assign(wallet=book["wallet"] * 2), value_col="mrr", wallet_col="wallet")
    with pytest.raises(ValueError, match="not both"):
        value_by_segment(book, value_col="mrr", wallet_col="wallet", total_spend_col="total_spend")
    with pytest.raises(SchemaError, match=r"lacks column\(s\) \['arr'\]"):
        value_by_segment(book, value_col="arr")
    with pytest.raises(ValueError, match="'discount_rate' parameter of value_by_segment"):
        value_by_segment(book, value_col="mrr", discount_rate=-0.1)
    quarterly = activity_crr(
        pd.DataFrame({"customer_id": ["a"], "timestamp": pd.to_datetime(["2024-01-01"])}),
        period="Q",
    )
    with pytest.raises(SchemaError, match="expected a monthly table"):
        value_by_segment(book, value_col="mrr", churn=quarterly)
