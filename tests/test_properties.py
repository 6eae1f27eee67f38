"""Random, messy tables thrown at the loader and the feature builders (hypothesis)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import churnkit as ck
from churnkit.config import config_from_dict
from churnkit.data import rejected_customers
from churnkit.data._parse import parse_ids
from churnkit.exceptions import ChurnkitError

CONFIG = config_from_dict({
    "data": {
        "customers": {"customer_id": "id", "signup_date": "since", "end_date": "until",
                      "segment": "tier", "value": "mrr", "attributes": {"seats": "numeric"}},
        "events": {"usage": {"kind": "usage", "customer_id": "id", "timestamp": "at",
                             "columns": {"logins": "numeric", "plan": "categorical",
                                         "ok": "boolean"}}},
    },
    "labels": {"cutoffs": ["2024-01-01"]},
    "features": {"windows": [30, 365], "max_categories": 3},
})

ids = st.one_of(
    st.sampled_from(["a", "b", "c", " a ", "b ", "7", "7.0", " 7.00", "", "  ", None]),
    st.integers(-3, 12).map(str),
    st.one_of(st.just(float("nan")), st.floats(0, 12).map(lambda f: round(f, 1))),
    st.text(min_size=1, max_size=6),
)
dates = st.one_of(
    st.tuples(st.datetimes(min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
                           max_value=pd.Timestamp("2030-01-01").to_pydatetime()),
              st.sampled_from([" ", "T"])).map(lambda d: d[0].isoformat(sep=d[1])),
    st.sampled_from(["2024-03-01T10:00:00+02:00", "2024-03-01T08:00:00Z", "01/02/2024",
                     "20240105", "31/02/2024", "yesterday", "2024-13-45", "0001-01-01",
                     "9999-12-31", "", None, "NaT", "1e10", "2024-02-30"]),
    st.text(max_size=12),
)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10**12, 10**12),
    st.sampled_from(["1,234.5", "12 EUR", "n/a", "-", "€ 3", "1e400", "abc", "", None, "0x10",
                     " 7 ", "1.2.3", "NaN", "-inf"]),
    st.text(max_size=8),
)
words = st.one_of(st.sampled_from(["gold", "Gold ", " silver", "", None, "x" * 300]),
                  st.text(max_size=10))
bools = st.one_of(st.sampled_from(["yes", "no", "Y", "0", "1", "maybe", "", None, True, 2]),
                  st.booleans())


def _frame(draw, n: int, columns: dict) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([draw(s) for _ in range(n)], dtype=object)
                         for c, s in columns.items()})


@st.composite
def crm(draw):
    n_c = draw(st.integers(1, 12))
    n_e = draw(st.integers(0, 30))
    customers = _frame(draw, n_c, {"id": ids, "since": dates, "until": dates, "tier": words,
                                   "mrr": numbers, "seats": numbers})
    usage = _frame(draw, n_e, {"id": ids, "at": dates, "logins": numbers, "plan": words,
                               "ok": bools})
    return customers, usage


def _input_ids(raw: pd.Series) -> set:
    normalised, missing = parse_ids(raw)
    return set(normalised[~missing.to_numpy()])


@pytest.mark.slow  # 80 generated CRMs through loading and features
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crm())
def test_messy_tables_load_and_featurise_without_losing_customers(tables):
    customers, usage = tables
    message = None
    try:
        ds = ck.load_dataset(CONFIG, {"customers": customers, "usage": usage})
    except ChurnkitError as exc:
        message = str(exc)
    if message is not None:  # only churnkit's own errors, naming the table or the fix
        assert "Table" in message or "data.end" in message, message
        return
    kept = set(ds.customers["customer_id"])
    rejected = set(rejected_customers(ds.rejects))
    assert kept.isdisjoint(rejected)
    assert kept | rejected == _input_ids(customers["id"])
    assert ds.customers["customer_id"].is_unique
    # no input row vanishes: every customers row is kept or has a dropping reject line
    rej = ds.rejects
    cust_lines = rej[rej["table"] == "customers"]
    assert len(ds.customers) + cust_lines["row"].nunique() >= len(customers)
    ev_dropped = rej[(rej["table"] == "usage") & rej["reason"].str.contains("row dropped")]
    assert len(ds.events["usage"]) + len(ev_dropped) == len(usage)
    assert not rej.duplicated(["table", "row", "column"]).any()
    # features on every kept customer at the end of the data
    spine = pd.DataFrame({"customer_id": ds.customers["customer_id"].to_numpy(),
                          "cutoff": ds.end})
    spine["cutoff"] = spine["cutoff"].astype("datetime64[ns]")
    fs = ck.FeatureSet(windows=(30, 365), max_categories=3).fit(ds, spine)
    X = fs.transform(ds, spine)
    assert len(X) == len(spine)
    assert list(X.columns) == fs.feature_names_
