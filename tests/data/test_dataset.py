import numpy as np
import pandas as pd
import pytest

import churnkit.data as ck_data
from churnkit import SchemaError, load_dataset
from churnkit.config import config_from_dict


def _load(cfg_dict, tables):
    return load_dataset(config_from_dict(cfg_dict), tables)


def test_customers_are_parsed_into_canonical_columns(tiny_config_dict, tiny_raw):
    ds = _load(tiny_config_dict, tiny_raw)
    cust = ds.customers.set_index("customer_id")
    assert list(cust.index) == ["a", "b", "c", "d"]
    assert cust.loc["b", "value"] == 1250.5  # thousands separator accepted
    assert cust.loc["b", "end_date"] == pd.Timestamp("2024-03-20")
    assert pd.isna(cust.loc["a", "end_date"])
    assert cust.loc["a", "segment"] == "gold"
    assert ds.end == pd.Timestamp("2024-04-01")


def test_bad_event_rows_go_to_rejects_with_reasons(tiny_config_dict, tiny_raw):
    ds = _load(tiny_config_dict, tiny_raw)
    rej = ds.rejects.set_index(["table", "row"])
    assert "unparseable timestamp" in rej.loc[("contacts", 5), "reason"]
    assert rej.loc[("contacts", 5), "value"] == "not a date"
    assert "not in the customers table" in rej.loc[("contacts", 6), "reason"]
    assert "negative duration" in rej.loc[("contacts", 4), "reason"]
    # kept rows: 7 input - 1 bad date - 1 unknown customer
    assert len(ds.events["contacts"]) == 5
    # the negative duration row is kept, with the value set to missing
    contacts = ds.events["contacts"]
    assert contacts["minutes"].isna().sum() == 1


def test_events_are_sorted_by_customer_and_time(tiny_config_dict, tiny_raw):
    raw = dict(tiny_raw)
    raw["contacts"] = tiny_raw["contacts"].iloc[::-1].reset_index(drop=True)
    ev = _load(tiny_config_dict, raw).events["contacts"]
    keys = list(zip(ev["customer_id"], ev["timestamp"], strict=True))
    assert keys == sorted(keys)


def test_float_ids_and_timezones_are_normalised(tiny_config_dict, tiny_raw):
    cust = tiny_raw["customers"].assign(id=[1.0, 2.0, 3.0, 4.0])
    contacts = pd.DataFrame(
        {"cust": ["1", "2.0"], "when": ["2024-01-01T10:00:00+02:00", "2024-01-01 08:00"],
         "topic": ["a", "b"], "direction": ["inbound", "outbound"], "resolved": [1, 0],
         "minutes": [1, 2]}
    )
    ds = _load(tiny_config_dict, {"customers": cust, "contacts": contacts})
    assert list(ds.customers["customer_id"]) == ["1", "2", "3", "4"]
    ev = ds.events["contacts"]
    assert list(ev["customer_id"]) == ["1", "2"]
    assert list(ev["timestamp"]) == [pd.Timestamp("2024-01-01 08:00")] * 2  # +02:00 → UTC


def test_conflicting_duplicate_customer_is_rejected_identical_one_collapsed(
    tiny_config_dict, tiny_raw
):
    cust = pd.concat([tiny_raw["customers"], tiny_raw["customers"].iloc[[0, 1]]], ignore_index=True)
    cust.loc[5, "tier"] = "platinum"  # b conflicts, a is an identical copy
    ds = _load(tiny_config_dict, {**tiny_raw, "customers": cust})
    assert sorted(ds.customers["customer_id"]) == ["a", "c", "d"]
    rej = ds.rejects[ds.rejects["table"] == "customers"].set_index("row")
    # b: both rows dropped, naming the conflicting column; a: the copy is listed, a is kept
    assert sorted(rej.index) == [1, 4, 5]
    assert rej.loc[[1, 5], "customer_id"].tolist() == ["b", "b"]
    assert rej.loc[[1, 5], "reason"].str.contains(r"conflicting values \(tier\)").all()
    assert "customer is kept" in rej.loc[4, "reason"]
    assert list(ck_data.rejected_customers(ds.rejects)) == ["b"]


def test_missing_required_column_names_table_column_and_fix(tiny_config_dict, tiny_raw):
    cust = tiny_raw["customers"].drop(columns=["start"])
    with pytest.raises(SchemaError, match=r"Table 'customers' lacks column\(s\) \['start'\]"):
        _load(tiny_config_dict, {**tiny_raw, "customers": cust})


def test_empty_and_single_column_files(tmp_path, tiny_config_dict):
    empty = tmp_path / "customers.csv"
    empty.write_text("")
    cfg = dict(tiny_config_dict)
    cfg["data"] = {**cfg["data"], "customers": {**cfg["data"]["customers"], "path": str(empty)},
                   "events": {}}
    with pytest.raises(SchemaError, match="is empty"):
        load_dataset(config_from_dict(cfg))
    semi = tmp_path / "semi.csv"
    semi.write_text("id;start\na;2024-01-01\n")
    cfg["data"]["customers"] = {"path": str(semi), "customer_id": "id", "signup_date": "start",
                                "sep": "|"}
    with pytest.raises(SchemaError, match="delimiter is probably wrong"):
        load_dataset(config_from_dict(cfg))


def test_csv_encodings_and_bom_are_read(tmp_path, tiny_config_dict):
    text = "id,start,tier\nä1,2024-01-01,Süd\nb,2024-02-01,Nord\n"
    cfg = {"data": {"customers": {"path": "c.csv", "customer_id": "id", "signup_date": "start",
                                  "segment": "tier"}, "end": "2025-01-01"},
           "labels": {"cutoffs": ["2024-06-01"]}}
    for enc in ("utf-8-sig", "cp1252"):
        (tmp_path / "c.csv").write_bytes(text.encode(enc))
        ds = load_dataset(config_from_dict(cfg, base_dir=tmp_path))
        assert list(ds.customers["customer_id"]) == ["ä1", "b"]
        assert list(ds.customers["segment"]) == ["Süd", "Nord"]


def test_snapshot_mode_reads_label_and_infers_types(tmp_path):
    frame = pd.DataFrame(
        {"cid": ["x1", "x2", "x3", "x4"], "plan": ["a", "b", "a", None],
         "charges": ["10.5", " ", "7", "3"], "churned": ["Yes", "No", None, "No"]}
    )
    cfg = config_from_dict({"data": {"snapshot": {"customer_id": "cid", "label": "churned",
                                                  "positive": ["Yes"]}}})
    ds = load_dataset(cfg, {"snapshot": frame})
    assert ds.mode == "snapshot"
    assert list(ds.customers["customer_id"]) == ["x1", "x2", "x4"]
    assert ds.label.tolist() == [True, False, False]
    assert ds.attributes == {"plan": "categorical", "charges": "numeric"}
    assert np.isnan(ds.customers.loc[1, "charges"])
    assert ds.rejects["reason"].str.contains("missing label").sum() == 1


def test_a_dropped_row_gets_one_reject_line_and_kept_rows_their_value_lines(tiny_config_dict, tiny_raw):
    contacts = pd.DataFrame(
        {"cust": [None, "a", "a"], "when": ["garbage", "2024-01-02", "2024-01-03"],
         "topic": ["x", "y", "z"], "direction": ["in", "in", "out"],
         "resolved": ["maybe", "maybe", "yes"], "minutes": ["-3", "-3", "oops"]}
    )
    # two of the three booleans are bad: allowed here, to see each row's reject lines
    tiny_config_dict["data"]["max_rejected_share"] = 1.0
    ds = _load(tiny_config_dict, {**tiny_raw, "contacts": contacts})
    rej = ds.rejects[ds.rejects["table"] == "contacts"]
    # row 0: no id, a bad date, a bad boolean and a negative duration -> one line, the first reason
    assert rej.loc[rej["row"] == 0, "reason"].tolist() == ["missing customer id; row dropped"]
    # kept rows list each value that was set to missing
    assert sorted(rej.loc[rej["row"] == 1, "column"]) == ["minutes", "resolved"]
    assert rej.loc[rej["row"] == 2, "reason"].tolist() == ["unparseable numeric value; set to missing"]
    assert len(ds.events["contacts"]) == 2
