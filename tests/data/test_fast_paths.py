"""Fast paths of the loader give the datasets and rejects of the general paths.

Event ids that are exactly a customer's id are looked up unparsed, and typed
columns (datetime, numbers, categories) are taken as they are; the same tables
with object ids, or written out as text, go through parsing and must load to
the same customers, events and reject lines.
"""

import numpy as np
import pandas as pd
import pytest

import churnkit as ck
from churnkit._core import builtin_config


@pytest.fixture(scope="module")
def config():
    return ck.load_config(builtin_config("default.yaml"))


def _messy(seed: int) -> dict[str, pd.DataFrame]:
    """A small CRM with ids to normalise, unknown and case-changed ids, and bad values."""
    tables = {k: v.copy() for k, v in ck.datasets.make_crm(300, random_state=seed,
                                                           months=12).tables.items()}
    rng = np.random.default_rng(seed)
    for name in ("contacts", "usage", "transactions"):
        ev = tables[name].astype({"customer_id": object})
        rows = rng.choice(len(ev), 12, replace=False)
        ev.loc[rows[0], "customer_id"] = None
        ev.loc[rows[1], "customer_id"] = "nobody"
        ev.loc[rows[2], "customer_id"] = str(ev.loc[rows[2], "customer_id"]).lower()
        ev.loc[rows[3], "customer_id"] = f"  {ev.loc[rows[3], 'customer_id']}\u200b"
        ev.loc[rows[4], "customer_id"] = f"{ev.loc[rows[4], 'customer_id']}\u00a0"
        ev.loc[rows[5], "timestamp"] = pd.NaT
        tables[name] = ev.astype({"customer_id": "str"})
        tables[name].loc[rows[0], "customer_id"] = None  # pandas 2's astype(str) made it "None"
    tables["contacts"].loc[3, "duration_min"] = -2.0
    tables["feedback"].loc[4, "score"] = 40.0
    return tables


def _text(value):
    """A value as a CSV export writes it: ISO 8601 dates, numbers as text, missing as None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.isoformat() if isinstance(value, pd.Timestamp) else str(value)


def _assert_same(a, b):
    pd.testing.assert_frame_equal(a.customers, b.customers)
    pd.testing.assert_frame_equal(a.rejects, b.rejects)
    assert sorted(a.events) == sorted(b.events)
    assert a.end == b.end
    for name in a.events:
        pd.testing.assert_frame_equal(a.events[name], b.events[name])


def test_exact_id_lookup_equals_parsing_every_id(config):
    tables = _messy(1)
    fast = ck.load_dataset(config, tables)
    reasons = set(fast.rejects["reason"])
    assert any("differs only by case" in r for r in reasons)
    assert any("not in the customers table" in r for r in reasons)
    assert any(r.startswith("missing customer id") for r in reasons)
    # the padded and zero-width ids are parsed to customers' ids, not rejected
    assert fast.rejects["value"].astype(str).str.contains("\u200b").sum() == 0
    as_objects = {k: (v.astype({"customer_id": object}) if k != "customers" else v)
                  for k, v in tables.items()}
    _assert_same(fast, ck.load_dataset(config, as_objects))


def test_typed_tables_load_as_their_text(config):
    tables = _messy(2)
    typed = ck.load_dataset(config, tables)
    text = {k: pd.DataFrame({c: pd.Series([_text(x) for x in v[c]], dtype=object) for c in v})
            for k, v in tables.items()}
    as_text = ck.load_dataset(config, text)
    pd.testing.assert_frame_equal(typed.rejects, as_text.rejects)
    assert len(typed.rejects) >= 10
    pd.testing.assert_frame_equal(typed.customers, as_text.customers)
    for name in typed.events:
        pd.testing.assert_frame_equal(typed.events[name], as_text.events[name],
                                      check_categorical=False)
