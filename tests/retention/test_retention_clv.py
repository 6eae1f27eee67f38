"""Customer-level lifetime value: per customer, per segment, in the retention report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import churnkit as ck
from churnkit._core import builtin_config
from churnkit.config import config_from_dict
from churnkit.jobs import retention
from churnkit.retention import clv_by_segment, customer_clv_table, retention_report

AS_OF = pd.Timestamp("2024-12-01")


def _purchases(n=200, seed=0):
    """Buyers purchasing at a Poisson rate until they silently leave, with a segment."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        rate, life = rng.gamma(1.5, 1 / 20), rng.exponential(rng.gamma(1.0, 250.0))
        t = float(rng.integers(0, 60))
        end = min(t + life, 330)
        rows.append((f"c{i:03d}", t, rng.gamma(3.0, 10.0)))
        t += rng.exponential(1 / rate)
        while t < end:
            rows.append((f"c{i:03d}", t, rng.gamma(3.0, 10.0)))
            t += rng.exponential(1 / rate)
    tx = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    tx["timestamp"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.floor(tx["day"]), unit="D")
    customers = pd.DataFrame({"customer_id": [f"c{i:03d}" for i in range(n)],
                              "segment": np.where(np.arange(n) % 3 == 0, "gold", "silver")})
    return tx.drop(columns="day"), customers


@pytest.mark.slow  # fits Pareto/NBD and Gamma-Gamma models
def test_customer_value_uses_only_purchases_before_as_of():
    tx, _ = _purchases()
    t = customer_clv_table(tx, as_of=AS_OF, amount_col="amount", margin=0.5, discount_rate=0.01)
    assert t["customer_id"].is_unique
    assert len(t) == tx.loc[tx["timestamp"] < AS_OF, "customer_id"].nunique()
    assert (t["clv"] > 0).all()
    assert (t["value_at_risk"] >= 0).all()
    assert t["p_alive"].between(0, 1).all()
    np.testing.assert_allclose(t["value_at_risk"], t["clv"] / t["p_alive"] - t["clv"])
    # more spend per purchase, same purchase history: more value
    late = pd.DataFrame({"customer_id": ["c000", "zzz"] * 5,
                         "timestamp": AS_OF + pd.to_timedelta(np.arange(10), unit="D"),
                         "amount": 1000.0})
    again = customer_clv_table(pd.concat([tx, late]), as_of=AS_OF, amount_col="amount",
                               margin=0.5, discount_rate=0.01)
    pd.testing.assert_frame_equal(again, t)
    undiscounted = customer_clv_table(tx, as_of=AS_OF, amount_col="amount")
    assert (undiscounted["clv"] * 0.5 > t["clv"]).all()
    with pytest.raises(ValueError, match="'months' parameter of customer_clv_table"):
        customer_clv_table(tx, as_of=AS_OF, amount_col="amount", months=0)
    with pytest.raises(ck.SchemaError, match=r"column.*'spend'"):
        customer_clv_table(tx, as_of=AS_OF, amount_col="spend")


def test_value_by_segment_adds_up():
    tx, customers = _purchases()
    t = customer_clv_table(tx, as_of=AS_OF, amount_col="amount")
    seg = clv_by_segment(t, customers, by="segment")
    assert sorted(seg["segment"]) == ["gold", "silver"]
    assert seg["customers"].sum() == len(t)
    assert seg["clv_total"].sum() == pytest.approx(t["clv"].sum())
    assert seg["value_at_risk"].sum() == pytest.approx(t["value_at_risk"].sum())
    gold = t[t["customer_id"].isin(customers.loc[customers["segment"] == "gold", "customer_id"])]
    row = seg.set_index("segment").loc["gold"]
    assert row["clv_mean"] == pytest.approx(gold["clv"].mean())
    assert row["clv_median"] == pytest.approx(gold["clv"].median())
    assert seg["share_of_clv"].sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="needs customers="):
        clv_by_segment(t, by="segment")


@pytest.mark.slow  # fits Pareto/NBD and Gamma-Gamma models
def test_report_shows_customer_value_per_segment(tmp_path):
    tx, customers = _purchases()
    summary = retention_report(customers, out_dir=tmp_path, events=tx, amount_col="amount",
                               by="segment", purchases=tx, purchase_amount_col="amount",
                               as_of=AS_OF)
    assert summary["clv"]["customers"] == len(pd.read_csv(tmp_path / "customer_clv.csv"))
    by_seg = pd.read_csv(tmp_path / "clv_by_segment.csv")
    assert by_seg["clv_total"].sum() == pytest.approx(summary["clv"]["total"], abs=0.01)
    page = (tmp_path / "retention.html").read_text()
    assert "Customer lifetime value from each customer" in page
    assert "<h3>By segment</h3>" in page
    assert page.count("<img") == 6  # CRR, churn, NRR, cohorts, CLV of everybody and by segment


def _demo_tables(n):
    return ck.datasets.make_crm(n, random_state=0, months=12).tables


@pytest.mark.slow  # fits Pareto/NBD and Gamma-Gamma models
def test_demo_retention_values_current_customers_by_segment_and_product(tmp_path):
    cfg = ck.load_config(builtin_config("default.yaml"))
    tables = _demo_tables(300)
    summary = retention(cfg, tmp_path, tables=tables)
    for name in ("customer_clv", "clv", "clv_by_segment", "clv_by_product"):
        assert name in summary["files"]
    valued = set(pd.read_csv(tmp_path / "customer_clv.csv")["customer_id"])
    ended = tables["customers"].loc[tables["customers"]["end_date"].notna(), "customer_id"]
    assert valued
    assert not valued & set(ended)  # contractual: the customers who left are gone
    assert "By product" in (tmp_path / "retention.html").read_text()


@pytest.mark.slow
def test_cdnow_retention_reports_customer_value(tmp_path):
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "configs" / "cdnow.yaml"
    data = path.parents[3] / "shared" / "data" / "cdnow" / "CDNOW_master.txt"
    if not data.is_file():
        pytest.skip(f"public dataset {data} is absent")
    cfg = config_from_dict(yaml.safe_load(path.read_text()), base_dir=path.parent,
                           source=str(path))
    summary = retention(cfg, tmp_path)
    assert summary["clv"]["customers"] == 23570
    assert summary["clv"]["as_of"] == "1998-07-01"
    everybody = pd.read_csv(tmp_path / "clv.csv")
    assert everybody["customers"].iloc[0] == 23570
    assert 0 < everybody["p_alive_mean"].iloc[0] < 1
    assert "Customer lifetime value from each customer" in (tmp_path / "retention.html").read_text()
