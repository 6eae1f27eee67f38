"""The examples documented in configs/default.yaml are valid configurations that do what they say."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

import churnkit as ck
from churnkit._core import builtin_config
from churnkit.config import EvaluationConfig, config_from_dict

TEXT = builtin_config("default.yaml").read_text(encoding="utf-8")


def _examples() -> dict[str, dict]:
    blocks = re.findall(r"^# >>> example: (.+?)\n(.*?)^# <<<", TEXT, flags=re.M | re.S)
    out = {}
    for name, body in blocks:
        lines = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in body.splitlines()]
        out[name.strip()] = yaml.safe_load("\n".join(lines))
    return out


EXAMPLES = _examples()


def test_default_yaml_loads_and_documents_the_evaluation_defaults():
    cfg = ck.load_config(builtin_config("default.yaml"))
    assert cfg.evaluation == EvaluationConfig()
    assert cfg.data.end is None  # documented, commented out: the end is found from the data
    assert set(EXAMPLES) == {"snapshot mode", "subscriptions and explicit cutoffs"}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_documented_example_is_a_valid_config(name):
    config_from_dict(EXAMPLES[name], source=f"default.yaml example {name!r}")


def test_snapshot_example_ids_default_to_row_numbers_and_codes_get_names():
    cfg = config_from_dict(EXAMPLES["snapshot mode"])
    table = pd.DataFrame({"tenure": [1, 30, 12], "Contract": ["m", "y", "m"],
                          "TotalCharges": [1, 2, 3], "MonthlyCharges": [20.0, 50.0, 30.0],
                          "SeniorCitizen": [0, 1, 0], "Churn": ["Yes", "No", "No"]})
    ds = ck.load_dataset(cfg, {"snapshot": table})
    assert ds.customers["customer_id"].tolist() == ["0", "1", "2"]
    assert ds.label.tolist() == [True, False, False]
    assert "TotalCharges" not in ds.customers
    assert ds.customers["SeniorCitizen"].tolist() == ["not senior", "senior", "not senior"]


def test_subscriptions_example_joins_dates_and_takes_listed_cutoffs():
    cfg = config_from_dict(EXAMPLES["subscriptions and explicit cutoffs"])
    accounts = pd.DataFrame({"account_id": ["A", "B"]})
    subs = pd.DataFrame({"account_id": ["A", "A", "B"],
                         "start_date": ["2023-01-10", "2023-06-01", "2023-03-05"],
                         "end_date": ["2023-06-01", "2024-08-15", None],
                         "mrr": [10.0, 20.0, 30.0]})
    activity = pd.DataFrame({"account_id": ["A", "B", "B"],
                             "occurred_at": ["2024-01-03", "2024-02-01", "2024-12-30"],
                             "event_type_id": [5, 7, 9], "amount": [1.0, 2.0, 3.0]})
    ds = ck.load_dataset(cfg, {"customers": accounts, "subscriptions": subs,
                               "open_subscriptions": subs, "activity": activity})
    cust = ds.customers.set_index("customer_id")
    assert cust.loc["A", "signup_date"] == pd.Timestamp("2023-01-10")
    assert cust.loc["A", "end_date"] == pd.Timestamp("2024-08-15")
    assert pd.isna(cust.loc["B", "end_date"])
    assert cust["value"].to_dict() == {"A": 0.0, "B": 30.0}  # open subscriptions only
    assert set(ds.events["activity"]["event_type_id"].astype(str)) == {
        "Billing dispute", "Price increase", "9"}
    assert cfg.labels.cutoffs == [pd.Timestamp(d).date() for d in
                                  ["2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01"]]
