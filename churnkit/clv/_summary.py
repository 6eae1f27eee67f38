"""From a purchase log to the per-customer (frequency, recency, T, monetary) summary."""

from __future__ import annotations

import numpy as np
import pandas as pd

from churnkit.exceptions import SchemaError

__all__ = ["rfm_summary"]


def rfm_summary(transactions: pd.DataFrame, as_of: str | pd.Timestamp, *,
                customer_col: str = "customer_id", time_col: str = "timestamp",
                amount_col: str | None = None, unit_days: float = 1.0) -> pd.DataFrame:
    """Summarise purchases strictly before ``as_of`` per customer, as the BTYD models need.

    Purchases are counted per day: all purchases of one customer on one day are one
    purchase (their amounts summed). The last day observed is the day before ``as_of``.

    Parameters
    ----------
    transactions : DataFrame
        One row per purchase.
    as_of : str or Timestamp
        Only rows with ``time_col < as_of`` are used.
    customer_col, time_col : str
        Columns of the customer id and the purchase time.
    amount_col : str, optional
        Column of the purchase amount; gives ``monetary``.
    unit_days : float, default 1.0
        Length of the time unit in days (7 for weeks).

    Returns
    -------
    DataFrame
        Indexed by customer (those with a purchase before ``as_of``), with
        ``frequency`` (purchase days after the first), ``recency`` (from the first to
        the last purchase day), ``T`` (from the first purchase day to the last day
        observed) and, with ``amount_col``, ``monetary`` (mean amount of the repeat
        purchase days, 0 without one) and ``first_amount``.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnkit.clv import rfm_summary
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "a"],
    ...                    "timestamp": pd.to_datetime(["2024-01-01", "2024-01-01",
    ...                                                 "2024-01-11", "2024-01-05", "2024-02-01"]),
    ...                    "amount": [5.0, 5.0, 20.0, 7.0, 99.0]})
    >>> rfm_summary(tx, "2024-01-21", amount_col="amount")  # doctest: +NORMALIZE_WHITESPACE
                 frequency  recency     T  monetary  first_amount
    customer_id
    a                    1     10.0  19.0      20.0          10.0
    b                    0      0.0  15.0       0.0           7.0
    """
    needed = [customer_col, time_col] + ([amount_col] if amount_col else [])
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        raise SchemaError(f"transactions: column(s) {missing} missing; it has "
                          f"{list(transactions.columns)}. Name the columns with customer_col, "
                          "time_col and amount_col.")
    if not unit_days > 0:
        raise ValueError(f"The 'unit_days' parameter of rfm_summary must be > 0. "
                         f"Got {unit_days!r} instead.")
    cut = pd.Timestamp(as_of).normalize()
    ts = pd.to_datetime(transactions[time_col])
    keep = (ts < cut).to_numpy()
    days = ts[keep].dt.normalize()
    frame = pd.DataFrame({"c": transactions[customer_col].to_numpy()[keep], "d": days.to_numpy()})
    if amount_col:
        amount = pd.to_numeric(transactions[amount_col], errors="coerce").to_numpy()[keep]
        frame["v"] = np.nan_to_num(amount.astype(float))
    else:
        frame["v"] = 0.0
    per_day = frame.groupby(["c", "d"], sort=True, observed=True)["v"].sum().reset_index()
    g = per_day.groupby("c", sort=True, observed=True)
    first = g["d"].min()
    last = g["d"].max()
    n_days = g.size()
    total = g["v"].sum()
    first_amount = g["v"].first()
    day = pd.Timedelta(days=1)
    out = pd.DataFrame({
        "frequency": (n_days - 1).astype(int),
        "recency": (last - first).dt.days / unit_days,
        "T": ((cut - day) - first).dt.days / unit_days,
    })
    out.index.name = customer_col
    if amount_col:
        repeat = (total - first_amount).to_numpy()
        freq = out["frequency"].to_numpy()
        out["monetary"] = np.where(freq > 0, repeat / np.maximum(freq, 1), 0.0)
        out["first_amount"] = first_amount.to_numpy()
    return out
