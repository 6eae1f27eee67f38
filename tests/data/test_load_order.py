"""Event tables already in customer and time order load without a sort, to the same result."""

import numpy as np
import pandas as pd

import churnkit as ck
import churnkit.data._events as events_module
from churnkit._core import builtin_config
from churnkit.data._events import _in_order


def test_in_order_checks_customer_then_time():
    assert _in_order(np.array([0, 0, 1, 1]), np.array([1, 1, 0, 5]))
    assert not _in_order(np.array([0, 0, 1, 1]), np.array([2, 1, 0, 5]))
    assert not _in_order(np.array([1, 0]), np.array([0, 1]))
    assert _in_order(np.array([], dtype=int), np.array([], dtype=np.int64))


def test_ordered_tables_load_as_with_the_sort(monkeypatch):
    config = ck.load_config(builtin_config("default.yaml"))
    crm = ck.datasets.make_crm(400, random_state=5)
    ordered = {k: (v.sort_values(["customer_id", "timestamp"], kind="stable").reset_index(drop=True)
                   if "timestamp" in v else v) for k, v in crm.tables.items()}
    fast = ck.load_dataset(config, ordered)
    monkeypatch.setattr(events_module, "_in_order", lambda codes, stamps: False)
    sorted_ = ck.load_dataset(config, ordered)
    for name in fast.events:
        pd.testing.assert_frame_equal(fast.events[name], sorted_.events[name])
    pd.testing.assert_frame_equal(fast.rejects, sorted_.rejects)
    # a table in another order is still sorted on load
    shuffled = {k: (v.sample(frac=1, random_state=1) if "timestamp" in v else v)
                for k, v in ordered.items()}
    again = ck.load_dataset(config, shuffled)
    for events in again.events.values():
        codes = events["customer_id"].cat.codes.to_numpy()
        stamps = events["timestamp"].to_numpy().view(np.int64)
        assert _in_order(codes, stamps)
