"""The retention job: CRR, churn rate, cohorts, value and lifetime value of a configuration's data."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from churnkit.config import Config
from churnkit.data import Dataset, load_dataset
from churnkit.exceptions import SchemaError
from churnkit.retention import retention_report

__all__ = ["retention"]


def retention(
    config: Config,
    out_dir: str | Path,
    *,
    period: str | None = None,
    by: list[str] | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    dataset: Dataset | None = None,
) -> dict[str, Any]:
    """Write the retention report (CRR, churn, cohorts, value by segment) for a configuration.

    Contractual data (signup/end dates) is measured from the customers table;
    with ``labels.definition: inactivity`` a customer is retained in a period
    if it is active in it (activity tables of the config).

    Returns
    -------
    dict
        The report's summary (latest CRR, churn rate, files written).
    """
    ds = dataset if dataset is not None else load_dataset(config, tables)
    if ds.label is not None:
        raise SchemaError(
            "Retention analytics needs dates (signup/end dates or timestamped activity); "
            "snapshot data has neither. Use an event-mode configuration."
        )
    cust = ds.customers
    ret = config.retention
    groups = by if by is not None else (ret.by or (["segment"] if "segment" in cust else []))
    unknown = [g for g in groups if g not in cust]
    if unknown:
        raise SchemaError(
            f"retention.by names column(s) {unknown} that the customers table lacks; "
            f"available: {sorted(c for c in cust.columns if c != 'customer_id')}."
        )
    events = None
    amount = None
    if config.labels.definition == "inactivity":
        names = config.labels.activity_tables or list(ds.events)
        if ret.amount is not None and not any(ret.amount in ds.events[n] for n in names):
            raise SchemaError(
                f"retention.amount: no activity table has a column {ret.amount!r}."
            )
        keep = ["customer_id", "timestamp"] + ([ret.amount] if ret.amount else [])
        events = pd.concat(
            [ds.events[n].reindex(columns=keep) for n in names], ignore_index=True
        )
        amount = ret.amount
    start = ret.start
    if start is None and ds.events:
        first = min(df["timestamp"].min() for df in ds.events.values() if len(df))
        start = first.to_period(period or ret.period).start_time
    return retention_report(
        cust if events is None or groups else None, start=start, end=ds.end - pd.Timedelta(days=1),
        out_dir=out_dir, period=period or ret.period, by=groups or None, events=events,
        value_col="value" if "value" in cust and events is None else None,
        wallet_col="wallet_share" if "wallet_share" in cust and events is None else None,
        amount_col=amount, margin=ret.margin, discount_rate=ret.discount_rate,
        title=f"Retention: {config.name}",
    )
