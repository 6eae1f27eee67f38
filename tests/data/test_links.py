"""Lookups (events keyed by another id) and joins (customer columns from another table)."""

import pandas as pd
import pytest

from churnkit import ConfigError, SchemaError, load_dataset
from churnkit.config import config_from_dict

ACCOUNTS = pd.DataFrame({"acc": ["A", "B", "C"], "since": ["2023-01-01"] * 3,
                         "flag": ["TRUE", "FALSE", "TRUE"]})
SUBS = pd.DataFrame({
    "sub": ["s1", "s2", "s3", "s4", "s4"],
    "acc": ["A", "A", "B", "C", "B"],          # s4 is listed under two accounts
    "started": ["2023-02-01", "2023-05-01", "2023-08-01", "2023-04-01", "2023-04-01"],
    "stopped": [None, "2023-09-01", None, None, None],
    "mrr": ["100", "40", "250", "80", "80"],
    "plan": ["basic", "pro", "pro", "basic", "basic"],
})
USAGE = pd.DataFrame({"sub": ["s1", "s2", "s3", "s9", "s4", None],
                      "day": ["2023-06-01", "2023-06-02", "2023-06-03", "2023-06-04",
                              "2023-06-05", "2023-06-06"],
                      "n": [1, 2, 3, 4, 5, 6]})
CHURNS = pd.DataFrame({"acc": ["A", "A", "B", "Z"],
                       "date": ["2023-07-01", "2023-10-15", "2023-08-01", "2023-01-05"]})


def _config(**customers):
    return config_from_dict({
        "data": {
            "customers": {"customer_id": "acc", "signup_date": "since", **customers},
            "events": {"usage": {
                "customer_id": "sub", "timestamp": "day", "columns": {"n": "numeric"},
                "lookup": {"name": "subs", "key": "sub", "customer_id": "acc"},
            }},
            "end": "2024-01-01",
        },
        "labels": {"cutoffs": ["2023-07-01"]},
    })


def _tables(**more):
    return {"customers": ACCOUNTS, "usage": USAGE, "subs": SUBS, **more}


def test_lookup_maps_events_to_customers_and_rejects_what_it_cannot():
    ds = load_dataset(_config(), _tables())
    usage = ds.events["usage"]
    assert usage[["customer_id", "n"]].values.tolist() == [["A", 1.0], ["A", 2.0], ["B", 3.0]]
    rej = ds.rejects[ds.rejects["table"] == "usage"].set_index("row")
    assert "not found in lookup table 'subs'" in rej.loc[3, "reason"]
    assert rej.loc[3, "value"] == "s9"
    assert "maps to several acc values in lookup table 'subs'" in rej.loc[4, "reason"]
    assert "missing customer id" in rej.loc[5, "reason"]
    assert len(usage) + len(rej) == len(USAGE)  # nothing lost silently


def test_chained_lookups_bring_a_timestamp_along():
    payments = pd.DataFrame({"order": ["o1", "o2", "o3"], "amount": [10, 20, 30]})
    orders = pd.DataFrame({"order": ["o1", "o2", "o3"], "buyer": ["b1", "b2", "b3"],
                           "bought": ["2023-05-01", "2023-06-01", "2023-06-02"]})
    buyers = pd.DataFrame({"buyer": ["b1", "b2", "b3"], "person": ["A", "A", "C"]})
    cfg = config_from_dict({
        "data": {
            "customers": {"customer_id": "acc", "signup_date": "since"},
            "events": {"payments": {
                "kind": "transactions", "customer_id": "order", "timestamp": "bought",
                "columns": {"amount": "numeric"},
                "lookup": [{"name": "orders", "key": "order", "customer_id": "buyer",
                            "columns": ["bought"]},
                           {"name": "buyers", "key": "buyer", "customer_id": "person"}],
            }},
        },
        "labels": {"cutoffs": ["2023-07-01"]},
    })
    ds = load_dataset(cfg, {"customers": ACCOUNTS, "payments": payments, "orders": orders,
                            "buyers": buyers})
    pay = ds.events["payments"]
    assert pay["customer_id"].tolist() == ["A", "A", "C"]
    assert pay["timestamp"].dt.strftime("%Y-%m-%d").tolist() == [
        "2023-05-01", "2023-06-01", "2023-06-02"]
    assert ds.specs["payments"].columns == {"amount": "numeric"}


def test_joins_make_customer_columns_for_roles():
    cfg = _config(
        end_date="last_churn", value="open_mrr", churned="flag",
        joins=[{"name": "churns", "key": "acc", "columns": {
                    "last_churn": {"column": "date", "agg": "max"},
                    "churns": {"column": "date", "agg": "count"}}},
               {"name": "subs", "key": "acc", "where": {"stopped": [None]},
                "columns": {"open_mrr": {"column": "mrr", "agg": "sum"},
                            "latest_plan": {"column": "plan", "agg": "last"},
                            "first_start": {"column": "started", "agg": "min"}},
                "order_by": "started"}],
    )
    ds = load_dataset(cfg, _tables(churns=CHURNS))
    cust = ds.customers.set_index("customer_id")
    # A churned twice and is flagged: it ended at its latest churn
    assert cust.loc["A", "end_date"] == pd.Timestamp("2023-10-15")
    # B churned once but is not flagged: it came back, so it has not ended
    assert pd.isna(cust.loc["B", "end_date"])
    # C is flagged but has no churn date: unknown, so still a customer
    assert pd.isna(cust.loc["C", "end_date"])
    assert cust["value"].to_dict() == {"A": 100.0, "B": 330.0, "C": 80.0}  # open subs only
    assert cust["churns"].to_dict() == {"A": 2.0, "B": 1.0, "C": 0.0}  # none counts 0
    assert ds.attributes["churns"] == "numeric"
    assert "flag" not in ds.attributes  # the churn flag is a label, never a feature
    assert ds.attributes["first_start"] == "datetime"  # dates become days-before-cutoff features
    # by start date B's latest open plan is s3's (file order would say s4's)
    assert cust["latest_plan"].to_dict() == {"A": "basic", "B": "pro", "C": "basic"}
    assert ds.attributes["latest_plan"] == "categorical"


def test_join_and_lookup_errors_name_the_table_column_and_fix():
    cfg = _config(joins=[{"name": "churns", "key": "account", "columns": {"x": "date"}}])
    with pytest.raises(SchemaError, match=r"Table 'churns' lacks column\(s\) \['account'\].*"
                                          r"data.customers.joins.0"):
        load_dataset(cfg, _tables(churns=CHURNS))
    cfg = _config(joins=[{"name": "churns", "key": "acc", "columns": {"flag": "date"}}])
    with pytest.raises(SchemaError, match=r"makes column\(s\) \['flag'\].*already has"):
        load_dataset(cfg, _tables(churns=CHURNS))
    cfg = _config(joins=[{"name": "churns", "key": "acc",
                          "columns": {"x": {"column": "date", "agg": "sum"}}}])
    with pytest.raises(SchemaError, match="is datetime, so it cannot be aggregated with 'sum'"):
        load_dataset(cfg, _tables(churns=CHURNS))
    with pytest.raises(SchemaError, match=r"Table 'subs' has no 'path'.*tables=\{'subs': df\}"):
        load_dataset(_config(), {"customers": ACCOUNTS, "usage": USAGE})


def test_join_and_lookup_config_validation():
    with pytest.raises(ConfigError, match="column 'x' is made by two joins"):
        _config(joins=[{"name": "a", "key": "acc", "columns": {"x": "date"}},
                       {"name": "b", "key": "acc", "columns": {"x": "date"}}])
    with pytest.raises(ConfigError, match="list at least one column"):
        _config(joins=[{"name": "a", "key": "acc", "columns": {}}])
    with pytest.raises(ConfigError, match=r"customers\.joins\.0\.columns\.x\.agg: input should be 'first'"):
        _config(joins=[{"name": "a", "key": "acc", "columns": {"x": {"column": "d",
                                                                       "agg": "median"}}}])
    cfg = _config()
    assert cfg.data.events["usage"].lookup[0].table_name == "subs"  # one mapping = a list of one
