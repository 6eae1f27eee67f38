"""Date attributes of customers become days-before-the-cutoff features; unused columns are reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnkit import FeatureSet, StaticFeatures, load_dataset
from churnkit.config import config_from_dict


@pytest.fixture
def raw(tiny_raw):
    cust = tiny_raw["customers"].assign(
        date_of_birth=["1980-05-17", "1991-12-01", None, "2024-02-15"],
        notes=["likes long calls, prefers email", "asked twice about the invoice layout",
               "new contact person since spring", "none"],
    )
    contacts = tiny_raw["contacts"].assign(logged_at=pd.Timestamp("2024-01-01"))
    return {"customers": cust, "contacts": contacts}


@pytest.fixture
def config(tiny_config_dict):
    cust = {**tiny_config_dict["data"]["customers"], "attributes": {"notes": "text"}}
    return {**tiny_config_dict, "data": {**tiny_config_dict["data"], "customers": cust}}


def _spine(ids, cutoff):
    return pd.DataFrame({"customer_id": ids, "cutoff": pd.Timestamp(cutoff)})


def test_date_of_birth_is_a_datetime_attribute_and_text_is_reported(config, raw):
    ds = load_dataset(config_from_dict(config), raw)
    assert ds.attributes["date_of_birth"] == "datetime"
    assert pd.api.types.is_datetime64_any_dtype(ds.customers["date_of_birth"])
    assert "notes" not in ds.attributes
    assert "free text" in ds.ignored["customers.notes"]
    assert "date column of an event table" in ds.ignored["contacts.logged_at"]
    assert set(ds.summary()["ignored"]) == {"customers.notes", "contacts.logged_at"}


def test_days_since_a_date_attribute_at_each_cutoff(config, raw):
    ds = load_dataset(config_from_dict(config), raw)
    spine = pd.concat([_spine(["a", "b", "c", "d"], "2024-01-01"),
                       _spine(["a", "d"], "2024-03-01")], ignore_index=True)
    f = StaticFeatures(attributes=ds.attributes).fit(spine, customers=ds.customers)
    out = f.transform(spine, customers=ds.customers)
    days = out["static__days_since_date_of_birth"].to_numpy()
    assert days[0] == (pd.Timestamp("2024-01-01") - pd.Timestamp("1980-05-17")).days
    assert days[1] == (pd.Timestamp("2024-01-01") - pd.Timestamp("1991-12-01")).days
    assert np.isnan(days[2])  # no date
    assert np.isnan(days[3])  # 2024-02-15 is after the 2024-01-01 cutoff: not known yet
    assert days[4] == (pd.Timestamp("2024-03-01") - pd.Timestamp("1980-05-17")).days
    assert days[5] == (pd.Timestamp("2024-03-01") - pd.Timestamp("2024-02-15")).days


def test_a_later_date_changes_no_earlier_feature(config, raw):
    """Moving a date that lies after the cutoff to another later date leaves the rows equal."""
    ds = load_dataset(config_from_dict(config), raw)
    spine = _spine(["a", "b", "c", "d"], "2024-01-01")
    fs = FeatureSet().fit(ds, spine)
    before = fs.transform(ds, spine)
    moved = raw["customers"].assign(date_of_birth=["1980-05-17", "1991-12-01", None, "2031-07-04"])
    later = load_dataset(config_from_dict(config), {**raw, "customers": moved})
    pd.testing.assert_frame_equal(before, fs.transform(later, spine))
    assert "static__days_since_date_of_birth" in before.columns


def test_scoring_data_with_dates_as_text_is_parsed_and_bad_values_reported(config, raw):
    ds = load_dataset(config_from_dict(config), raw)
    spine = _spine(["a", "b", "c", "d"], "2024-01-01")
    fs = FeatureSet().fit(ds, spine)
    declared = {**config}
    declared["data"] = {**config["data"], "customers": {
        **config["data"]["customers"], "attributes": {"date_of_birth": "categorical"}}}
    odd = raw["customers"].assign(date_of_birth=["1980-05-17", "soon", None, "2024-02-15"])
    new = load_dataset(config_from_dict(declared), {**raw, "customers": odd})
    fixed = fs.align(new)
    bad = fixed.rejects[fixed.rejects["column"] == "date_of_birth"]
    assert bad["customer_id"].tolist() == ["b"]
    assert "trained on as dates" in bad["reason"].iloc[0]
    out = fs.transform(fixed, spine)["static__days_since_date_of_birth"].to_numpy()
    assert out[0] == (pd.Timestamp("2024-01-01") - pd.Timestamp("1980-05-17")).days
    assert np.isnan(out[1])
