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
    cust = cust.assign(customer_id=cust["customer_id"].astype(str))
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
    purchases, purchase_amount = _purchases(ds, ret.amount) if ret.clv_months else (None, None)
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
        purchases=purchases, purchase_amount_col=purchase_amount,
        clv_by=list(dict.fromkeys([*groups, *(c for c in ("segment", "product") if c in cust)])),
        clv_months=ret.clv_months or 12, as_of=ds.end,
    )


def _purchases(ds: Dataset, amount: str | None) -> tuple[pd.DataFrame | None, str | None]:
    """The ``transactions`` tables with an amount as one purchase log, for the lifetime value.

    The amount is ``retention.amount`` where the table has it, else its first numeric column.
    """
    parts = []
    for name, spec in sorted(ds.specs.items()):
        ev = ds.events.get(name)
        if spec.kind != "transactions" or ev is None or not len(ev):
            continue
        numeric = [c for c, t in spec.columns.items() if t == "numeric" and c in ev]
        col = amount if amount in numeric else (numeric[0] if numeric else None)
        if col is not None:
            parts.append(pd.DataFrame({"customer_id": ev["customer_id"].astype(str).to_numpy(),
                                       "timestamp": ev["timestamp"].to_numpy(),
                                       "amount": ev[col].to_numpy(dtype=float)}))
    if not parts:
        return None, None
    return pd.concat(parts, ignore_index=True), "amount"
