"""Snapshot data: one table with a row per customer and the churn label."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from churnkit.config import Config
from churnkit.data._customers import load_customers
from churnkit.data._links import require_config_columns
from churnkit.data._rejects import Rejects
from churnkit.data._table import read_source

__all__ = ["load_snapshot"]


def load_snapshot(config: Config, tables: Mapping[str, pd.DataFrame], rejects: Rejects,
                  ignored: dict[str, str]) -> tuple[pd.DataFrame, dict[str, str], pd.Series]:
    """The customers of a snapshot table, their attributes and their boolean label.

    Rows without a label are dropped (and reported); the label is true where
    the label column holds one of ``snapshot.positive`` (case and surrounding
    spaces ignored).
    """
    snap = config.data.snapshot
    assert snap is not None
    frame = read_source(config, snap, "snapshot", tables)
    require_config_columns(frame, "snapshot", [snap.label], "snapshot")
    customers, attributes = load_customers(frame, snap, "snapshot", rejects, ignored,
                                           config.data.max_rejected_share)
    label_text = frame[snap.label].astype("string").str.strip().str.lower()
    positives = {str(v).strip().lower() for v in snap.positive}
    missing_label = label_text.isna()
    kept = missing_label & frame.index.isin(customers.index)
    rejects.add("snapshot", kept, frame, None, snap.label, None, "missing label; row dropped",
                drop=True)
    customers = customers[~missing_label.loc[customers.index].to_numpy()]
    label = label_text.loc[customers.index].isin(positives).astype(bool).rename("label")
    return customers.reset_index(drop=True), attributes, label.reset_index(drop=True)
