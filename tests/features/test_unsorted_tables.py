"""Event tables in any row order give the features of the sorted tables.

``load_dataset`` leaves every event table grouped by customer and sorted by time, so the
feature code normally takes its no-sort path; tables built by hand or read elsewhere come in
any order and take the sorting path. Both must give the same features, derived columns such
as the transactions' ``price_rise`` (which compares each amount with the one before it)
included.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from churnkit import EventFeatures
from churnkit.features import feature_set
from churnkit.features._kernel import nanoseconds, segments


def _grouped(events: pd.DataFrame) -> bool:
    """Whether the feature code finds ``events`` grouped by customer and time (no sort)."""
    order = segments(events["customer_id"], nanoseconds(events["timestamp"]))[0]
    return order is None


def _shuffled(events: pd.DataFrame, seed: int) -> pd.DataFrame:
    return events.sample(frac=1, random_state=seed)


def _spine(dataset) -> pd.DataFrame:
    ids = dataset.customers["customer_id"].astype(object)
    return pd.concat([pd.DataFrame({"customer_id": ids, "cutoff": dataset.end - pd.Timedelta(days=d)})
                      for d in (1, 200)], ignore_index=True)


def test_shuffled_event_tables_give_the_features_of_the_sorted_ones(default_config, crm_dataset):
    ds = crm_dataset(600, random_state=0)
    spine = _spine(ds)
    shuffled = replace(ds, events={name: _shuffled(ev, seed)
                                   for seed, (name, ev) in enumerate(ds.events.items())})
    assert all(_grouped(ev) for ev in ds.events.values())
    assert not any(_grouped(ev) for ev in shuffled.events.values())

    fs = feature_set(default_config.features).fit(ds, spine)
    X = fs.transform(ds, spine)
    rises = X.filter(like="transactions__price_rise__count__")
    assert rises.shape[1] == 3  # one per window
    assert rises.to_numpy().sum() > 0, "the demo has price rises to compare"
    pd.testing.assert_frame_equal(fs.transform(shuffled, spine), X)
    # fitted on the shuffled tables: the same categories and feature names, the same features
    refit = feature_set(default_config.features).fit(shuffled, spine)
    assert refit.feature_names_ == fs.feature_names_
    pd.testing.assert_frame_equal(refit.transform(shuffled, spine), X)


def test_shuffled_transactions_with_text_ids_give_the_same_price_rises(crm_dataset):
    """Ids as plain strings (not the dataset's shared categories) take the other grouping path."""
    ds = crm_dataset(600, random_state=0)
    tx = ds.events["transactions"].astype({"customer_id": object})
    spine = _spine(ds)
    f = EventFeatures(table="transactions", kind="transactions", windows=[30, 365]).fit(spine, events=tx)
    out = f.transform(spine, events=tx)
    assert out["transactions__price_rise__count__365d"].sum() > 0
    assert np.isfinite(out["transactions__price_rise__days_since_last"]).any()
    mixed = _shuffled(tx, 7)
    assert _grouped(tx)
    assert not _grouped(mixed)
    pd.testing.assert_frame_equal(f.transform(spine, events=mixed), out)
