"""FeatureSet: everything scoring needs before the model (align, unseen categories, transform)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnkit import SchemaError
from churnkit.config import config_from_dict
from churnkit.data import REJECT_COLUMNS, load_dataset
from churnkit.exceptions import NotFittedError
from churnkit.features import FeatureSet, StaticFeatures

CUTOFF = pd.Timestamp("2024-06-01")


def _dataset(seats: str = "numeric", customers: dict | None = None, contacts: dict | None = None):
    raw = {
        "data": {
            "customers": {"customer_id": "id", "signup_date": "start", "segment": "tier",
                          "attributes": {"seats": seats}},
            "events": {"contacts": {"kind": "contacts", "customer_id": "id", "timestamp": "day",
                                    "columns": {"topic": "categorical"}}},
            "end": "2025-01-01",
        },
        "labels": {"definition": "inactivity", "cutoffs": [str(CUTOFF.date())]},
    }
    cust = {"id": ["a", "b", "c", "d", "e"],
            "start": ["2023-01-01", "2023-02-01", "2023-03-01", "2023-04-01", "2023-05-01"],
            "tier": ["gold", "silver", "gold", "silver", "gold"],
            "seats": ["10", "20", "30", "40", "50"]}
    events = {"id": ["a", "a", "b", "c", "d", "e"],
              "day": pd.to_datetime(["2024-01-05", "2024-05-01", "2024-02-01", "2024-03-01",
                                     "2024-04-01", "2024-05-20"]),
              "topic": ["billing", "tech", "billing", "tech", "billing", "billing"]}
    cust.update(customers or {})
    events.update(contacts or {})
    return load_dataset(config_from_dict(raw), {"customers": pd.DataFrame(cust),
                                                "contacts": pd.DataFrame(events)})


def _spine(ids=("a", "b", "c", "d", "e")) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": list(ids), "cutoff": CUTOFF})


@pytest.fixture
def fitted() -> FeatureSet:
    return FeatureSet(windows=[30, 90]).fit(_dataset(), _spine())


def test_align_parses_numbers_that_arrive_as_text_and_rejects_the_rest(fitted):
    new = _dataset(seats="categorical", customers={"seats": ["12", "n/a", "3 seats", "1,000", "7"]})
    assert not pd.api.types.is_numeric_dtype(new.customers["seats"])
    aligned = fitted.align(new)
    np.testing.assert_array_equal(aligned.customers["seats"].to_numpy(),
                                  [12.0, np.nan, np.nan, 1000.0, 7.0])
    added = aligned.rejects.iloc[len(new.rejects):]
    assert list(added.columns) == REJECT_COLUMNS
    assert added[["customer_id", "column", "value"]].values.tolist() == [["c", "seats", "3 seats"]]
    assert "trained on as numbers; set to missing" in added["reason"].iloc[0]
    # the input is left as it was, and data already in the trained types comes back as is
    assert not pd.api.types.is_numeric_dtype(new.customers["seats"])
    assert fitted.align(aligned) is aligned
    training = _dataset()
    assert fitted.align(training) is training
    X = fitted.transform(aligned, _spine())
    assert X["static__seats"].iloc[[0, 3, 4]].tolist() == [12.0, 1000.0, 7.0]
    assert X["static__seats"].iloc[[1, 2]].isna().all()


def test_align_refuses_a_trained_column_that_arrived_empty(fitted):
    assert fitted.filled_["contacts"] == {"topic": 1.0}
    assert fitted.filled_["customers"]["seats"] == 1.0
    empty = _dataset(contacts={"topic": [None] * 6})
    with pytest.raises(SchemaError, match=r"Table 'contacts': column 'topic' is empty in all 6 "
                                          r"rows, but the model was trained with it filled in 100%"):
        fitted.align(empty)
    with pytest.raises(SchemaError, match=r"column 'seats' is empty in all 5 rows"):
        fitted.align(_dataset(customers={"seats": [None] * 5}))
    # one value left is data, not a lost column
    fitted.align(_dataset(customers={"seats": [None, None, None, None, "3"]}))


def test_align_accepts_an_empty_column_that_was_mostly_empty_in_training():
    """Filled in 1 of 5 training rows, a column is empty in 5 new rows by chance 33% of
    the time: that is no evidence of a lost column."""
    sparse = FeatureSet(windows=[30]).fit(
        _dataset(customers={"seats": [None, None, "3", None, None]}), _spine())
    assert sparse.filled_["customers"]["seats"] == pytest.approx(0.2)
    new = _dataset(customers={"seats": [None] * 5})
    assert sparse.align(new) is new
    # a set saved before the shares were kept does not check
    del sparse.filled_
    sparse.align(new)


def test_unseen_categories_counts_customers_and_event_rows_before_the_cutoff(fitted):
    new = _dataset(
        customers={"tier": ["gold", "platinum", "gold", "platinum", "silver"]},
        contacts={"topic": ["billing", "refund", "refund", "tech", "refund", "billing"],
                  "day": pd.to_datetime(["2024-01-05", "2024-05-01", "2024-02-01", "2024-03-01",
                                         "2024-07-01", "2024-05-20"])},
    )
    # 'refund' on 2024-07-01 is after the cutoff: not counted
    assert fitted.unseen_categories(new, _spine()) == {"customers.segment": 2, "contacts.topic": 2}
    # only the customers of the spine count; events count up to as_of
    assert fitted.unseen_categories(new, _spine(["a", "b", "c"]), as_of=pd.Timestamp("2024-08-01")
                                    ) == {"customers.segment": 1, "contacts.topic": 3}
    assert fitted.unseen_categories(_dataset(), _spine()) == {}


def test_errors_name_the_problem(fitted):
    ds = _dataset()
    with pytest.raises(NotFittedError, match=r"This FeatureSet is not fitted yet\. Call 'fit' first"):
        FeatureSet().transform(ds, _spine())
    with pytest.raises(NotFittedError, match="This FeatureSet is not fitted yet"):
        FeatureSet().align(ds)
    with pytest.raises(SchemaError, match=r"no column\(s\) \['cutoff'\]"):
        fitted.transform(ds, _spine().drop(columns="cutoff"))
    lacking = _dataset()
    lacking.events["contacts"] = lacking.events["contacts"].drop(columns="topic")
    with pytest.raises(SchemaError, match=r"Table 'contacts' lacks column\(s\) \['topic'\]"):
        fitted.transform(lacking, _spine())
    lacking.events.pop("contacts")
    with pytest.raises(SchemaError, match="trained with event table 'contacts', which this data lacks"):
        fitted.transform(lacking, _spine())


def test_feature_set_is_an_estimator_without_data(fitted):
    assert fitted.get_params() == {"btyd": "off", "derived": True, "max_categories": 10,
                                   "windows": [30, 90]}
    assert "FeatureSet" in fitted._repr_html_()
    assert repr(FeatureSet()) == "FeatureSet()"


def test_static_features_errors_and_unseen_values():
    cust = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["x", "y"]})
    X = pd.DataFrame({"customer_id": ["a", "b", "zz"], "cutoff": pd.to_datetime(["2024-04-01"] * 3)})
    with pytest.raises(SchemaError, match=r"StaticFeatures\.fit needs customers=DataFrame .*\(got None\)"):
        StaticFeatures().fit(X)
    with pytest.raises(SchemaError, match=r"got columns \['id', 'segment'\]"):
        StaticFeatures().fit(X, customers=cust.rename(columns={"customer_id": "id"}))
    with pytest.raises(NotFittedError, match=r"This StaticFeatures is not fitted yet"):
        StaticFeatures().transform(X, customers=cust)
    f = StaticFeatures().fit(X, customers=cust)
    with pytest.raises(SchemaError, match=r"StaticFeatures\.transform needs customers=DataFrame"):
        f.transform(X)
    new = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["x", "w"]})
    assert f.unseen_categories(X, customers=new) == {"segment": 1}
    out = f.transform(X, customers=new)
    assert out["static__segment"].tolist()[:1] == ["x"]
    assert out["static__segment"].isna().tolist() == [False, True, True]
