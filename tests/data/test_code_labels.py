"""Coded category values get names from the table's `labels:` mapping, and reasons read them."""

from __future__ import annotations

import pandas as pd
import pytest

from churnkit import ConfigError, FeatureSet, load_dataset
from churnkit.config import config_from_dict
from churnkit.explain import humanize_feature


def _config(events_table: dict | None = None, customers: dict | None = None) -> dict:
    return {
        "name": "codes",
        "data": {
            "customers": {"customer_id": "id", "signup_date": "start",
                          "labels": {"plan_code": {1: "Gold", 2: "Silver"}}, **(customers or {})},
            "events": {"events": {"customer_id": "id", "timestamp": "when",
                                  "labels": {"event_type_id": {5: "Billing dispute",
                                                               7: "Price increase"}},
                                  **(events_table or {})}},
            "end": "2024-04-01",
        },
        "labels": {"horizon_days": 30, "cutoffs": ["2024-02-01"]},
    }


@pytest.fixture
def tables():
    customers = pd.DataFrame({"id": ["a", "b", "c"], "start": ["2023-01-01"] * 3,
                              "plan_code": [1, 2, 3]})
    events = pd.DataFrame({
        "id": ["a", "a", "b", "c", "c"],
        "when": ["2024-01-05", "2024-01-20", "2024-01-07", "2024-01-09", "2024-01-11"],
        "event_type_id": [5, 7, 5, 3, 5.0],
    })
    return {"customers": customers, "events": events}


def test_codes_are_replaced_by_their_names(tables):
    ds = load_dataset(config_from_dict(_config()), tables)
    ev = ds.events["events"]
    assert isinstance(ev["event_type_id"].dtype, pd.CategoricalDtype)
    assert ev["event_type_id"].astype(str).tolist() == [
        "Billing dispute", "Price increase", "Billing dispute", "3", "Billing dispute"]
    assert ds.attributes["plan_code"] == "categorical"
    cust = ds.customers.set_index("customer_id")
    assert cust["plan_code"].tolist() == ["Gold", "Silver", "3"]  # unlisted code kept
    assert len(ds.rejects) == 0


def test_codes_as_text_in_a_csv_get_names_too(tables):
    text = {k: v.astype(str) for k, v in tables.items()}
    ds = load_dataset(config_from_dict(_config()), text)
    assert set(ds.events["events"]["event_type_id"].astype(str)) == {
        "Billing dispute", "Price increase", "3"}


def test_reasons_read_the_names(tables):
    ds = load_dataset(config_from_dict(_config()), tables)
    spine = pd.DataFrame({"customer_id": ["a", "b", "c"], "cutoff": pd.Timestamp("2024-02-01")})
    X = FeatureSet(windows=(30,)).fit(ds, spine).transform(ds, spine)
    name = "events__event_type_id=Billing dispute__count__30d"
    assert X[name].tolist() == [1.0, 1.0, 1.0]
    assert humanize_feature(name) == "Events with event type: Billing dispute (last 30 days)"
    assert humanize_feature("events__event_type_id=3__count__30d") == \
        "Events with event type id 3 (last 30 days)"
    assert X["static__plan_code"].astype(str).tolist() == ["Gold", "Silver", "3"]


def test_names_for_a_numeric_column_are_a_config_error():
    with pytest.raises(ConfigError, match=r"labels: column\(s\) \['event_type_id'\] are declared "
                                          r"\['numeric'\].*declare it categorical"):
        config_from_dict(_config({"columns": {"event_type_id": "numeric"}}))
