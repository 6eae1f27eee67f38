"""The at-risk table and the last-contact / last-feedback descriptions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnkit.actions import (
    AT_RISK_COLUMNS,
    build_at_risk,
    describe_last_contact,
    describe_last_feedback,
)
from churnkit.exceptions import SchemaError

COLUMNS = [
    "customer_id", "account_manager", "churn_probability", "risk_band", "value_at_risk",
    "reason_1", "reason_2", "reason_3", "action_1", "action_2", "action_3",
    "last_contact", "last_feedback",
]


@pytest.fixture
def inputs() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ids = ["c1", "c2", "c3", "c4", "c5"]
    scores = pd.DataFrame(
        {
            "customer_id": ids,
            "as_of": "2024-06-30",
            "churn_probability": [0.9, 0.3, 0.6, 0.05, 0.45],
            "model_version": "m1",
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["c5", "c4", "c3", "c2", "c1"],
            "account_manager": ["Ana", "Bo", "  ", None, "Ana"],
            "value": [200.0, 1000.0, 100.0, 200.0, 50.0],
        }
    )
    reasons = pd.DataFrame(
        {
            "reason_1": [f"r1 of {i}" for i in ids],
            "reason_2": [f"r2 of {i}" for i in ids],
            "reason_3": [np.nan] * 5,
            "reason_1_id": "x",
        }
    )
    actions = pd.DataFrame({f"action_{k}": [f"a{k} of {i}" for i in ids] for k in (1, 2, 3)})
    return scores, customers, reasons, actions


def test_columns_order_and_values(inputs):
    scores, customers, reasons, actions = inputs
    out = build_at_risk(scores, customers, reasons, actions)
    assert list(out.columns) == COLUMNS == list(AT_RISK_COLUMNS)
    # value at risk = p * monthly value * 12: c1 540, c2 720, c3 720, c4 600, c5 1080
    assert out["customer_id"].tolist() == ["c5", "c3", "c2", "c4", "c1"]
    np.testing.assert_allclose(out["value_at_risk"], [1080.0, 720.0, 720.0, 600.0, 540.0])
    # c2 and c3 tie on value at risk; the likelier churner (c3, 0.6) comes first
    assert out["risk_band"].tolist() == ["medium", "high", "medium", "low", "high"]
    row = out.set_index("customer_id").loc["c3"]
    assert row["reason_1"] == "r1 of c3"
    assert pd.isna(row["reason_3"])
    assert row["action_2"] == "a2 of c3"
    assert out.attrs["as_of"] == "2024-06-30"


def test_missing_account_manager_is_unassigned(inputs):
    scores, customers, reasons, actions = inputs
    scores = pd.concat(
        [scores, pd.DataFrame({"customer_id": ["c6"], "churn_probability": [0.99]})],
        ignore_index=True,
    )
    reasons = pd.concat([reasons, reasons.iloc[:1]], ignore_index=True)
    actions = pd.concat([actions, actions.iloc[:1]], ignore_index=True)
    out = build_at_risk(scores, customers, reasons, actions).set_index("customer_id")
    assert out.loc["c2", "account_manager"] == "(unassigned)"  # None
    assert out.loc["c3", "account_manager"] == "(unassigned)"  # blank
    assert out.loc["c6", "account_manager"] == "(unassigned)"  # not in customers
    assert np.isnan(out.loc["c6", "value_at_risk"])
    assert out.index[-1] == "c6"  # unknown value at risk goes last
    no_column = build_at_risk(scores, customers.drop(columns="account_manager"), None, None)
    assert set(no_column["account_manager"]) == {"(unassigned)"}
    assert no_column["reason_1"].isna().all()


def test_frames_aligned_by_customer_id(inputs):
    scores, customers, reasons, actions = inputs
    by_id = reasons.assign(customer_id=scores["customer_id"]).iloc[::-1].reset_index(drop=True)
    out = build_at_risk(scores, customers, by_id, actions).set_index("customer_id")
    assert out.loc["c4", "reason_1"] == "r1 of c4"
    with pytest.raises(SchemaError, match="reasons_frame must have the same index as scores"):
        build_at_risk(scores, customers, reasons.iloc[::-1], actions)


def test_last_touches_and_min_band(inputs):
    scores, customers, reasons, actions = inputs
    contact = pd.Series({"c1": "2024-06-01: phone", "c9": "ignored"})
    feedback = pd.DataFrame({"customer_id": ["c3"], "last_feedback": ["2024-05-01: score 2"]})
    out = build_at_risk(
        scores, customers, reasons, actions, contact, feedback, min_band="medium"
    ).set_index("customer_id")
    assert "c4" not in out.index  # low band dropped
    assert out.loc["c1", "last_contact"] == "2024-06-01: phone"
    assert pd.isna(out.loc["c2", "last_contact"])
    assert out.loc["c3", "last_feedback"] == "2024-05-01: score 2"
    with pytest.raises(ValueError, match="'min_band' parameter"):
        build_at_risk(scores, customers, reasons, actions, min_band="severe")


def test_input_errors(inputs):
    scores, customers, reasons, actions = inputs
    with pytest.raises(SchemaError, match=r"Table 'customers' lacks column\(s\) \['value'\]"):
        build_at_risk(scores, customers.drop(columns="value"), reasons, actions)
    dup = pd.concat([customers, customers.iloc[:1]])
    match = r"customers\.customer_id: 2 rows share an id, e.g. \['c5'\]"
    with pytest.raises(SchemaError, match=match):
        build_at_risk(scores, dup, reasons, actions)
    with pytest.raises(SchemaError, match="None of the scored customer ids is in customers"):
        build_at_risk(scores, customers.assign(customer_id=range(5)), reasons, actions)
    bad = scores.assign(churn_probability=[0.1, 2.0, 0.1, 0.1, 0.1])
    with pytest.raises(SchemaError, match="outside"):
        build_at_risk(bad, customers, reasons, actions)


def test_describe_last_contact_strictly_before_as_of():
    contacts = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "c"],
            "timestamp": pd.to_datetime(
                ["2024-01-05", "2024-03-01 10:00", "2024-06-30", "2024-02-02", "2024-02-03"],
                format="ISO8601",
            ),
            "channel": ["email", "phone", "visit", None, "chat"],
            "topic": ["billing", "complaint", "x", None, "  "],
            "direction": ["inbound", "outbound", "inbound", "inbound", None],
        }
    )
    out = describe_last_contact(contacts, "2024-06-30")
    assert out.name == "last_contact"
    assert out.to_dict() == {
        "a": "2024-03-01: phone, complaint, outbound",  # the 2024-06-30 contact is not before
        "b": "2024-02-02: inbound",
        "c": "2024-02-03: chat",
    }
    with pytest.raises(SchemaError, match=r"Table 'contacts' lacks column\(s\) \['timestamp'\]"):
        describe_last_contact(contacts.drop(columns="timestamp"), "2024-06-30")


def test_describe_last_feedback():
    feedback = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "timestamp": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-09-01"],
            "score": [9, 3, np.nan, 10],
            "comment": ["great", "Too   expensive " + "x" * 100, None, "later"],
        }
    )
    out = describe_last_feedback(feedback, pd.Timestamp("2024-06-30"), max_comment=20)
    assert out.to_dict() == {
        "a": '2024-02-01: score 3 "Too expensive xxx..."',
        "b": "2024-03-01: survey not answered",
    }
